"""Storage in PostgreSQL: one connection pool per process, opened and closed with the app."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dependency_injector import containers, providers
from psycopg_pool import AsyncConnectionPool

from pessoas.adapters.postgres_schema import ensure_schema
from pessoas.adapters.postgres_store import PostgresPessoaStore
from pessoas.settings import Settings


async def _open_pool(pool: AsyncConnectionPool) -> AsyncIterator[AsyncConnectionPool]:
    # wait=True: a process that cannot reach its database fails at start-up, not on the first request.
    await pool.open(wait=True)
    try:
        yield pool
    finally:
        await pool.close()


class PostgresStorage(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    # Built closed: an async pool may only open inside the running event loop, which the Resource does.
    # Autocommit because every store method is one self-contained statement (no COMMIT round trip).
    pool = providers.Singleton(
        AsyncConnectionPool,
        conninfo=settings.provided.database_url,
        min_size=settings.provided.database_pool_min,
        max_size=settings.provided.database_pool_max,
        kwargs={"autocommit": True},
        open=False,
        name="pessoas",
    )
    # Lifecycle only: nothing depends on it, since dependency-injector would make every provider
    # depending on an async Resource return awaitables. init_resources/shutdown_resources drive it.
    pool_lifecycle = providers.Resource(_open_pool, pool)

    store = providers.Singleton(PostgresPessoaStore, pool=pool)
    writer = store
    reader = store

    # Uses a connection of its own, so the schema can be created before (or without) the pool opening.
    prepare = providers.Callable(ensure_schema, settings.provided.database_url)
