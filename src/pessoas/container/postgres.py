"""Storage in PostgreSQL: one connection pool per process, opened and closed with the app.

With ``PESSOAS_DATABASE_READ_URL`` (a hot standby), a second pool serves the reads that may lag
(search, get-by-id after the cache; see adapters/standby_reads.py); everything else stays on the
primary's pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from dependency_injector import containers, providers
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from pessoas.adapters.postgres_schema import ensure_schema
from pessoas.adapters.postgres_search_index import PostgresSearchIndex
from pessoas.adapters.postgres_store import PostgresPessoaStore
from pessoas.adapters.standby_reads import StandbyFirstReader
from pessoas.ports.repository import PessoaReader
from pessoas.settings import Settings

#: Seconds a request waits for a pooled connection, and a new connection for PostgreSQL to answer
#: (unless the URL names its own connect_timeout). The standby's reads wait no longer: a lagging or
#: unreachable standby must not hold a read longer than the primary would.
POOL_WAIT_S = 5.0
CONNECT_TIMEOUT_S = 3


async def _open_pool(pool: AsyncConnectionPool) -> AsyncIterator[AsyncConnectionPool]:
    # wait=True: a process that cannot reach its database fails at start-up, not on the first request.
    await pool.open(wait=True)
    try:
        yield pool
    finally:
        await pool.close()


def _connection_kwargs(url: str) -> dict[str, object]:
    # Keyword arguments win over the URL's parameters in psycopg: a connect_timeout the operator
    # wrote into the URL must stay theirs, so the default only fills in a missing one.
    kwargs: dict[str, object] = {"autocommit": True}
    if "connect_timeout" not in conninfo_to_dict(url):
        kwargs["connect_timeout"] = CONNECT_TIMEOUT_S
    return kwargs


def _pool(url: str, settings: Settings, name: str) -> AsyncConnectionPool:
    # Built closed: an async pool may only open inside the running event loop (see the Resources).
    return AsyncConnectionPool(
        url,
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
        kwargs=_connection_kwargs(url),
        timeout=POOL_WAIT_S,
        open=False,
        name=name,
    )


def _primary_pool(settings: Settings) -> AsyncConnectionPool:
    assert settings.database_url, "the PostgreSQL storage is only chosen with a database URL"
    return _pool(settings.database_url, settings, "pessoas")


def _standby_pool(settings: Settings) -> AsyncConnectionPool | None:
    if not settings.database_read_url:
        return None
    return _pool(settings.database_read_url, settings, "pessoas-standby")


async def _open_standby_pool(pool: AsyncConnectionPool | None) -> AsyncIterator[AsyncConnectionPool | None]:
    if pool is None:
        yield None
        return
    # wait=False: a standby down at start-up must not stop the process; its reads go to the primary.
    await pool.open(wait=False)
    try:
        yield pool
    finally:
        await pool.close()


def _reader(primary: PostgresPessoaStore, standby_pool: AsyncConnectionPool | None) -> PessoaReader:
    if standby_pool is None:
        return primary
    return StandbyFirstReader(primary=primary, standby=PostgresPessoaStore(standby_pool))


class PostgresStorage(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    # Built closed: an async pool may only open inside the running event loop, which the Resource does.
    # Autocommit because every store method is one self-contained statement (no COMMIT round trip).
    # A request waits at most POOL_WAIT for a connection: with PostgreSQL down, a creation is
    # refused (503) after that, not after psycopg_pool's default of 30 s.
    pool = providers.Singleton(_primary_pool, settings)
    # Lifecycle only: nothing depends on it, since dependency-injector would make every provider
    # depending on an async Resource return awaitables. init_resources/shutdown_resources drive it.
    pool_lifecycle = providers.Resource(_open_pool, pool)

    standby_pool = providers.Singleton(_standby_pool, settings)
    standby_pool_lifecycle = providers.Resource(_open_standby_pool, standby_pool)

    store = providers.Singleton(PostgresPessoaStore, pool=pool)
    writer = store
    reader = providers.Singleton(_reader, store, standby_pool)
    # On the primary: it reads the record that was just committed there.
    search_index = providers.Singleton(PostgresSearchIndex, pool=pool)

    # Uses a connection of its own, so the schema can be created before (or without) the pool opening.
    prepare = providers.Callable(ensure_schema, settings.provided.database_url)
