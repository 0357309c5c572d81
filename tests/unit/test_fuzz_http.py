"""Bad input, fuzzed, through the ASGI app: never a 5xx, and nothing stored but what got a 201.

CI runs a few hundred examples per property; ``PESSOAS_FUZZ_SCALE=50 make unit`` (see docs/testing.md)
runs fifty times as many. Invalid bodies are part of the load in tests/faults too.
"""

import json
import os
import urllib.parse

import httpx
import pytest
import schemathesis
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pessoas.container import build_container
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings

# Multiplies every property's example count: 1 in CI, larger for a thorough run.
SCALE = int(os.environ.get("PESSOAS_FUZZ_SCALE", "1"))


def _container():
    return build_container(Settings(storage="memory", database_url=None, redis_url=None, amqp_url=None))


def _app(container=None):
    return create_app(container if container is not None else _container())


FIELDS = ["apelido", "nome", "nascimento", "stack"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.text(alphabet=st.characters(codec="utf-8"), min_size=30, max_size=140)
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)
)
pessoa_like = st.fixed_dictionaries(
    {},
    optional={
        "apelido": json_values,
        "nome": json_values,
        "nascimento": st.dates().map(str) | json_values,
        "stack": st.lists(st.text(max_size=40) | json_values, max_size=30) | json_values,
    },
)


def _nested(depth: int) -> bytes:
    return b'{"apelido":' + b"[" * depth + b"]" * depth + b"}"


raw_bodies = st.one_of(
    pessoa_like.map(lambda body: json.dumps(body).encode()),
    st.binary(max_size=300),  # invalid UTF-8, NUL bytes, anything
    st.integers(1, 5000).map(_nested),  # deep nesting
    st.sampled_from(
        [
            b'{"apelido":"a","apelido":"b","nome":"n","nascimento":"2000-01-01"}',  # duplicate keys
            b'{"apelido":"\\u0000","nome":"\\u0000","nascimento":"2000-01-01"}',  # NUL characters
            b'{"apelido":"\\ud800","nome":"n","nascimento":"2000-01-01"}',  # a lone surrogate
            b'{"apelido":"a","nome":"n","nascimento":"2000-01-01","stack":[1e999]}',
            b'{"apelido":123456789012345678901234567890,"nome":"n","nascimento":"2000-01-01"}',
            b"\xef\xbb\xbf{}",  # a byte-order mark
            b"{" * 100_000,
        ]
    ),
)


class Audit:
    """Counts 201s so the store can be checked against them after every example."""

    def __init__(self):
        self.created = 0


async def _post_and_audit(http, audit, content):
    response = await http.post("/pessoas", content=content, headers={"content-type": "application/json"})
    assert response.status_code in {201, 400, 413, 422}, (response.status_code, content[:200])
    if response.status_code == 201:
        audit.created += 1
    count = await http.get("/contagem-pessoas")
    assert count.text == str(audit.created)


@settings(
    max_examples=300 * SCALE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=raw_bodies)
async def test_any_body_gets_a_clear_answer_and_only_201s_are_stored(content):
    app = _app()
    audit = Audit()
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pessoas") as http:
            await _post_and_audit(http, audit, content)


search_terms = st.text(max_size=60) | st.sampled_from(
    ["%", "_", "\\", "%%", "'", '"', "'; DROP TABLE pessoas; --", "\\%", "[a-z]", ".*", "\x00", "\u202e"]
)
ids = st.text(max_size=80) | st.uuids().map(str) | st.sampled_from(["..", "%2F", "00000000-0000-0000-0000"])


@settings(
    max_examples=200 * SCALE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(term=search_terms, pessoa_id=ids)
async def test_any_search_term_or_id_gets_a_clear_answer(term, pessoa_id):
    container = _container()
    app = _app(container)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pessoas") as http:
            created = await http.post(
                "/pessoas", json={"apelido": "o'neil%_\\", "nome": "Nome", "nascimento": "2000-01-01"}
            )
            assert created.status_code == 201
            await container.create_pessoa().settle()  # indexed for search after its commit
            search = await http.get("/pessoas", params={"t": term})
            assert search.status_code == (400 if term == "" else 200)
            if term:
                expected = [created.json()] if term.lower() in "o'neil%_\\" or term.lower() in "nome" else []
                assert search.json() == expected
            by_id = await http.get("/pessoas/" + urllib.parse.quote(pessoa_id, safe=""))
            # The client resolves dot segments: "/pessoas/." is "/pessoas", a search without t.
            allowed = {400} if pessoa_id == "." else {200, 404}
            assert by_id.status_code in allowed, (repr(pessoa_id), by_id.text)
            assert (await http.get("/contagem-pessoas")).text == "1"


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=60 * SCALE, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_openapi_schema_finds_no_server_error(case):
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code)


@pytest.mark.parametrize("size", [64 * 1024 + 1, 1024 * 1024])
async def test_large_bodies_are_refused_before_parsing(size):
    app = _app()
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pessoas") as http:
            assert (await http.post("/pessoas", content=b"{" * size)).status_code == 413
