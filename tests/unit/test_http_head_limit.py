"""The head limit: a request whose line and headers exceed PESSOAS_MAX_HEAD_BYTES gets 431, others pass."""

import httpx
import pytest

from pessoas.container import build_container
from pessoas.entrypoints.http.app import create_app
from pessoas.entrypoints.http.head_limit import head_size
from pessoas.settings import Settings

SETTINGS = Settings(storage="memory", database_url=None, redis_url=None, amqp_url=None, max_head_bytes=2048)


@pytest.fixture
async def client():
    app = create_app(build_container(SETTINGS))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client


async def test_a_head_over_the_limit_is_refused_with_431(client):
    answer = await client.get("/contagem-pessoas", headers={"x-big": "a" * 2048})
    assert answer.status_code == 431
    assert "2048" in answer.json()["detail"]
    assert answer.headers["connection"] == "close"


async def test_a_long_query_counts_towards_the_head(client):
    assert (await client.get("/pessoas", params={"t": "a" * 2048})).status_code == 431
    assert (await client.get("/pessoas", params={"t": "a" * 100})).status_code == 200


async def test_a_head_under_the_limit_is_served(client):
    assert (await client.get("/contagem-pessoas", headers={"x-some": "a" * 1500})).status_code == 200


def test_the_head_size_counts_the_line_and_every_header():
    scope = {
        "method": "GET",
        "path": "/p",
        "raw_path": b"/p",
        "query_string": b"t=x",
        "headers": [(b"a", b"bc")],
    }
    bigger = {**scope, "headers": [(b"a", b"bc"), (b"d", b"e" * 10)]}
    assert head_size(bigger) - head_size(scope) == 1 + 10 + 4
    assert head_size({**scope, "query_string": b"t=xyz"}) - head_size(scope) == 2
