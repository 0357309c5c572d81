"""PostgresPessoaStore: the store contract, plus what only the real database can show."""

from __future__ import annotations

import asyncio
import logging

import psycopg
import pytest

from pessoas.adapters import postgres_store
from pessoas.adapters.postgres_schema import SEARCH_SEPARATOR, ensure_schema
from pessoas.adapters.postgres_store import PostgresPessoaStore
from tests.contracts.pessoas_factory import make_pessoa
from tests.contracts.store_contract import StoreContract

pytestmark = pytest.mark.integration


class TestPostgresStore(StoreContract):
    pass  # the store fixture comes from tests/integration/conftest.py


async def test_a_redelivered_batch_stores_nothing_twice(store: PostgresPessoaStore, caplog):
    batch = [make_pessoa() for _ in range(50)]
    assert await store.add_many(batch) == 50
    with caplog.at_level(logging.ERROR):
        assert await store.add_many(batch) == 0
        assert await store.add_many(list(reversed(batch))) == 0
    assert await store.count() == 50
    # A redelivery is expected after a worker crash: it is not an error.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_duplicates_inside_one_batch_are_stored_once(store: PostgresPessoaStore):
    pessoa = make_pessoa()
    assert await store.add_many([pessoa, pessoa, pessoa]) == 1
    assert await store.get(pessoa.id) == pessoa


async def test_an_apelido_under_another_id_is_logged_as_an_error(store: PostgresPessoaStore, caplog):
    holder = make_pessoa(apelido="repetido")
    intruder = make_pessoa(apelido="repetido")
    await store.add_many([holder])
    with caplog.at_level(logging.ERROR, logger="pessoas.adapters.postgres_store"):
        assert await store.add_many([intruder, make_pessoa()]) == 1
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(messages) == 1
    assert str(intruder.id) in messages[0] and str(holder.id) in messages[0]
    assert "'repetido'" in messages[0]
    # The marker the fault audit counts in the worker's log (tests/faults/scenario.py).
    assert "not stored: its apelido" in messages[0]


async def test_every_pessoa_skipped_for_its_apelido_is_reported(store: PostgresPessoaStore, caplog):
    # A redelivered pessoa (skipped, but stored under its own id: no error) first in the batch must
    # not end the report before the pessoas after it.
    redelivered = make_pessoa()
    holders = [make_pessoa(apelido="primeiro"), make_pessoa(apelido="segundo")]
    await store.add_many([redelivered, *holders])
    intruders = [make_pessoa(apelido="primeiro"), make_pessoa(apelido="segundo")]
    with caplog.at_level(logging.ERROR, logger="pessoas.adapters.postgres_store"):
        assert await store.add_many([redelivered, *intruders]) == 0
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(messages) == 2
    for intruder, message in zip(intruders, messages, strict=True):
        assert str(intruder.id) in message


async def test_a_batch_of_1000_is_stored_whole(store: PostgresPessoaStore):
    batch = [
        make_pessoa(stack=None if i % 14 == 0 else tuple(f"item{j}" for j in range(i % 27)))
        for i in range(1000)
    ]
    assert await store.add_many(batch) == 1000
    assert await store.count() == 1000
    for pessoa in batch[::97] + batch[-3:]:
        assert await store.get(pessoa.id) == pessoa


async def test_an_empty_stack_reads_back_empty_not_null(store: PostgresPessoaStore):
    empty = make_pessoa(stack=())
    none = make_pessoa(stack=None)
    await store.add_many([none, empty, none])
    assert (await store.get(empty.id)).stack == ()
    assert (await store.get(none.id)).stack is None


async def test_stack_items_with_array_syntax_read_back_exactly(store: PostgresPessoaStore):
    pessoa = make_pessoa(stack=("a,b", "{c}", 'd"e', "f\\g", "NULL", " h ", "ã"))
    await store.add_many([make_pessoa(stack=("x",)), pessoa, make_pessoa(stack=())])
    assert await store.get(pessoa.id) == pessoa


async def test_a_term_containing_the_separator_still_cannot_span_fields(store: PostgresPessoaStore):
    inside = make_pessoa(apelido=f"a{SEARCH_SEPARATOR}b", nome="Nome", stack=None)
    spanning = make_pessoa(apelido="xa", nome="by", stack=("p", "q"))
    await store.add_many([inside, spanning])
    assert [p.id for p in await store.search(f"a{SEARCH_SEPARATOR}b", 50)] == [inside.id]
    assert await store.search(f"p{SEARCH_SEPARATOR}q", 50) == []
    assert await store.search(f"y{SEARCH_SEPARATOR}p", 50) == []


async def test_a_term_with_nul_finds_nothing_instead_of_failing(store: PostgresPessoaStore):
    await store.add_many([make_pessoa(apelido="nul")])
    assert await store.search("nul\x00", 50) == []


@pytest.mark.parametrize(
    ("query", "term"),
    [(postgres_store._SEARCH, "Roberto"), (postgres_store._SEARCH_EXACT, f"a{SEARCH_SEPARATOR}Roberto")],
    ids=["plain term", "term with the separator"],
)
async def test_search_is_answered_by_the_trigram_index(store: PostgresPessoaStore, pool, query, term):
    await store.add_many([make_pessoa() for _ in range(200)])
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("ANALYZE pessoas")
        await conn.execute("SET LOCAL enable_seqscan = off")
        # The store's own queries, so a change to one that loses the index fails here.
        cursor = await conn.execute("EXPLAIN " + query, {"pattern": term, "limit": 50}, prepare=False)
        plan = "\n".join(row[0] for row in await cursor.fetchall())
    assert "pessoas_search_trgm" in plan, plan


async def test_search_is_fast_on_50_000_rows(store: PostgresPessoaStore):
    # The reference load stores ~46,500 pessoas while ~100 searches/s arrive; random ASCII terms of
    # 1..50 characters mostly match nothing, the case a scan without the index would make slow.
    for start in range(0, 50_000, 1000):
        await store.add_many([make_pessoa(nome=f"Nome {i} Sobrenome") for i in range(start, start + 1000)])
    terms = ["QwErTyZx", "sobrenome 4999", "a", "xyzzy plugh", "ZZ", "nome 123", "jose r"]
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(10):
        for term in terms:
            assert len(await store.search(term, 50)) <= 50
    per_search = (loop.time() - started) / (10 * len(terms))
    # Generous for a shared, noisy machine; a sequential scan takes tens of milliseconds here.
    assert per_search < 0.015, f"{per_search * 1000:.1f} ms per search"


async def test_ensure_schema_is_idempotent_and_safe_concurrently(schema: str, store: PostgresPessoaStore):
    pessoa = make_pessoa()
    await store.add_many([pessoa])
    await asyncio.gather(*(ensure_schema(schema) for _ in range(5)))
    assert await store.get(pessoa.id) == pessoa


async def test_ensure_schema_runs_through_an_open_pool_too(store: PostgresPessoaStore, pool):
    pessoa = make_pessoa()
    await store.add_many([pessoa])
    await asyncio.gather(*(ensure_schema(pool) for _ in range(3)))
    assert await store.get(pessoa.id) == pessoa


async def test_ensure_schema_creates_everything_in_an_empty_database(database_url: str):
    admin_url = psycopg.conninfo.conninfo_to_dict(database_url)
    name = f"{admin_url['dbname']}_fresh"
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
        await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        fresh_url = psycopg.conninfo.make_conninfo(database_url, dbname=name)
        await asyncio.gather(*(ensure_schema(fresh_url) for _ in range(3)))
        async with await psycopg.AsyncConnection.connect(fresh_url) as conn:
            cursor = await conn.execute("SELECT count(*) FROM pessoas")
            assert (await cursor.fetchone())[0] == 0
    finally:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
