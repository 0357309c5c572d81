"""RedisPessoaCache: the cache contract, plus what only the real Redis can show.

Redis is a cache here and nothing more: it holds copies of committed pessoas and the apelidos
they took, it may lose any of them, and every failure of it is StorageUnavailable (a miss to the
use cases), after which the adapter leaves Redis alone for a moment.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import pytest
import redis.asyncio as redis
from redis.asyncio.connection import Connection

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.near_cache import NearFirstCache
from pessoas.adapters.redis_cache import RedisPessoaCache, tagged_prefix
from pessoas.container.redis import build_client
from pessoas.domain.errors import StorageUnavailable
from pessoas.settings import Settings
from tests.contracts.cache_contract import CacheContract
from tests.contracts.pessoas_factory import make_pessoa
from tests.integration.conftest import REDIS_URL, forget_prefix, keys_under
from tests.integration.cuttable_proxy import CuttableProxy

pytestmark = pytest.mark.integration

CLOSED_PORT_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every connect is refused


class TestRedisCache(CacheContract):
    pass  # the cache fixture comes from tests/integration/conftest.py


def _service_client(url: str = REDIS_URL, **settings: object) -> redis.Redis:
    """The client the service builds (its pool, its waits, its retry)."""
    values: dict[str, object] = {"redis_url": url, "database_url": "postgresql://unused", **settings}
    return build_client(Settings(**values))  # type: ignore[arg-type]


async def test_what_one_instance_remembers_every_instance_reads(redis_prefix: str):
    # Separate clients, as two API processes have: the cache is shared through Redis itself.
    clients = [_service_client() for _ in range(2)]
    try:
        writer, reader = (RedisPessoaCache(client, redis_prefix) for client in clients)
        pessoas = [make_pessoa() for _ in range(20)]
        await writer.remember(pessoas)
        for pessoa in pessoas:
            assert await reader.get(pessoa.id) == pessoa
            assert await reader.holds_apelido(pessoa.apelido) is True
    finally:
        for client in clients:
            await client.aclose(close_connection_pool=True)


async def test_remembering_nothing_writes_nothing(
    cache: RedisPessoaCache, redis_client: redis.Redis, redis_prefix: str
):
    await cache.remember([])
    assert await keys_under(redis_client, redis_prefix) == []


async def test_a_redis_that_lost_everything_is_a_cache_that_holds_nothing(
    cache: RedisPessoaCache, redis_client: redis.Redis, redis_prefix: str
):
    pessoa = make_pessoa(apelido="esquecida")
    await cache.remember([pessoa])
    assert await cache.get(pessoa.id) == pessoa
    # What a restart of a Redis without persistence leaves (scoped to this test's keys).
    assert await forget_prefix(redis_client, redis_prefix) == 2
    assert await cache.get(pessoa.id) is None
    assert await cache.holds_apelido("esquecida") is False  # proves nothing: storage decides
    # Nothing to restore, no readiness to regain: it is simply remembered again.
    await cache.remember([pessoa])
    assert await cache.get(pessoa.id) == pessoa


async def test_keys_live_under_the_prefix_and_do_not_expire_by_default(
    cache: RedisPessoaCache, redis_client: redis.Redis, redis_prefix: str
):
    pessoa = make_pessoa(apelido="chave:com*glob?")
    await cache.remember([pessoa])
    keys = sorted([k.decode() for k in await keys_under(redis_client, redis_prefix)])
    tagged = tagged_prefix(redis_prefix)
    assert tagged == f"{redis_prefix}{{{redis_prefix}}}"
    assert keys == [f"{tagged}apelido:chave:com*glob?", f"{tagged}pessoa:{pessoa.id}"]
    for key in keys:
        assert await redis_client.ttl(key) == -1  # evicted by Redis's LRU policy, not expired


async def test_a_ttl_expires_the_pessoa_and_the_apelido_alike(redis_client: redis.Redis, redis_prefix: str):
    cache = RedisPessoaCache(redis_client, redis_prefix, pessoa_ttl_seconds=3600)
    pessoas = [make_pessoa() for _ in range(3)]
    await cache.remember(pessoas)
    tagged = tagged_prefix(redis_prefix)
    for pessoa in pessoas:
        assert 0 < await redis_client.ttl(f"{tagged}pessoa:{pessoa.id}") <= 3600
        assert 0 < await redis_client.ttl(f"{tagged}apelido:{pessoa.apelido}") <= 3600
        assert await cache.get(pessoa.id) == pessoa


async def test_the_ttl_setting_reaches_the_cache(redis_prefix: str, redis_client: redis.Redis):
    from pessoas.container.redis import RedisCache

    group = RedisCache(
        settings=Settings(
            redis_url=REDIS_URL,
            database_url="postgresql://unused",
            redis_prefix=redis_prefix,
            redis_ttl_seconds=60,
        )
    )
    try:
        pessoa = make_pessoa()
        await group.cache().remember([pessoa])
        assert 0 < await redis_client.ttl(f"{tagged_prefix(redis_prefix)}pessoa:{pessoa.id}") <= 60
    finally:
        await group.client().aclose(close_connection_pool=True)


async def test_a_client_decoding_responses_works_too(redis_prefix: str):
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        cache = RedisPessoaCache(client, redis_prefix)
        pessoa = make_pessoa(apelido="josé", stack=("C#", "ação"))
        await cache.remember([pessoa])
        assert await cache.get(pessoa.id) == pessoa
        assert await cache.holds_apelido("josé") is True
    finally:
        await client.aclose()


async def test_every_key_of_one_remember_is_in_one_cluster_slot(
    cache: RedisPessoaCache, redis_client: redis.Redis, redis_prefix: str
):
    # One MSET writes a whole transaction's pessoas: on Redis Cluster its keys must share a slot.
    # The keys Redis now holds are the ones MSET was given; their slots computed as a cluster does.
    from redis.crc import key_slot

    await cache.remember([make_pessoa(apelido=a) for a in ("simples", "{chaves}", "a}b{c", "}{", "ação")])
    keys = await keys_under(redis_client, redis_prefix)
    assert len(keys) == 2 * 5  # apelido and pessoa of each
    assert len({key_slot(key) for key in keys}) == 1
    # Without the tag they would spread over the slots, and the MSET would be refused.
    assert len({key_slot(key.replace(b"{", b"").replace(b"}", b"")) for key in keys}) > 1
    for prefix in ("", "a:b:"):
        tagged = tagged_prefix(prefix).encode()
        assert len({key_slot(tagged + suffix) for suffix in (b"apelido:a", b"pessoa:1")}) == 1
    for braced in ("x{", "}", "{a}"):
        with pytest.raises(ValueError, match="braces"):
            tagged_prefix(braced)


# --- an unreachable Redis ---


class _CountedConnection(Connection):
    """A Redis connection that counts its attempts to connect (class-wide, reset per test)."""

    attempts = 0

    async def _connect(self) -> None:
        type(self).attempts += 1
        await super()._connect()


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def unreachable_client():
    _CountedConnection.attempts = 0
    client = _service_client(CLOSED_PORT_URL)
    client.connection_pool.connection_class = _CountedConnection
    try:
        yield client
    finally:
        await client.aclose(close_connection_pool=True)


async def test_an_unreachable_redis_fails_every_method_quickly(unreachable_client, redis_prefix: str):
    pessoa = make_pessoa()
    calls = [
        lambda: RedisPessoaCache(unreachable_client, redis_prefix).get(pessoa.id),
        lambda: RedisPessoaCache(unreachable_client, redis_prefix).holds_apelido(pessoa.apelido),
        lambda: RedisPessoaCache(unreachable_client, redis_prefix).remember([pessoa]),
        lambda: RedisPessoaCache(unreachable_client, redis_prefix, pessoa_ttl_seconds=5).remember([pessoa]),
    ]
    for call in calls:
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            await call()
        assert time.monotonic() - started < 1.0  # a refused connect, not a wait
    assert _CountedConnection.attempts >= len(calls)  # each cache (no pause yet) tried Redis


async def test_after_a_connection_failure_redis_is_left_alone_for_the_pause(
    unreachable_client, redis_prefix: str
):
    clock = _Clock()
    cache = RedisPessoaCache(unreachable_client, redis_prefix, pause_after_failure=1.0, clock=clock)
    pessoa = make_pessoa()
    with pytest.raises(StorageUnavailable, match="unavailable"):
        await cache.get(pessoa.id)
    tried = _CountedConnection.attempts
    assert tried >= 1

    # Within the pause every method fails at once, without a connect attempt.
    clock.now += 0.9
    for call in (
        lambda: cache.get(pessoa.id),
        lambda: cache.holds_apelido(pessoa.apelido),
        lambda: cache.remember([pessoa]),
    ):
        with pytest.raises(StorageUnavailable, match="not tried again"):
            await call()
    assert _CountedConnection.attempts == tried

    # Once it is over, Redis is tried again (and, still unreachable, the pause starts again).
    clock.now += 0.2
    with pytest.raises(StorageUnavailable, match="unavailable"):
        await cache.holds_apelido(pessoa.apelido)
    assert _CountedConnection.attempts > tried
    again = _CountedConnection.attempts
    clock.now += 0.5
    with pytest.raises(StorageUnavailable, match="not tried again"):
        await cache.get(pessoa.id)
    assert _CountedConnection.attempts == again


async def test_a_redis_back_from_a_failure_serves_once_the_pause_is_over(redis_prefix: str):
    # The same cache object, before, during and after Redis goes away (a proxy cut in front of it).
    parts = urlsplit(REDIS_URL)
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    await proxy.start()
    client = _service_client(f"redis://127.0.0.1:{proxy.port}{parts.path}")
    clock = _Clock()
    try:
        cache = RedisPessoaCache(client, redis_prefix, pause_after_failure=1.0, clock=clock)
        pessoa = make_pessoa()
        await cache.remember([pessoa])
        await proxy.cut()
        with pytest.raises(StorageUnavailable):
            await cache.get(pessoa.id)
        await proxy.start()
        with pytest.raises(StorageUnavailable, match="not tried again"):
            await cache.get(pessoa.id)
        clock.now += 1.0
        assert await cache.get(pessoa.id) == pessoa
        assert await cache.holds_apelido(pessoa.apelido) is True
    finally:
        await client.aclose(close_connection_pool=True)
        await proxy.cut()


async def test_a_burst_on_a_cold_pool_is_served_while_the_event_loop_is_held(redis_prefix: str):
    # The service's own client: a burst opens dozens of connections at once, and an event loop
    # busy with other requests finishes their handshakes late. A loop held for well under the
    # client's connect wait (1 s) must delay the burst, not turn it into misses.
    client = _service_client(redis_prefix=redis_prefix)
    try:
        cache = RedisPessoaCache(client, redis_prefix)
        await cache.remember([make_pessoa(apelido="rajada0")])
        await client.connection_pool.disconnect()  # cold: every command needs a new connection

        async def other_requests_work() -> None:
            await asyncio.sleep(0)  # let the burst start connecting first
            time.sleep(0.3)

        burst = [cache.holds_apelido(f"rajada{n}") for n in range(150)]
        outcomes = await asyncio.gather(other_requests_work(), *burst, return_exceptions=True)
        assert outcomes[1:] == [True] + [False] * 149, {repr(o) for o in outcomes[1:] if o is not False}
    finally:
        await client.aclose(close_connection_pool=True)


class TestNearCacheBeforeRedis(CacheContract):
    """The near cache in front of the real Redis, as the composition root builds it."""

    @pytest.fixture
    def cache(self, cache: RedisPessoaCache) -> NearFirstCache:
        return NearFirstCache(near=InMemoryPessoaCache(max_pessoas=100), far=cache)


async def test_with_a_near_cache_another_instance_still_reads_through_redis(redis_prefix: str):
    clients = [_service_client() for _ in range(2)]
    try:
        writer, reader = (
            NearFirstCache(
                near=InMemoryPessoaCache(max_pessoas=100), far=RedisPessoaCache(client, redis_prefix)
            )
            for client in clients
        )
        pessoa = make_pessoa()
        await writer.remember([pessoa])
        assert await reader.get(pessoa.id) == pessoa
        assert await reader.holds_apelido(pessoa.apelido) is True
    finally:
        for client in clients:
            await client.aclose(close_connection_pool=True)
