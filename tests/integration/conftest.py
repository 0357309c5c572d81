"""Fixtures over the real PostgreSQL and Redis.

The services are found through PESSOAS_TEST_DATABASE_ADMIN_URL (a database to connect to for
creating the test database) and PESSOAS_TEST_REDIS_URL, defaulting to the local services. A service
that cannot be reached makes the fixtures fail with an error: an integration suite that skips
itself silently would let a broken adapter pass.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
import redis.asyncio as redis
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from pessoas.adapters.postgres_schema import ensure_schema
from pessoas.adapters.postgres_search_index import PostgresSearchIndex
from pessoas.adapters.postgres_store import PostgresPessoaStore
from pessoas.adapters.redis_cache import RedisPessoaCache

ADMIN_URL = os.environ.get("PESSOAS_TEST_DATABASE_ADMIN_URL", "postgresql://root@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PESSOAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _admin_connection() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is unreachable at {ADMIN_URL}: {error}", pytrace=False)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database of its own for this test session, dropped at the end (even with open connections)."""
    name = f"pessoas_test_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(ADMIN_URL, dbname=name)
    finally:
        with _admin_connection() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def schema(database_url: str) -> str:
    """The database with the schema created, once per session (ensure_schema is idempotent anyway)."""
    # A session fixture outlives the per-test event loops, so it runs its own short one.
    asyncio.run(ensure_schema(database_url))
    return database_url


@pytest.fixture
async def pool(schema: str) -> AsyncIterator[AsyncConnectionPool]:
    """A pool on freshly emptied tables. Built per test: a pool belongs to the event loop that opened it."""
    pool = AsyncConnectionPool(schema, min_size=1, max_size=4, kwargs={"autocommit": True}, open=False)
    await pool.open(wait=True, timeout=10)
    try:
        async with pool.connection() as conn:
            await conn.execute("TRUNCATE pessoas, pessoas_search")
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def store(pool: AsyncConnectionPool) -> PostgresPessoaStore:
    return PostgresPessoaStore(pool)


@pytest.fixture
def search_index(pool: AsyncConnectionPool) -> PostgresSearchIndex:
    """A reconciler that has made no pass yet (its first index_missing looks at every row)."""
    return PostgresSearchIndex(pool)


async def wait_for(check, timeout: float, what: str, interval: float = 0.05):
    """Polls the async ``check`` until it returns something truthy (returned), failing after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        outcome = await check()
        if outcome:
            return outcome
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s (last: {outcome!r})")
        await asyncio.sleep(interval)


@pytest.fixture
async def redis_client() -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        await client.ping()
    except (redis.ConnectionError, redis.TimeoutError) as error:
        await client.aclose()
        pytest.fail(f"Redis is unreachable at {REDIS_URL}: {error}", pytrace=False)
    try:
        yield client
    finally:
        await client.aclose()


async def keys_under(client: redis.Redis, prefix: str) -> list[bytes]:
    """Every key under ``prefix``. The shared Redis may hold a stack's 100,000 keys beside the tests'
    few: SCAN's default of 10 keys a call would take 10,000 round trips to walk them."""
    return [key async for key in client.scan_iter(match=f"{prefix}*", count=10_000)]


@pytest.fixture
async def redis_prefix(redis_client: redis.Redis) -> AsyncIterator[str]:
    """A key prefix no other test (or concurrent run) uses; its keys are deleted afterwards."""
    prefix = f"pessoas_test:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        keys = await keys_under(redis_client, prefix)
        if keys:
            await redis_client.delete(*keys)


@pytest.fixture
def cache(redis_client: redis.Redis, redis_prefix: str) -> RedisPessoaCache:
    """A cache over an empty Redis namespace of its own."""
    return RedisPessoaCache(redis_client, redis_prefix)


async def forget_prefix(client: redis.Redis, prefix: str) -> int:
    """Deletes every key under ``prefix``: what a restart of a Redis that keeps nothing leaves.

    The shared Redis serves others too, so this is the test's FLUSHALL, scoped to its own keys.
    """
    keys = await keys_under(client, prefix)
    if keys:
        await client.delete(*keys)
    return len(keys)
