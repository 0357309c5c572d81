"""PostgresPessoaStore and PostgresSearchIndex: the store contract, plus what only the real database can show.

The record (``pessoas``) is what a 201 rests on: a committed pessoa is read by id and counted at
once. Search reads the search index (``pessoas_search``), which the worker fills after the commit:
PostgreSQL really defers it, so a pessoa is found by search only once it has been indexed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from pessoas.adapters import postgres_store
from pessoas.adapters.postgres_schema import SEARCH_SEPARATOR, ensure_schema
from pessoas.adapters.postgres_search_index import PostgresSearchIndex
from pessoas.adapters.postgres_store import PostgresPessoaStore
from pessoas.domain.model import Pessoa
from tests.contracts.pessoas_factory import make_pessoa
from tests.contracts.store_contract import ExportContract, StoreContract

pytestmark = pytest.mark.integration


class TestPostgresStore(StoreContract, ExportContract):
    pass  # the store fixture comes from tests/integration/conftest.py


async def _found(store: PostgresPessoaStore, term: str) -> list[uuid.UUID]:
    return [p.id for p in await store.search(term, 50)]


async def _insert_with_sql(conn: psycopg.AsyncConnection, pessoa: Pessoa) -> None:
    """Stores a pessoa as a creation's commit does, but with no announcement behind it."""
    await conn.execute(
        "INSERT INTO pessoas (id, apelido, nome, nascimento, stack) VALUES (%s, %s, %s, %s, %s)",
        (
            pessoa.id,
            pessoa.apelido,
            pessoa.nome,
            pessoa.nascimento,
            list(pessoa.stack) if pessoa.stack is not None else None,
        ),
    )


async def _passes_until_found(
    index: PostgresSearchIndex, store: PostgresPessoaStore, pessoas: list[Pessoa], passes: int
) -> int:
    """Runs reconciler passes until every pessoa is searchable; returns how many passes it took."""
    for done in range(1, passes + 1):
        await index.index_missing()
        missing = [p for p in pessoas if await _found(store, p.apelido) != [p.id]]
        if not missing:
            return done
    raise AssertionError(
        f"{len(missing)} of {len(pessoas)} pessoas still not searchable after {passes} passes"
    )


# --- add_many: the commit that a 201 rests on ---


async def test_add_many_returns_exactly_the_ids_it_stored(store: PostgresPessoaStore):
    held = make_pessoa(apelido="ocupado")
    assert await store.add_many([held]) == {held.id}
    fresh = [make_pessoa() for _ in range(3)]
    same_id = make_pessoa(apelido="outro-apelido", pessoa_id=held.id)
    same_apelido = make_pessoa(apelido="ocupado")
    batch = [fresh[0], same_id, fresh[1], same_apelido, fresh[2]]
    assert await store.add_many(batch) == {p.id for p in fresh}
    assert await store.count() == 4
    assert await store.get(held.id) == held  # neither loser changed the holder
    assert await store.get(same_apelido.id) is None


async def test_in_one_batch_the_first_of_an_apelido_wins_and_only_it(store: PostgresPessoaStore):
    contenders = [make_pessoa(apelido="disputado", nome=f"Contendor {n}") for n in range(20)]
    others = [make_pessoa() for _ in range(5)]
    batch = [contenders[0], others[0], *contenders[1:10], *others[1:], *contenders[10:]]
    stored = await store.add_many(batch)
    assert stored == {contenders[0].id} | {p.id for p in others}
    assert await store.count() == 6
    for loser in contenders[1:]:
        assert await store.get(loser.id) is None


async def test_concurrent_transactions_on_one_apelido_store_exactly_one(pool: AsyncConnectionPool):
    # Separate connections, so the transactions race inside PostgreSQL as two API instances' do.
    stores = [PostgresPessoaStore(pool) for _ in range(4)]
    contenders = [make_pessoa(apelido="corrida") for _ in range(40)]
    outcomes = await asyncio.gather(
        *(stores[n % 4].add_many([pessoa, make_pessoa()]) for n, pessoa in enumerate(contenders))
    )
    winners = [p for p, stored in zip(contenders, outcomes, strict=True) if p.id in stored]
    assert len(winners) == 1
    assert all(len(stored) in (1, 2) for stored in outcomes)  # each bystander stored regardless
    assert await stores[0].count() == 41
    assert await stores[0].get(winners[0].id) == winners[0]


async def test_a_batch_stored_again_stores_nothing_and_logs_no_error(store: PostgresPessoaStore, caplog):
    batch = [make_pessoa() for _ in range(50)]
    assert await store.add_many(batch) == {p.id for p in batch}
    with caplog.at_level(logging.ERROR):
        assert await store.add_many(batch) == set()
        assert await store.add_many(list(reversed(batch))) == set()
    assert await store.count() == 50
    # An apelido lost to another pessoa is an ordinary 422, not an error.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_batch_of_1000_is_stored_whole(store: PostgresPessoaStore):
    batch = [
        make_pessoa(stack=None if i % 14 == 0 else tuple(f"item{j}" for j in range(i % 27)))
        for i in range(1000)
    ]
    assert await store.add_many(batch) == {p.id for p in batch}
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


# --- the record answers at once; search waits for the index ---


async def test_a_committed_pessoa_is_read_and_counted_at_once_but_searched_only_once_indexed(
    store: PostgresPessoaStore, search_index: PostgresSearchIndex
):
    pessoa = make_pessoa(apelido="adiada", nome="Busca Adiada", stack=("Erlang",))
    assert await store.add_many([pessoa]) == {pessoa.id}
    assert await store.get(pessoa.id) == pessoa
    assert await store.count() == 1
    assert await store.search("adiada", 50) == []  # not indexed yet: PostgreSQL truly defers it
    assert await store.search("erlang", 50) == []
    assert await search_index.index([pessoa.id]) == 1
    assert await store.search("adiada", 50) == [pessoa]
    assert await _found(store, "ERLANG") == [pessoa.id]


async def test_indexing_is_idempotent_and_ignores_unknown_ids(
    store: PostgresPessoaStore, search_index: PostgresSearchIndex
):
    pessoas = [make_pessoa(nome="Repetida") for _ in range(3)]
    await store.add_many(pessoas)
    ids = [p.id for p in pessoas]
    assert await search_index.index(ids) == 3
    assert await search_index.index(ids) == 0  # a redelivered message changes nothing
    assert await search_index.index([*ids, *ids]) == 0
    assert await search_index.index([uuid.uuid4(), uuid.uuid4()]) == 0  # never stored
    assert await search_index.index([]) == 0
    assert sorted(await _found(store, "repetida")) == sorted(ids)  # each once
    assert await store.count() == 3


async def test_an_id_indexed_before_its_commit_is_not_searchable_until_indexed_after_it(
    store: PostgresPessoaStore, search_index: PostgresSearchIndex
):
    # The index reads the record: an id with no committed row (yet) is skipped, not remembered.
    pessoa = make_pessoa(apelido="antecipada")
    assert await search_index.index([pessoa.id]) == 0
    await store.add_many([pessoa])
    assert await store.search("antecipada", 50) == []
    assert await search_index.index([pessoa.id]) == 1
    assert await store.search("antecipada", 50) == [pessoa]


# --- the reconciler: what an announcement missed ---


@pytest.mark.pg_horizon
async def test_the_first_reconciler_pass_indexes_every_stored_row(
    store: PostgresPessoaStore, search_index: PostgresSearchIndex, pool: AsyncConnectionPool
):
    pessoas = [make_pessoa(nome="Esquecida") for _ in range(30)]
    await store.add_many(pessoas[:20])
    async with pool.connection() as conn:
        for pessoa in pessoas[20:]:
            await _insert_with_sql(conn, pessoa)
    await search_index.index([pessoas[0].id])  # one was announced; the others were not
    assert await search_index.index_missing() == 29
    assert sorted(await _found(store, "esquecida")) == sorted(p.id for p in pessoas)
    assert await search_index.index_missing() == 0


@pytest.mark.pg_horizon
async def test_rows_whose_announcement_was_lost_are_indexed_within_three_passes(
    store: PostgresPessoaStore, search_index: PostgresSearchIndex, pool: AsyncConnectionPool
):
    assert await search_index.index_missing() == 0  # the first pass, on an empty table
    lost = [make_pessoa(nome="Anuncio Perdido", stack=("Cobol",)) for _ in range(5)]
    async with pool.connection() as conn:  # inserted with SQL: nothing ever announced them
        for pessoa in lost:
            await _insert_with_sql(conn, pessoa)
    assert await _found(store, "cobol") == []
    assert await _passes_until_found(search_index, store, lost, passes=3) <= 3
    # Later passes look only at newer transactions, and find nothing more to do.
    assert await search_index.index_missing() == 0
    assert await search_index.index_missing() == 0


@pytest.mark.pg_horizon
async def test_a_pass_leaves_its_grace_to_the_announcement(
    store: PostgresPessoaStore, search_index: PostgresSearchIndex, pool: AsyncConnectionPool
):
    # A row committed just before a (later) pass is not that pass's to index: its announcement
    # has a whole pass interval to arrive, and the reconciler costs nothing on the normal path.
    await search_index.index_missing()
    announced = make_pessoa(apelido="anunciada")
    await store.add_many([announced])
    assert await search_index.index_missing() == 0
    assert await search_index.index([announced.id]) == 1  # the worker's message arrives
    assert await search_index.index_missing() == 0  # and the pass that would have found it skips it
    assert await store.search("anunciada", 50) == [announced]


@pytest.mark.pg_horizon
async def test_a_row_whose_transaction_is_open_during_a_pass_is_found_after_its_commit(
    store: PostgresPessoaStore, search_index: PostgresSearchIndex, schema: str
):
    await search_index.index_missing()  # the reconciler has run before
    late = make_pessoa(apelido="demorada", nome="Transacao Longa")
    async with await psycopg.AsyncConnection.connect(schema) as other:
        # Not autocommit: the row's transaction stays open (its txid assigned) across passes.
        await _insert_with_sql(other, late)
        await search_index.index_missing()
        await search_index.index_missing()
        assert await store.get(late.id) is None  # not committed, so invisible to everyone else
        await other.commit()
    assert await store.get(late.id) == late
    assert await store.search("demorada", 50) == []
    # Its txid is older than the horizons read while it was open: a pass that only looked past
    # the latest horizon would miss it for good. It is found once its transaction has ended.
    assert await _passes_until_found(search_index, store, [late], passes=3) <= 3


@pytest.mark.pg_horizon
async def test_a_row_open_during_the_very_first_pass_is_found_after_its_commit(
    store: PostgresPessoaStore, search_index: PostgresSearchIndex, schema: str
):
    late = make_pessoa(apelido="primeira-passada")
    async with await psycopg.AsyncConnection.connect(schema) as other:
        await _insert_with_sql(other, late)
        assert await search_index.index_missing() == 0
        await other.commit()
    assert await _passes_until_found(search_index, store, [late], passes=3) <= 3


@pytest.mark.pg_horizon
async def test_two_reconcilers_at_once_index_everything_once(
    store: PostgresPessoaStore, pool: AsyncConnectionPool
):
    # Two workers, each with its reconciler: the advisory lock lets one do each pass, and a
    # reconciler that was skipped keeps its horizons, so between them nothing is missed.
    pessoas = [make_pessoa(nome="Dois Reconciliadores") for _ in range(40)]
    await store.add_many(pessoas[:20])
    first, second = PostgresSearchIndex(pool), PostgresSearchIndex(pool)
    outcomes = await asyncio.gather(first.index_missing(), second.index_missing())
    assert sum(outcomes) == 20
    await store.add_many(pessoas[20:])
    for _ in range(3):
        await asyncio.gather(first.index_missing(), second.index_missing())
    assert sorted(await _found(store, "dois reconciliadores")) == sorted(p.id for p in pessoas)


# --- search over the index ---


async def test_a_term_containing_the_separator_still_cannot_span_fields(
    store: PostgresPessoaStore, search_index: PostgresSearchIndex
):
    inside = make_pessoa(apelido=f"a{SEARCH_SEPARATOR}b", nome="Nome", stack=None)
    spanning = make_pessoa(apelido="xa", nome="by", stack=("p", "q"))
    await store.add_many([inside, spanning])
    await search_index.index([inside.id, spanning.id])
    assert await _found(store, f"a{SEARCH_SEPARATOR}b") == [inside.id]
    assert await store.search(f"p{SEARCH_SEPARATOR}q", 50) == []
    assert await store.search(f"y{SEARCH_SEPARATOR}p", 50) == []


async def test_a_term_with_nul_finds_nothing_instead_of_failing(
    store: PostgresPessoaStore, search_index: PostgresSearchIndex
):
    pessoa = make_pessoa(apelido="nul")
    await store.add_many([pessoa])
    await search_index.index([pessoa.id])
    assert await store.search("nul\x00", 50) == []


@pytest.mark.parametrize(
    ("query", "term"),
    [(postgres_store._SEARCH, "Roberto"), (postgres_store._SEARCH_EXACT, f"a{SEARCH_SEPARATOR}Roberto")],
    ids=["plain term", "term with the separator"],
)
async def test_search_is_answered_by_the_trigram_index(
    store: PostgresPessoaStore, search_index: PostgresSearchIndex, pool, query, term
):
    # A rare term (two pessoas of 2000), the case where the index pays.
    pessoas = [make_pessoa(nome="José Roberto" if n in (7, 1500) else f"Nome {n}") for n in range(2000)]
    await store.add_many(pessoas)
    await search_index.index([p.id for p in pessoas])
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("ANALYZE pessoas")
        await conn.execute("ANALYZE pessoas_search")
        await conn.execute("SET LOCAL enable_seqscan = off")
        # The store's own queries, so a change to one that loses the index fails here.
        cursor = await conn.execute("EXPLAIN " + query, {"pattern": term, "limit": 50}, prepare=False)
        plan = "\n".join(row[0] for row in await cursor.fetchall())
    assert "pessoas_search_trgm" in plan, plan


async def test_the_record_carries_no_trigram_index(pool):
    # A creation's commit pays for the record's own indexes only: the trigram index is the
    # search table's, filled after the commit.
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE tablename IN ('pessoas', 'pessoas_search')"
        )
        indexes = await cursor.fetchall()
    trigram = [table for table, definition in indexes if "gin_trgm_ops" in definition]
    assert trigram == ["pessoas_search"], indexes
    cursor_columns = await _columns(pool, "pessoas")
    assert "search" not in cursor_columns and "txid" in cursor_columns


async def _columns(pool: AsyncConnectionPool, table: str) -> set[str]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
        )
        return {row[0] for row in await cursor.fetchall()}


async def test_search_is_fast_on_50_000_rows(store: PostgresPessoaStore, search_index: PostgresSearchIndex):
    # The reference load stores ~46,500 pessoas while ~100 searches/s arrive; random ASCII terms of
    # 1..50 characters mostly match nothing, the case a scan without the index would make slow.
    for start in range(0, 50_000, 1000):
        batch = [make_pessoa(nome=f"Nome {i} Sobrenome") for i in range(start, start + 1000)]
        await store.add_many(batch)
        await search_index.index([p.id for p in batch])
    terms = ["QwErTyZx", "sobrenome 4999", "a", "xyzzy plugh", "ZZ", "nome 123", "jose r"]
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(10):
        for term in terms:
            assert len(await store.search(term, 50)) <= 50
    per_search = (loop.time() - started) / (10 * len(terms))
    # Generous for a shared, noisy machine; a sequential scan takes tens of milliseconds here.
    assert per_search < 0.015, f"{per_search * 1000:.1f} ms per search"


# --- the schema ---


async def test_ensure_schema_is_idempotent_and_safe_concurrently(
    schema: str, store: PostgresPessoaStore, search_index: PostgresSearchIndex
):
    pessoa = make_pessoa()
    await store.add_many([pessoa])
    await search_index.index([pessoa.id])
    await asyncio.gather(*(ensure_schema(schema) for _ in range(5)))
    assert await store.get(pessoa.id) == pessoa
    assert await store.search(pessoa.apelido, 50) == [pessoa]


async def test_ensure_schema_runs_through_an_open_pool_too(store: PostgresPessoaStore, pool):
    pessoa = make_pessoa()
    await store.add_many([pessoa])
    await asyncio.gather(*(ensure_schema(pool) for _ in range(3)))
    assert await store.get(pessoa.id) == pessoa


async def _create_database(database_url: str, suffix: str) -> str:
    name = f"{psycopg.conninfo.conninfo_to_dict(database_url)['dbname']}_{suffix}"
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
        await admin.execute(f'CREATE DATABASE "{name}"')
    return psycopg.conninfo.make_conninfo(database_url, dbname=name)


async def _drop_database(database_url: str, url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_ensure_schema_creates_everything_in_an_empty_database(database_url: str):
    fresh_url = await _create_database(database_url, "fresh")
    try:
        await asyncio.gather(*(ensure_schema(fresh_url) for _ in range(3)))
        async with await psycopg.AsyncConnection.connect(fresh_url) as conn:
            for table in ("pessoas", "pessoas_search"):
                cursor = await conn.execute(f"SELECT count(*) FROM {table}")
                assert (await cursor.fetchone())[0] == 0
    finally:
        await _drop_database(database_url, fresh_url)


# The schema of the previous version, as it created it: the search text was a column generated on
# the record, under the trigram index. Written out here, so the migration is tested against what
# was really deployed, not against what this version's code remembers of it.
_OLD_SCHEMA = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    CREATE OR REPLACE FUNCTION pessoas_stack_text(stack text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT array_to_string(stack, E'\\x1f') $$
    """,
    """
    CREATE TABLE IF NOT EXISTS pessoas (
        id uuid PRIMARY KEY,
        apelido text NOT NULL UNIQUE,
        nome text NOT NULL,
        nascimento date NOT NULL,
        stack text[],
        search text NOT NULL GENERATED ALWAYS AS (
            lower(apelido || E'\\x1f' || nome || E'\\x1f' || coalesce(pessoas_stack_text(stack), ''))
        ) STORED
    )
    """,
    "CREATE INDEX IF NOT EXISTS pessoas_search_trgm ON pessoas USING gin (search gin_trgm_ops)",
    "ALTER INDEX pessoas_search_trgm SET (gin_pending_list_limit = 256)",
)


@pytest.mark.pg_horizon
async def test_a_database_of_the_previous_schema_keeps_its_rows_and_they_become_searchable(
    database_url: str,
):
    old_url = await _create_database(database_url, "old")
    try:
        old = [
            make_pessoa(apelido="veterano", nome="Desde Antes", stack=("Delphi", "Clipper")),
            make_pessoa(apelido="sem-stack", nome="Desde Antes", stack=None),
            make_pessoa(apelido="stack-vazia", nome="Desde Antes", stack=()),
        ]
        async with await psycopg.AsyncConnection.connect(old_url, autocommit=True) as conn:
            for statement in _OLD_SCHEMA:
                await conn.execute(statement)
            for pessoa in old:
                await _insert_with_sql(conn, pessoa)

        await asyncio.gather(*(ensure_schema(old_url) for _ in range(2)))  # two processes starting
        await ensure_schema(old_url)  # and a later start, on the migrated shape

        pool = AsyncConnectionPool(old_url, min_size=1, max_size=2, kwargs={"autocommit": True}, open=False)
        await pool.open(wait=True, timeout=10)
        try:
            store = PostgresPessoaStore(pool)
            assert await store.count() == 3
            for pessoa in old:
                assert await store.get(pessoa.id) == pessoa
            assert await store.search("desde antes", 50) == []  # the search table starts empty
            assert await PostgresSearchIndex(pool).index_missing() == 3  # a worker's first pass
            assert sorted(await _found(store, "desde antes")) == sorted(p.id for p in old)
            assert await _found(store, "clipper") == [old[0].id]
            # And the migrated database takes new pessoas like a new one.
            new = make_pessoa(apelido="novato", nome="Desde Depois")
            assert await store.add_many([new, make_pessoa(apelido="veterano")]) == {new.id}
            assert await PostgresSearchIndex(pool).index([new.id]) == 1
            assert await store.search("desde depois", 50) == [new]
            assert "search" not in await _columns(pool, "pessoas")
            async with pool.connection() as conn:
                cursor = await conn.execute(
                    "SELECT tablename FROM pg_indexes WHERE indexname = 'pessoas_search_trgm'"
                )
                assert await cursor.fetchall() == [("pessoas_search",)]  # the old one went with its column
        finally:
            await pool.close()
    finally:
        await _drop_database(database_url, old_url)


# The shape of the first version with a separate search table: the search row held only the
# search text, and a search joined the record for the fields.
_SPLIT_SCHEMA_WITHOUT_FIELDS = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    CREATE TABLE IF NOT EXISTS pessoas (
        id uuid PRIMARY KEY,
        apelido text NOT NULL UNIQUE,
        nome text NOT NULL,
        nascimento date NOT NULL,
        stack text[],
        txid xid8 NOT NULL DEFAULT pg_current_xact_id()
    )
    """,
    "CREATE INDEX IF NOT EXISTS pessoas_txid ON pessoas (txid)",
    """
    CREATE OR REPLACE FUNCTION pessoas_search_text(apelido text, nome text, stack text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT lower(apelido || E'\\x1f' || nome || E'\\x1f'
                     || coalesce(array_to_string(stack, E'\\x1f'), ''))
    $$
    """,
    "CREATE TABLE IF NOT EXISTS pessoas_search (id uuid PRIMARY KEY, search text NOT NULL)",
    """
    CREATE INDEX IF NOT EXISTS pessoas_search_trgm ON pessoas_search
    USING gin (search gin_trgm_ops) WITH (gin_pending_list_limit = 256)
    """,
)


@pytest.mark.pg_horizon
async def test_a_search_table_of_an_older_shape_is_rebuilt_and_refilled_by_the_reconciler(
    database_url: str,
):
    older_url = await _create_database(database_url, "older")
    try:
        pessoas = [make_pessoa(nome="Tabela Antiga", stack=("Ada",)), make_pessoa(nome="Tabela Antiga")]
        async with await psycopg.AsyncConnection.connect(older_url, autocommit=True) as conn:
            for statement in _SPLIT_SCHEMA_WITHOUT_FIELDS:
                await conn.execute(statement)
            for pessoa in pessoas:
                await _insert_with_sql(conn, pessoa)
            await conn.execute(
                "INSERT INTO pessoas_search (id, search) "
                "SELECT id, pessoas_search_text(apelido, nome, stack) FROM pessoas"
            )

        await asyncio.gather(*(ensure_schema(older_url) for _ in range(2)))

        pool = AsyncConnectionPool(older_url, min_size=1, max_size=2, kwargs={"autocommit": True}, open=False)
        await pool.open(wait=True, timeout=10)
        try:
            store = PostgresPessoaStore(pool)
            assert await store.count() == 2  # the record is untouched
            assert {"apelido", "nome", "nascimento", "stack", "search"} <= await _columns(
                pool, "pessoas_search"
            )
            assert await PostgresSearchIndex(pool).index_missing() == 2  # a worker's first pass
            assert sorted(await store.search("tabela antiga", 50), key=lambda p: p.apelido) == sorted(
                pessoas, key=lambda p: p.apelido
            )
            await ensure_schema(older_url)  # the current shape is kept, with its rows
            assert len(await store.search("tabela antiga", 50)) == 2
        finally:
            await pool.close()
    finally:
        await _drop_database(database_url, older_url)
