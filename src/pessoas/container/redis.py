"""The cache in Redis: one client (with its connection pool) per process, closed with the app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import redis.asyncio as redis
from dependency_injector import containers, providers

from pessoas.adapters.redis_cache import RedisPessoaCache
from pessoas.settings import Settings


async def _close_client(client: redis.Redis) -> AsyncIterator[redis.Redis]:
    # Connections are made lazily by the client, so there is nothing to open, only to close.
    try:
        yield client
    finally:
        await client.aclose(close_connection_pool=True)


class RedisCache(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    # A blocking pool: a burst of requests beyond its size waits for a connection instead of failing
    # (redis-py's default pool raises MaxConnectionsError past its limit). The waits are generous
    # because under overload the event loop itself is late to read replies: short limits turn
    # queueing into refusals (docs/performance.md has the run that showed it). A Redis that is down
    # still fails at once, on the short connect timeout.
    connection_pool = providers.Singleton(
        redis.BlockingConnectionPool.from_url,
        settings.provided.redis_url,
        max_connections=settings.provided.redis_pool_max,
        timeout=20.0,
        socket_timeout=10.0,
        socket_connect_timeout=1.0,
    )
    client = providers.Singleton(redis.Redis, connection_pool=connection_pool)
    # Lifecycle only, for the same reason as PostgresStorage.pool_lifecycle.
    client_lifecycle = providers.Resource(_close_client, client)

    cache = providers.Singleton(RedisPessoaCache, client=client, prefix=settings.provided.redis_prefix)
