"""What the route table promises: HEAD wherever GET, 405 with every method the path serves, an
OpenAPI document that says what runs, and middleware that wraps the contract routes."""

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp, Receive, Scope, Send

from pessoas.container import build_container
from pessoas.domain.model import APELIDO_MAX, NOME_MAX, SEARCH_LIMIT, STACK_ITEM_MAX
from pessoas.entrypoints.http.app import create_app
from pessoas.entrypoints.http.body import MAX_BODY_BYTES
from pessoas.settings import Settings

VALID = {"apelido": "josé", "nome": "José Roberto", "nascimento": "2000-10-01", "stack": ["C#", "Node"]}


class StampRoute:
    """A middleware of the kind an operator adds: it labels every response with its route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stamped(message):
            if message["type"] == "http.response.start":
                route = scope.get("route")
                label = route.path if route is not None else "unmatched"
                message["headers"] = [*message.get("headers", []), (b"x-route", label.encode())]
            await send(message)

        await self.app(scope, receive, stamped)


@pytest.fixture
async def client():
    container = build_container(Settings(storage="memory", database_url=None, redis_url=None, amqp_url=None))
    app = create_app(container)
    app.add_middleware(StampRoute)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pessoas") as http:
            yield http


async def test_middleware_added_to_the_app_wraps_every_contract_route(client):
    created = await client.post("/pessoas", json=VALID)
    assert created.headers["x-route"] == "/pessoas"
    assert (await client.get(created.headers["location"])).headers["x-route"] == "/pessoas/{pessoa_id}"
    assert (await client.get("/pessoas?t=jos")).headers["x-route"] == "/pessoas"
    assert (await client.get("/contagem-pessoas")).headers["x-route"] == "/contagem-pessoas"
    assert (await client.get("/health")).headers["x-route"] == "/health"
    assert (await client.get("/nowhere")).headers["x-route"] == "unmatched"


async def test_head_is_answered_wherever_get_is(client):
    created = await client.post("/pessoas", json=VALID)
    for path in [created.headers["location"], "/pessoas?t=jos", "/contagem-pessoas", "/health"]:
        get, head = await client.get(path), await client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.headers["content-type"] == get.headers["content-type"]
    assert (await client.head("/pessoas")).status_code == 400
    assert (await client.head("/pessoas/not-a-uuid")).status_code == 404


async def test_an_error_body_says_which_rule_was_broken(client):
    response = await client.post("/pessoas", json=dict(VALID, nome="n" * (NOME_MAX + 1)))
    assert response.status_code == 422
    assert response.json() == {"detail": f"nome must have at most {NOME_MAX} characters"}
    assert (await client.get("/pessoas/x")).json() == {"detail": "no such pessoa"}


@pytest.fixture
async def openapi(client):
    return (await client.get("/openapi.json")).json()


def _operation(openapi, path, method):
    return openapi["paths"][path][method]


async def test_openapi_documents_the_201_location_and_the_id(openapi):
    created = _operation(openapi, "/pessoas", "post")["responses"]["201"]
    assert "Location" in created["headers"]
    out = openapi["components"]["schemas"]["Pessoa"]
    assert "id" in out["required"]
    assert "id" in out["examples"][0]


async def test_openapi_writes_every_limit_as_the_domain_enforces_it(openapi):
    body = _operation(openapi, "/pessoas", "post")["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/NewPessoa"}
    fields = openapi["components"]["schemas"]["NewPessoa"]["properties"]
    assert fields["apelido"]["maxLength"] == APELIDO_MAX
    assert fields["nome"]["maxLength"] == NOME_MAX
    stack_items = next(option for option in fields["stack"]["anyOf"] if option.get("type") == "array")
    assert stack_items["items"]["maxLength"] == STACK_ITEM_MAX
    assert openapi["components"]["schemas"]["SearchResults"]["maxItems"] == SEARCH_LIMIT
    too_large = _operation(openapi, "/pessoas", "post")["responses"]["413"]["description"]
    assert f"{MAX_BODY_BYTES // 1024} KiB" in too_large


async def test_openapi_requires_t(openapi):
    (parameter,) = _operation(openapi, "/pessoas", "get")["parameters"]
    assert parameter["name"] == "t"
    assert parameter["required"] is True
    assert parameter["schema"]["minLength"] == 1


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/pessoas", "post", {"201", "400", "413", "422", "503"}),
        ("/pessoas", "get", {"200", "400", "503"}),
        ("/pessoas/{pessoa_id}", "get", {"200", "404", "503"}),
        ("/contagem-pessoas", "get", {"200", "503"}),
    ],
)
async def test_openapi_lists_exactly_the_statuses_a_route_returns(openapi, path, method, statuses):
    assert set(_operation(openapi, path, method)["responses"]) == statuses


async def test_count_is_documented_as_plain_text(openapi):
    success = _operation(openapi, "/contagem-pessoas", "get")["responses"]["200"]
    assert set(success["content"]) == {"text/plain"}


@pytest.mark.parametrize(
    ("path", "method", "allowed"),
    [
        ("/pessoas", "DELETE", "GET, HEAD, POST"),
        ("/pessoas", "PUT", "GET, HEAD, POST"),
        ("/pessoas/f7379ae8-8f9b-4cd5-8221-51efe19e721b", "POST", "GET, HEAD"),
        ("/contagem-pessoas", "POST", "GET, HEAD"),
        ("/health", "DELETE", "GET, HEAD"),
    ],
)
async def test_a_method_not_served_gets_405_allowing_every_method_of_the_path(client, path, method, allowed):
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json() == {"detail": "method not allowed"}


async def test_openapi_names_the_operations_and_the_schemas(openapi):
    ids = {
        (path, method): op["operationId"]
        for path, ops in openapi["paths"].items()
        for method, op in ops.items()
    }
    assert ids[("/pessoas", "post")] == "createPessoa"
    assert ids[("/pessoas/{pessoa_id}", "get")] == "getPessoa"
    assert ids[("/pessoas", "get")] == "searchPessoas"
    assert ids[("/contagem-pessoas", "get")] == "countPessoas"
    assert {"NewPessoa", "Pessoa", "Error"} <= set(openapi["components"]["schemas"])


def _schemas(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


async def test_openapi_never_gives_a_reference_a_type_of_its_own(openapi):
    assert [node for node in _schemas(openapi) if "$ref" in node and len(node) > 1] == []


async def test_every_error_is_documented_as_the_json_it_is(openapi):
    for path, ops in openapi["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    assert set(response["content"]) == {"application/json"}, (path, method, status)
