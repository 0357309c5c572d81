"""RedisPessoaCache: the cache contract, plus races across clients and the key layout."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as redis

from pessoas.adapters.redis_cache import RedisPessoaCache, tagged_prefix
from pessoas.container.redis import build_client
from pessoas.domain.errors import ReservationsLost, StorageUnavailable
from pessoas.settings import Settings
from tests.contracts.cache_contract import CacheContract, ReservationLossContract
from tests.contracts.pessoas_factory import make_pessoa
from tests.integration.conftest import REDIS_URL

pytestmark = pytest.mark.integration


class TestRedisCache(CacheContract, ReservationLossContract):
    pass  # the cache and fresh_cache fixtures come from tests/integration/conftest.py


async def test_one_apelido_reserved_from_many_clients_has_one_winner(redis_prefix: str):
    # Separate clients, so the reservations race over separate connections as they do between
    # two API instances, not just over one client's pool.
    clients = [redis.Redis.from_url(REDIS_URL) for _ in range(8)]
    try:
        caches = [RedisPessoaCache(client, redis_prefix) for client in clients]
        await caches[0].mark_ready()
        contenders = [make_pessoa(apelido="cobiçado") for _ in range(200)]
        results = await asyncio.gather(
            *(caches[i % len(caches)].reserve(pessoa) for i, pessoa in enumerate(contenders))
        )
        assert results.count(True) == 1
        winner = contenders[results.index(True)]
        for cache in caches:
            assert await cache.get(winner.id) == winner
        assert [await caches[0].get(p.id) for p in contenders].count(None) == len(contenders) - 1
    finally:
        for client in clients:
            await client.aclose()


async def test_a_retried_reservation_of_the_same_pessoa_succeeds(cache: RedisPessoaCache):
    # redis-py may resend a call whose reply was lost: that must not report the pessoa's own apelido taken.
    pessoa = make_pessoa()
    assert await cache.reserve(pessoa) is True
    assert await cache.reserve(pessoa) is True
    assert await cache.get(pessoa.id) == pessoa


async def test_keys_live_under_the_prefix_and_do_not_expire(
    cache: RedisPessoaCache, redis_client: redis.Redis, redis_prefix: str
):
    pessoa = make_pessoa(apelido="chave:com*glob?")
    await cache.reserve(pessoa)
    keys = sorted([k.decode() async for k in redis_client.scan_iter(match=f"{redis_prefix}*")])
    tagged = tagged_prefix(redis_prefix)
    assert tagged == f"{redis_prefix}{{{redis_prefix}}}"
    assert keys == [
        f"{tagged}apelido:chave:com*glob?",
        f"{tagged}pessoa:{pessoa.id}",
        f"{tagged}ready",
    ]
    for key in keys:
        assert await redis_client.ttl(key) == -1


async def test_a_pessoa_ttl_expires_the_pessoa_but_never_the_apelido(
    redis_client: redis.Redis, redis_prefix: str
):
    cache = RedisPessoaCache(redis_client, redis_prefix, pessoa_ttl_seconds=3600)
    await cache.mark_ready()
    pessoa = make_pessoa()
    await cache.reserve(pessoa)
    tagged = tagged_prefix(redis_prefix)
    assert 0 < await redis_client.ttl(f"{tagged}pessoa:{pessoa.id}") <= 3600
    assert await redis_client.ttl(f"{tagged}apelido:{pessoa.apelido}") == -1


async def test_restoring_does_not_overwrite_a_live_reservation(cache: RedisPessoaCache):
    pessoa = make_pessoa(apelido="vivo")
    await cache.reserve(pessoa)
    await cache.restore_apelidos(["vivo"])
    # The reservation still names its pessoa, so that pessoa can still release it.
    await cache.release(pessoa)
    assert await cache.reserve(make_pessoa(apelido="vivo")) is True


async def test_restoring_many_apelidos_in_chunks(cache: RedisPessoaCache):
    await cache.restore_apelidos(f"antigo{i}" for i in range(2500))
    assert await cache.reserve(make_pessoa(apelido="antigo0")) is False
    assert await cache.reserve(make_pessoa(apelido="antigo2499")) is False
    assert await cache.reserve(make_pessoa(apelido="antigo2500")) is True


async def test_a_client_decoding_responses_works_too(redis_prefix: str):
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        cache = RedisPessoaCache(client, redis_prefix)
        await cache.mark_ready()
        pessoa = make_pessoa(apelido="josé", stack=("C#", "ação"))
        assert await cache.reserve(pessoa) is True
        assert await cache.get(pessoa.id) == pessoa
    finally:
        await client.aclose()


async def test_reservations_survive_a_flushed_script_cache(
    cache: RedisPessoaCache, redis_client: redis.Redis
):
    # What a Redis restart does to EVALSHA: the script is loaded again, transparently.
    await redis_client.script_flush()
    assert await cache.reserve(make_pessoa()) is True


async def test_a_restart_that_empties_redis_refuses_reservations_until_restored(
    cache: RedisPessoaCache, redis_client: redis.Redis, redis_prefix: str
):
    held = make_pessoa(apelido="antes")
    assert await cache.reserve(held) is True
    # What a restart of a Redis that keeps nothing on disk leaves: no keys at all.
    keys = [key async for key in redis_client.scan_iter(match=f"{redis_prefix}*")]
    await redis_client.delete(*keys)
    with pytest.raises(ReservationsLost):
        await cache.reserve(make_pessoa(apelido="antes"))
    await cache.restore_apelidos(["antes"])
    await cache.mark_ready()
    assert await cache.reserve(make_pessoa(apelido="antes")) is False


async def test_an_unreachable_redis_is_storage_unavailable(redis_prefix: str):
    client = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        cache = RedisPessoaCache(client, redis_prefix)
        with pytest.raises(StorageUnavailable):
            await cache.reserve(make_pessoa())
        with pytest.raises(StorageUnavailable):
            await cache.get(make_pessoa().id)
    finally:
        await client.aclose()


async def test_every_key_of_a_reservation_is_in_one_cluster_slot(
    cache: RedisPessoaCache, redis_client: redis.Redis, redis_prefix: str
):
    # Redis Cluster runs a script only over keys of one slot. The keys the reserve script was
    # given are the ones Redis now holds; their slots are computed as a cluster computes them.
    from redis.crc import key_slot

    for apelido in ("simples", "{chaves}", "a}b{c", "}{", "ação"):
        await cache.reserve(make_pessoa(apelido=apelido))
    keys = [key async for key in redis_client.scan_iter(match=f"{redis_prefix}*")]
    assert len(keys) == 2 * 5 + 1  # apelido and pessoa of each, and the ready marker
    assert len({key_slot(key) for key in keys}) == 1
    # Without the tag they would spread over the slots, and the script would be refused.
    assert len({key_slot(key.replace(b"{", b"").replace(b"}", b"")) for key in keys}) > 1
    for prefix in ("", "a:b:"):
        tagged = tagged_prefix(prefix).encode()
        assert len({key_slot(tagged + suffix) for suffix in (b"apelido:a", b"pessoa:1", b"ready")}) == 1
    for braced in ("x{", "}", "{a}"):
        with pytest.raises(ValueError, match="braces"):
            tagged_prefix(braced)


async def test_waiting_for_a_replica_that_is_not_there_refuses_and_frees_the_apelido(
    redis_client: redis.Redis, redis_prefix: str
):
    # The local Redis has no replica: a reservation that must reach one cannot be promised.
    waiting = RedisPessoaCache(redis_client, redis_prefix, wait_replicas=1, wait_timeout_ms=100)
    await waiting.mark_ready()
    pessoa = make_pessoa(apelido="sem-réplica")
    with pytest.raises(StorageUnavailable, match="0 of 1"):
        await waiting.reserve(pessoa)
    assert await waiting.get(pessoa.id) is None
    # Freed again: without the wait, the same apelido is taken at once.
    assert await RedisPessoaCache(redis_client, redis_prefix).reserve(make_pessoa(apelido="sem-réplica"))


async def test_a_burst_on_a_cold_pool_is_served_while_the_event_loop_is_held(redis_prefix: str):
    # The service's own client: a burst opens dozens of connections at once, and an event loop
    # busy with other requests finishes their handshakes late. A loop held for 1.5 s (CI's
    # coverage-traced test process was that slow) must delay the burst, not refuse it.
    settings = Settings(
        redis_url=REDIS_URL, database_url="postgresql://unused", amqp_url=None, redis_prefix=redis_prefix
    )
    client = build_client(settings)
    try:
        cache = RedisPessoaCache(client, redis_prefix)
        await cache.mark_ready()
        await client.connection_pool.disconnect()  # cold: every command needs a new connection

        async def other_requests_work() -> None:
            await asyncio.sleep(0)  # let the burst start connecting first
            time.sleep(1.5)

        burst = [cache.reserve(make_pessoa(apelido=f"rajada{n}")) for n in range(150)]
        outcomes = await asyncio.gather(other_requests_work(), *burst, return_exceptions=True)
        assert outcomes[1:] == [True] * 150, {repr(o) for o in outcomes[1:] if o is not True}
    finally:
        await client.aclose(close_connection_pool=True)
