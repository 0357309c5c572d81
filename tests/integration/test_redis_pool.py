"""The service's Redis client: a burst past its pool's size waits for a connection, a full pool gives up
after its wait, and a connection lost while idle is replaced. Counted from Redis' side (CLIENT LIST),
never from the pool's insides."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as redis

from pessoas.container.redis import build_client
from pessoas.settings import Settings
from tests.integration.conftest import REDIS_URL

pytestmark = pytest.mark.integration


def _client(size: int, name: str) -> redis.Redis:
    # client_name (a query argument of the URL) marks this client's connections in CLIENT LIST.
    url = f"{REDIS_URL}?client_name={name}"
    return build_client(
        Settings(redis_url=url, database_url="postgresql://unused", amqp_url=None, redis_pool_max=size)
    )


async def _connections_named(observer: redis.Redis, name: str) -> int:
    return sum(1 for client in await observer.client_list() if client.get("name") == name)


async def test_a_burst_larger_than_the_pool_waits_for_connections_and_opens_no_more(
    redis_prefix: str, redis_client: redis.Redis
):
    name = f"pool-{uuid.uuid4().hex[:8]}"
    client = _client(size=4, name=name)
    try:
        await client.set(f"{redis_prefix}k", b"v")
        replies = await asyncio.gather(*(client.get(f"{redis_prefix}k") for _ in range(200)))
        assert replies == [b"v"] * 200
        assert 1 <= await _connections_named(redis_client, name) <= 4
    finally:
        await client.aclose(close_connection_pool=True)


async def test_a_full_pool_gives_up_after_its_wait_with_a_connection_error(redis_prefix: str):
    client = _client(size=1, name=f"full-{uuid.uuid4().hex[:8]}")
    pool = client.connection_pool
    try:
        held = await pool.get_connection()
        started = asyncio.get_running_loop().time()
        with pytest.raises(redis.ConnectionError):
            await client.ping()
        # The service's wait (container.redis): short, since a cache that does not answer is a miss.
        assert 1.5 <= asyncio.get_running_loop().time() - started < 5
        await pool.release(held)
        assert await client.ping() is True  # the connection given back serves again
    finally:
        await client.aclose(close_connection_pool=True)


async def test_a_cancelled_command_leaves_no_reply_for_the_next_one(redis_prefix: str):
    client = _client(size=1, name=f"cancel-{uuid.uuid4().hex[:8]}")
    try:
        await client.set(f"{redis_prefix}k", b"mine")
        blocked = asyncio.ensure_future(client.blpop([f"{redis_prefix}empty"], timeout=1))
        await asyncio.sleep(0.1)
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        await client.rpush(f"{redis_prefix}empty", b"late")  # what the cancelled BLPOP would have read
        assert await client.get(f"{redis_prefix}k") == b"mine"
        assert await client.lpop(f"{redis_prefix}empty") == b"late"
    finally:
        await client.aclose(close_connection_pool=True)


async def test_a_connection_closed_by_the_server_while_idle_is_replaced(
    redis_prefix: str, redis_client: redis.Redis
):
    # The service's own client (its retry included): one idle connection, killed by the server.
    client = _client(size=1, name=f"idle-{uuid.uuid4().hex[:8]}")
    try:
        own_id = await client.client_id()
        await redis_client.client_kill_filter(_id=own_id)
        await client.set(f"{redis_prefix}k", b"v")  # found dead, reconnected, sent again
        assert await client.get(f"{redis_prefix}k") == b"v"
    finally:
        await client.aclose(close_connection_pool=True)
