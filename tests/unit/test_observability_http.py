"""Request ids, metrics and the offline docs, through the app as served."""

import re

import httpx
import pytest
from asgi_lifespan import LifespanManager
from prometheus_client import REGISTRY

from pessoas.container import build_container
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings

BODY = {"apelido": "obs", "nome": "Obs", "nascimento": "2000-01-01", "stack": None}

# Every route a client can reach: the four contract routes (dispatched without FastAPI), the
# routes FastAPI dispatches, and a path no route matches.
ROUTES = [
    ("POST", "/pessoas", BODY),
    ("GET", "/pessoas?t=obs", None),
    ("GET", "/pessoas/0a2b64f4-7d45-4b8e-8a0b-4f6c2c7b5c1e", None),
    ("GET", "/contagem-pessoas", None),
    ("GET", "/health", None),
    ("GET", "/ready", None),
    ("GET", "/openapi.json", None),
    ("GET", "/docs", None),
    ("GET", "/no/such/route", None),
]


@pytest.fixture
async def client():
    app = create_app(
        build_container(
            Settings(storage="memory", database_url=None, redis_url=None, amqp_url=None, metrics=True)
        )
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pessoas") as http:
            yield http


@pytest.mark.parametrize(("method", "url", "body"), ROUTES)
async def test_every_route_echoes_the_callers_request_id(client, method, url, body):
    response = await client.request(method, url, json=body, headers={"X-Request-ID": "caller-id.42"})
    assert response.headers["x-request-id"] == "caller-id.42"


@pytest.mark.parametrize(("method", "url", "body"), ROUTES)
async def test_every_route_gives_a_new_request_id_to_a_request_without_one(client, method, url, body):
    first = await client.request(method, url, json=body)
    second = await client.request(method, url, json=body)
    assert first.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize("unusable", ["", "has space", "x" * 129, 'quote"d'])
async def test_an_unusable_request_id_is_replaced(client, unusable):
    response = await client.get("/health", headers={"X-Request-ID": unusable})
    assert response.headers["x-request-id"] != unusable
    assert re.fullmatch(r"[0-9a-f]+-[0-9a-f]+", response.headers["x-request-id"])


def _requests(method, route, status):
    value = REGISTRY.get_sample_value(
        "http_requests_total", {"method": method, "route": route, "status": str(status)}
    )
    return value or 0.0


def _latency_count(method, route):
    return (
        REGISTRY.get_sample_value("http_request_duration_seconds_count", {"method": method, "route": route})
        or 0.0
    )


@pytest.mark.parametrize(
    ("method", "url", "route", "status"),
    [
        ("GET", "/contagem-pessoas", "/contagem-pessoas", 200),
        ("GET", "/pessoas/not-a-uuid", "/pessoas/{pessoa_id}", 404),
        ("GET", "/pessoas", "/pessoas", 400),
        ("GET", "/health", "/health", 200),
        ("GET", "/nowhere/42", "unmatched", 404),
    ],
)
async def test_requests_are_counted_and_timed_by_route_template_and_status(
    client, method, url, route, status
):
    before, timed_before = _requests(method, route, status), _latency_count(method, route)
    for _ in range(3):
        assert (await client.request(method, url)).status_code == status
    assert _requests(method, route, status) == before + 3
    assert _latency_count(method, route) == timed_before + 3


async def test_creations_are_counted_as_committed_or_refused_by_reason(client):
    def creations(outcome, reason):
        labels = {"outcome": outcome, "reason": reason}
        return REGISTRY.get_sample_value("pessoas_creations_total", labels) or 0.0

    committed, taken = creations("committed", ""), creations("refused", "apelido_taken")
    invalid, unreadable = creations("refused", "invalid"), creations("refused", "unreadable")
    assert (await client.post("/pessoas", json=dict(BODY, apelido="counted"))).status_code == 201
    assert (await client.post("/pessoas", json=dict(BODY, apelido="counted"))).status_code == 422
    assert (await client.post("/pessoas", json=dict(BODY, apelido=""))).status_code == 422
    assert (await client.post("/pessoas", json=dict(BODY, nome=1))).status_code == 400
    assert creations("committed", "") == committed + 1
    assert creations("refused", "apelido_taken") == taken + 1
    assert creations("refused", "invalid") == invalid + 1
    assert creations("refused", "unreadable") == unreadable + 1


async def test_metrics_off_leaves_the_counters_alone():
    app = create_app(
        build_container(
            Settings(storage="memory", database_url=None, redis_url=None, amqp_url=None, metrics=False)
        )
    )
    before = _requests("GET", "/health", 200)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pessoas") as http:
            response = await http.get("/health")
    assert response.headers["x-request-id"]  # request ids stay on: they cost next to nothing
    assert _requests("GET", "/health", 200) == before


async def test_ready_is_200_on_the_embedded_adapters(client):
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "reasons": []}


_EXTERNAL = re.compile(r"""(?:https?:)?//[^"'\s)]+""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_reference_nothing_outside_the_service(client, page):
    response = await client.get(page)
    assert response.status_code == 200
    html = response.text
    assert _EXTERNAL.findall(html) == []
    # Every script, stylesheet and icon the page loads is served by the service itself.
    assets = re.findall(r"""(?:src|href)=["']?([^"'\s>]+)""", html)
    assets += re.findall(r"""url: ?['"]([^'"]+)['"]""", html)
    assert assets, "the page loads no asset: the test would prove nothing"
    for asset in assets:
        assert asset.startswith("/"), asset
        assert (await client.get(asset)).status_code == 200, asset
