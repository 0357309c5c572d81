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
    # (20 s for a connection, 10 s for a reply) because under overload the event loop itself is
    # late to read replies: at twice the reference rates, 2 s limits turned queueing into
    # thousands of 503s. A Redis that is down still fails at once (connect timeout 1 s).
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
