"""The HTTP contract through the ASGI app, over the in-memory twins and over the embedded SQLite file."""

import asyncio
import itertools
import json
import uuid

import httpx
import pytest
from asgi_lifespan import LifespanManager

from pessoas.container import build_container
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings

VALID = {"apelido": "josé", "nome": "José Roberto", "nascimento": "2000-10-01", "stack": ["C#", "Node"]}


@pytest.fixture(params=["memory", "sqlite"])
def settings(request, tmp_path):
    # Built explicitly so that PESSOAS_* variables of the shell cannot leak in.
    return Settings(
        storage=request.param,
        sqlite_path=tmp_path / "pessoas.sqlite3",
        database_url=None,
        redis_url=None,
        amqp_url=None,
    )


@pytest.fixture
def container(settings):
    return build_container(settings)


@pytest.fixture
def settled(container):
    """Waits until the creations answered so far are searchable (their after-commit work done).

    With the in-memory storage a pessoa is indexed for search in the background after its
    commit, as the worker does behind PostgreSQL; SQLite indexes in the commit itself.
    """

    async def wait() -> None:
        await container.create_pessoa().settle()

    return wait


@pytest.fixture
async def client(container):
    app = create_app(container)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pessoas") as http:
            yield http


async def test_post_creates_with_201_location_and_body(client):
    response = await client.post("/pessoas", json=VALID)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/pessoas/{body['id']}"
    uuid.UUID(body["id"])
    assert {k: body[k] for k in VALID} == VALID


async def test_a_lookup_and_a_search_return_exactly_the_five_contract_fields(client, settled):
    created = await client.post("/pessoas", json=dict(VALID, idade=30))
    await settled()
    fields = {"id", "apelido", "nome", "nascimento", "stack"}
    assert set(created.json()) == fields
    assert set((await client.get(created.headers["location"])).json()) == fields
    assert [set(p) for p in (await client.get("/pessoas", params={"t": "josé"})).json()] == [fields]


async def test_a_created_pessoa_reads_back_at_its_location(client):
    created = await client.post("/pessoas", json=dict(VALID, stack=None))
    response = await client.get(created.headers["location"])
    assert response.status_code == 200
    assert response.json() == created.json()
    assert response.json()["stack"] is None


async def test_an_absent_stack_reads_back_as_null(client):
    body = {k: v for k, v in VALID.items() if k != "stack"}
    created = await client.post("/pessoas", json=body)
    assert created.status_code == 201
    assert (await client.get(created.headers["location"])).json()["stack"] is None


@pytest.mark.parametrize(
    "content",
    [b"not json", b"", b"[1, 2]", b'"text"', b"42", b"null", b'{"apelido": "a"', b"\xff\xfe"],
)
async def test_a_body_that_is_not_a_json_object_is_400(client, content):
    response = await client.post("/pessoas", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "changes",
    [{"nome": 1}, {"stack": "PHP"}, {"stack": [1, "PHP"]}, {"nascimento": 10}, {"apelido": True}],
)
async def test_a_field_of_the_wrong_type_is_400(client, changes):
    assert (await client.post("/pessoas", json=dict(VALID, **changes))).status_code == 400


@pytest.mark.parametrize(
    "changes",
    [
        {"apelido": None},
        {"nome": None},
        {"nascimento": None},
        {"apelido": ""},
        {"apelido": "a" * 33},
        {"nome": "n" * 101},
        {"nascimento": "2023-02-29"},
        {"nascimento": "2000-13-01"},
        {"stack": [None]},
        {"stack": [""]},
        {"stack": ["x" * 33]},
    ],
)
async def test_a_broken_rule_is_422(client, changes):
    assert (await client.post("/pessoas", json=dict(VALID, **changes))).status_code == 422


WRONG_TYPES = {
    "apelido": [1, True, ["josé"]],
    "nome": [1, {"n": "Ana"}],
    "nascimento": [10, ["2000-10-01"]],
    "stack": ["PHP", 1, [1, "PHP"]],
}
MISSING = object()
BROKEN_RULES = {
    "apelido": [MISSING, None, "", "a" * 33],
    "nome": [MISSING, None, "", "n" * 101],
    "nascimento": [MISSING, None, "2023-02-29", "2000-04-31", "12-12-2000"],
    "stack": [[None], [""], ["x" * 33]],
}


def _wrong_type_plus_broken_rule():
    for typed, ruled in itertools.permutations(WRONG_TYPES, 2):
        for wrong, broken in itertools.product(WRONG_TYPES[typed], BROKEN_RULES[ruled]):
            body = dict(VALID, **{typed: wrong})
            if broken is MISSING:
                del body[ruled]
            else:
                body[ruled] = broken
            yield pytest.param(
                body, id=f"{typed}={wrong!r}+{ruled}={'missing' if broken is MISSING else broken!r}"[:80]
            )


@pytest.mark.parametrize("body", list(_wrong_type_plus_broken_rule()))
async def test_a_wrong_type_wins_over_a_broken_rule_in_another_field(client, body):
    assert (await client.post("/pessoas", json=body)).status_code == 400


@pytest.mark.parametrize("field", ["apelido", "nome", "nascimento"])
async def test_a_missing_required_field_is_422(client, field):
    body = {k: v for k, v in VALID.items() if k != field}
    assert (await client.post("/pessoas", json=body)).status_code == 422


async def test_a_taken_apelido_is_422(client):
    assert (await client.post("/pessoas", json=VALID)).status_code == 201
    assert (await client.post("/pessoas", json=dict(VALID, nome="Outro"))).status_code == 422
    assert (await client.post("/pessoas", json=dict(VALID, apelido="JOSÉ"))).status_code == 201


async def test_concurrent_posts_of_one_apelido_give_exactly_one_201(client):
    responses = await asyncio.gather(*(client.post("/pessoas", json=VALID) for _ in range(40)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1
    assert statuses.count(422) == 39
    assert (await client.get("/contagem-pessoas")).text == "1"
    (created,) = [r for r in responses if r.status_code == 201]
    assert (await client.get(created.headers["location"])).json() == created.json()


async def test_a_created_pessoa_is_counted_and_read_before_its_search_index_is_written(client):
    # No settle: the 201 rests on the commit, which reads by id and the count see at once.
    created = await client.post("/pessoas", json=VALID)
    assert created.status_code == 201
    assert (await client.get(created.headers["location"])).status_code == 200
    assert (await client.get("/contagem-pessoas")).text == "1"


async def test_a_body_over_64_kib_is_413(client):
    big = dict(VALID, nome="n" * (64 * 1024))
    assert (await client.post("/pessoas", json=big)).status_code == 413
    assert (await client.get("/contagem-pessoas")).text == "0"


async def test_a_chunked_body_over_64_kib_is_413(client):
    async def chunks():
        for _ in range(70):
            yield b"x" * 1024

    response = await client.post("/pessoas", content=chunks())
    assert response.status_code == 413


async def test_a_body_just_under_the_limit_is_read(client):
    padding = "p" * (60 * 1024)
    response = await client.post("/pessoas", json=dict(VALID, padding=padding))
    assert response.status_code == 201


LIMIT = 64 * 1024  # The contract: a body over 64 KiB is refused


def body_of_exactly(size: int, apelido: str) -> bytes:
    """A valid pessoa, padded by an unknown field to exactly ``size`` bytes of JSON."""
    head = json.dumps(dict(VALID, apelido=apelido, padding="")).encode()
    content = head[:-2] + b"p" * (size - len(head)) + head[-2:]
    assert len(content) == size
    json.loads(content)
    return content


async def _chunked(content: bytes):
    for start in range(0, len(content), 4096):
        yield content[start : start + 4096]


# The exact edge each way, and one size further inside each side: a limit moved to 64,000 bytes or
# one that refuses exactly 65,536 fails here. Each size is sent with its Content-Length and chunked.
@pytest.mark.parametrize(("size", "status"), [(64_000, 201), (LIMIT, 201), (LIMIT + 1, 413), (66_000, 413)])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_the_body_limit_is_exactly_64_kib(client, size, status, framing):
    content = body_of_exactly(size, apelido=f"limite{size}")
    headers = {"content-type": "application/json"}
    sent = content if framing == "content-length" else _chunked(content)
    response = await client.post("/pessoas", content=sent, headers=headers)
    assert response.status_code == status
    assert (await client.get("/contagem-pessoas")).text == ("1" if status == 201 else "0")


async def test_unknown_fields_are_ignored(client):
    response = await client.post("/pessoas", json=dict(VALID, idade=30, id="forged"))
    assert response.status_code == 201
    assert "idade" not in response.json()
    assert response.json()["id"] != "forged"


# A fixed unknown id, not a random one: every test process must collect the same test ids.
UNKNOWN_ID = "6f1c2a0e-3b7d-4c55-9e21-0d4b8a7f9c13"


@pytest.mark.parametrize(
    "path", [f"/pessoas/{UNKNOWN_ID}", "/pessoas/not-a-uuid", "/pessoas/1", "/pessoas/%00"]
)
async def test_an_unknown_or_malformed_id_is_404(client, path):
    assert (await client.get(path)).status_code == 404


async def test_search_finds_by_each_field_case_insensitively(client, settled):
    await client.post("/pessoas", json=VALID)
    await client.post(
        "/pessoas", json={"apelido": "ana", "nome": "Ana Barbosa", "nascimento": "1985-09-23", "stack": None}
    )
    await settled()
    for term, expected in [("node", 1), ("JOSÉ", 1), ("barbosa", 1), ("o", 2), ("python", 0)]:
        response = await client.get("/pessoas", params={"t": term})
        assert response.status_code == 200
        assert len(response.json()) == expected, term


async def test_search_does_not_span_fields(client, settled):
    await client.post("/pessoas", json={"apelido": "xxab", "nome": "cdyy", "nascimento": "2000-01-01"})
    await settled()
    assert (await client.get("/pessoas", params={"t": "abcd"})).json() == []
    assert len((await client.get("/pessoas", params={"t": "xxab"})).json()) == 1


async def test_search_returns_at_most_50(client, settled):
    for i in range(55):
        await client.post("/pessoas", json=dict(VALID, apelido=f"silva{i}", nome="Silva"))
    await settled()
    assert len((await client.get("/pessoas", params={"t": "silva"})).json()) == 50


@pytest.mark.parametrize("query", ["", "?t=", "?x=1"])
async def test_search_without_a_term_is_400(client, query):
    assert (await client.get(f"/pessoas{query}")).status_code == 400


async def test_count_is_plain_text(client):
    response = await client.get("/contagem-pessoas")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "0"
    await client.post("/pessoas", json=VALID)
    assert (await client.get("/contagem-pessoas")).text == "1"


async def test_health_and_docs(client):
    assert (await client.get("/health")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    assert {"/pessoas", "/pessoas/{pessoa_id}", "/contagem-pessoas"} <= set(schema["paths"])
    post = schema["paths"]["/pessoas"]["post"]
    assert "application/json" in post["requestBody"]["content"]
    assert {"201", "400", "413", "422"} <= set(post["responses"])
    assert (await client.get("/docs")).status_code == 200


async def test_a_repeated_t_uses_the_last_value(client, settled):
    await client.post("/pessoas", json=VALID)
    await settled()
    assert len((await client.get("/pessoas?t=python&t=node")).json()) == 1
    assert (await client.get("/pessoas?t=node&t=")).status_code == 400


async def test_a_percent_encoded_term_is_decoded(client, settled):
    await client.post("/pessoas", json=VALID)
    await settled()
    assert len((await client.get("/pessoas?t=Jos%C3%A9%20Rob")).json()) == 1


@pytest.mark.parametrize("path", ["/pessoas/a/b", "/pessoas//", "/contagem-pessoas/", "/outra"])
async def test_paths_outside_the_contract_are_404(client, path):
    assert (await client.get(path)).status_code == 404


async def test_other_methods_are_refused_with_405(client):
    assert (await client.put("/pessoas", json=VALID)).status_code == 405
    assert (await client.delete("/contagem-pessoas")).status_code == 405
