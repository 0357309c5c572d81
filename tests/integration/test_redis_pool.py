"""The Redis pool of the service: waits past its size, never hands out a connection with a reply pending."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis

from pessoas.adapters.redis_pool import WaitingConnectionPool
from pessoas.container.redis import build_client
from pessoas.settings import Settings
from tests.integration.conftest import REDIS_URL

pytestmark = pytest.mark.integration


def _client(size: int, wait: float = 20.0) -> redis.Redis:
    pool = WaitingConnectionPool.from_url(REDIS_URL, max_connections=size, timeout=wait, socket_timeout=10)
    return redis.Redis(connection_pool=pool)


async def test_a_burst_larger_than_the_pool_waits_for_connections_and_opens_no_more(redis_prefix: str):
    client = _client(size=4)
    try:
        await client.set(f"{redis_prefix}k", b"v")
        replies = await asyncio.gather(*(client.get(f"{redis_prefix}k") for _ in range(200)))
        assert replies == [b"v"] * 200
        pool = client.connection_pool
        assert len(pool._available_connections) + len(pool._in_use_connections) <= 4
        assert not pool._in_use_connections
    finally:
        await client.aclose(close_connection_pool=True)


async def test_a_full_pool_gives_up_after_its_wait_with_a_connection_error():
    client = _client(size=1, wait=0.2)
    pool = client.connection_pool
    try:
        held = await pool.get_connection()
        with pytest.raises(redis.ConnectionError):
            await client.ping()
        await pool.release(held)
        assert await client.ping() is True  # the slot given back serves again
    finally:
        await client.aclose(close_connection_pool=True)


async def test_a_cancelled_command_leaves_no_reply_for_the_next_one(redis_prefix: str):
    client = _client(size=1)
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
    client = build_client(
        Settings(redis_url=REDIS_URL, database_url="postgresql://unused", amqp_url=None, redis_pool_max=1)
    )
    try:
        own_id = await client.client_id()
        await redis_client.client_kill_filter(_id=own_id)
        await client.set(f"{redis_prefix}k", b"v")  # found dead, reconnected, sent again
        assert await client.get(f"{redis_prefix}k") == b"v"
    finally:
        await client.aclose(close_connection_pool=True)
