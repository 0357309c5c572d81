"""A Redis connection pool that waits for a free connection past its size: redis-py's plain pool, bounded.

It stands in for redis-py's ``BlockingConnectionPool``, which also waits rather than raise
(redis-py's plain pool raises ``MaxConnectionsError`` past its size, which would turn a burst
into 503s) but costs more client CPU per command: a condition and a timeout context on every
command, and a check of each connection it hands out for unread data, a non-blocking read and
so a system call. ``bench/probes/redis_client.py`` measures the three pools side by side
(client CPU per command); this one costs clearly less than the blocking pool, which is why it
stays. Redis commands are the largest item of an API request's client-side CPU.

It uses only redis-py's public pool methods: a semaphore of the pool's size bounds them, so the
plain pool never reaches its limit; a free slot is taken without suspending, a full pool waits
up to ``timeout`` for a release. It takes a connection with ``get_available_connection`` and
connects it if needed, skipping the unread-data check: redis-py closes a connection whenever
reading a reply fails or is cancelled, so a connection back in the pool never has a reply
pending; and one the server closed while it sat idle is found when next used, which the
client's retry on a connection error covers (the composition root gives it one).
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as redis
from redis.asyncio.connection import AbstractConnection


class WaitingConnectionPool(redis.ConnectionPool):
    def __init__(self, *, timeout: float = 20.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._wait = timeout
        self._slots = asyncio.Semaphore(self.max_connections)

    async def get_connection(self, *_args: Any, **_options: Any) -> AbstractConnection:
        if self._slots.locked():
            try:
                async with asyncio.timeout(self._wait):
                    await self._slots.acquire()
            except TimeoutError:
                raise redis.ConnectionError("no Redis connection free within the pool's wait") from None
        else:
            await self._slots.acquire()  # a free slot: returns without suspending
        try:
            connection: AbstractConnection = self.get_available_connection()  # type: ignore[no-untyped-call]
        except BaseException:
            self._slots.release()
            raise
        try:
            if not connection.is_connected:
                await connection.connect()  # type: ignore[no-untyped-call]
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        try:
            await super().release(connection)
        finally:
            # Even when closing it failed: the slot must come back, or the pool shrinks for good.
            self._slots.release()
