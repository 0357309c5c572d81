"""PESSOAS_DATABASE_READ_URL against the real PostgreSQL, through the composition root.

A hot standby is stood in for by a second database holding only some of the rows: a standby that
lags. What is read where is then visible in the answers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pessoas.adapters.postgres_schema import ensure_schema
from pessoas.adapters.postgres_search_index import PostgresSearchIndex
from pessoas.adapters.postgres_store import PostgresPessoaStore
from pessoas.adapters.standby_reads import StandbyFirstReader
from pessoas.container.postgres import PostgresStorage
from pessoas.settings import Settings
from tests.contracts.pessoas_factory import make_pessoa
from tests.integration.conftest import ADMIN_URL, _admin_connection

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lagging_database() -> Iterator[str]:
    name = f"pessoas_standby_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(ADMIN_URL, dbname=name)
    try:
        asyncio.run(ensure_schema(url))
        yield url
    finally:
        with _admin_connection() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


async def _storage(primary_url: str, read_url: str) -> PostgresStorage:
    storage = PostgresStorage(settings=Settings(database_url=primary_url, database_read_url=read_url))
    await storage.init_resources()
    return storage


@pytest.fixture
async def storage(schema: str, pool, lagging_database: str) -> AsyncIterator[PostgresStorage]:
    # `pool` empties the primary's tables; the standby's are emptied here.
    standby = await _storage(lagging_database, lagging_database)
    async with standby.pool().connection() as conn:
        await conn.execute("TRUNCATE pessoas, pessoas_search")
    await standby.shutdown_resources()
    storage = await _storage(schema, lagging_database)
    try:
        yield storage
    finally:
        await storage.shutdown_resources()


async def test_reads_that_may_lag_go_to_the_standby_and_the_rest_to_the_primary(storage, lagging_database):
    reader = storage.reader()
    assert isinstance(reader, StandbyFirstReader)
    writer = storage.writer()
    old, new = make_pessoa(apelido="antigo"), make_pessoa(apelido="recente")
    await writer.add_many([old, new])
    # The index is written on the primary, where the record was just committed.
    assert await storage.search_index().index([old.id, new.id]) == 2
    # The standby has `old` only, record and search row.
    await PostgresPessoaStore(storage.standby_pool()).add_many([old])
    await PostgresSearchIndex(storage.standby_pool()).index([old.id])

    assert [p.apelido for p in await reader.search("antigo", 50)] == ["antigo"]
    assert await reader.search("recente", 50) == []  # search shows the standby's lag
    assert await reader.get(new.id) == new  # get-by-id never does: a miss is asked of the primary
    assert await reader.count() == 2  # the count is the primary's


async def test_without_a_read_url_everything_is_read_from_the_primary(schema: str, pool):
    storage = PostgresStorage(settings=Settings(database_url=schema))
    await storage.init_resources()
    try:
        assert storage.standby_pool() is None
        assert storage.reader() is storage.store()
    finally:
        await storage.shutdown_resources()


async def test_an_unreachable_standby_neither_stops_the_start_nor_the_reads(schema: str, pool):
    unreachable = make_conninfo(ADMIN_URL, host="127.0.0.1", port=1, connect_timeout=1)
    storage = PostgresStorage(
        settings=Settings(database_url=schema, database_read_url=unreachable, database_pool_min=1)
    )
    # Shorter pool wait, so the standby's reads fail over in a test-sized time.
    storage.standby_pool().timeout = 1.0
    await storage.init_resources()
    try:
        pessoa = make_pessoa(apelido="sem-standby")
        await storage.writer().add_many([pessoa])
        await storage.search_index().index([pessoa.id])
        reader = storage.reader()
        assert await reader.get(pessoa.id) == pessoa
        assert await reader.search("sem-standby", 50) == [pessoa]
    finally:
        await storage.shutdown_resources()
