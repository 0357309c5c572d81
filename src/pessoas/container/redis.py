"""The cache in Redis: one client (with its connection pool) per process, closed with the app.

Two ways to reach Redis: ``PESSOAS_REDIS_URL`` alone names the server; with
``PESSOAS_REDIS_SENTINELS`` the Sentinels name the current primary, asked again on every new
connection, so the process follows a failover without a restart (the URL then only gives the
database number and credentials; Sentinels with a password of their own are asked with
``PESSOAS_REDIS_SENTINEL_PASSWORD``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as redis
from dependency_injector import containers, providers
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.near_cache import NearFirstCache
from pessoas.adapters.redis_cache import RedisPessoaCache
from pessoas.adapters.redis_pool import WaitingConnectionPool
from pessoas.settings import Settings

# The cache is optional on every path: a call that fails or runs late is a miss, and PostgreSQL
# answers instead. So the waits are short (2 s for a free connection or a reply, 1 s to connect):
# long enough that an event loop late under overload rarely gives up on a reply that is there,
# short enough that an unreachable Redis costs a request little (and the adapter then stops
# trying it for a moment).
_POOL_WAIT = 2.0
_REPLY_WAIT = 2.0
_CONNECT_WAIT = 1.0


class _BlockingSentinelPool(SentinelConnectionPool, redis.BlockingConnectionPool):
    """Sentinel's pool (connections go to the primary the Sentinels name) that waits for a free
    connection past its size, like the direct pool, instead of raising."""


def parse_sentinels(sentinels: str) -> list[tuple[str, int]]:
    """``host:port[,host:port...]`` as (host, port) pairs."""
    found = []
    for entry in sentinels.split(","):
        if not entry.strip():
            continue
        host, _, port = entry.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"a Sentinel is host:port, not {entry.strip()!r}")
        found.append((host, int(port)))
    if not found:
        raise ValueError("PESSOAS_REDIS_SENTINELS names no Sentinel")
    return found


def build_client(settings: Settings) -> redis.Redis:
    url = settings.redis_url
    assert url is not None, "the Redis group is chosen only with a URL"
    if not settings.redis_sentinels:
        # A burst beyond the pool's size waits for a connection instead of failing (redis-py's
        # default pool raises MaxConnectionsError past its limit), at less cost per command than
        # redis-py's own blocking pool (adapters/redis_pool.py).
        pool = WaitingConnectionPool.from_url(
            url,
            max_connections=settings.redis_pool_max,
            timeout=_POOL_WAIT,
            socket_timeout=_REPLY_WAIT,
            socket_connect_timeout=_CONNECT_WAIT,
            # A connection that died while idle in the pool (Redis restarted, an idle timeout) is
            # found dead when used: it is reconnected and the command sent once more. Safe for
            # every command of the cache, which are idempotent. Connection errors only: a reply
            # late past its timeout is not sent again.
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
        )
        return redis.Redis(connection_pool=pool)
    from redis.connection import parse_url

    parsed: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
    credentials = {key: parsed[key] for key in ("db", "username", "password") if parsed.get(key) is not None}
    sentinel_kwargs: dict[str, Any] = {
        "socket_timeout": _CONNECT_WAIT,
        "socket_connect_timeout": _CONNECT_WAIT,
    }
    if settings.redis_sentinel_password is not None:
        sentinel_kwargs["password"] = settings.redis_sentinel_password.get_secret_value()
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        parse_sentinels(settings.redis_sentinels), sentinel_kwargs=sentinel_kwargs
    )
    client: redis.Redis = sentinel.master_for(
        settings.redis_sentinel_master,
        connection_pool_class=_BlockingSentinelPool,
        max_connections=settings.redis_pool_max,
        timeout=_POOL_WAIT,
        socket_timeout=_REPLY_WAIT,
        socket_connect_timeout=_CONNECT_WAIT,
        **credentials,
    )
    return client


async def _close_client(client: redis.Redis) -> AsyncIterator[redis.Redis]:
    # Connections are made lazily by the client, so there is nothing to open, only to close.
    try:
        yield client
    finally:
        await client.aclose(close_connection_pool=True)


def _near_or_shared(near_cache_max: int) -> str:
    return "near" if near_cache_max > 0 else "shared"


class RedisCache(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    client = providers.Singleton(build_client, settings)
    # Lifecycle only, for the same reason as PostgresStorage.pool_lifecycle.
    client_lifecycle = providers.Resource(_close_client, client)

    shared = providers.Singleton(
        RedisPessoaCache,
        client=client,
        prefix=settings.provided.redis_prefix,
        pessoa_ttl_seconds=settings.provided.redis_ttl_seconds,
    )
    # A read answered from the process's own memory costs no round trip (adapters/near_cache.py).
    cache = providers.Selector(
        providers.Callable(_near_or_shared, settings.provided.near_cache_max),
        near=providers.Singleton(
            NearFirstCache,
            near=providers.Singleton(InMemoryPessoaCache, max_pessoas=settings.provided.near_cache_max),
            far=shared,
        ),
        shared=shared,
    )
