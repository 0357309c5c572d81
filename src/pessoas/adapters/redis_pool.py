"""A Redis connection pool that waits for a free connection past its size, at the cost of a counter.

redis-py offers two pools. Its plain pool raises ``MaxConnectionsError`` when a burst needs more
connections than its size, which would turn a burst into 503s. Its blocking pool waits instead,
but takes a condition, a timeout context and several observability hooks on every command, and
checks each connection it hands out for unread data with a non-blocking read, a system call.
That path is the largest item of redis-py's share of a request (docs/performance.md).

This pool keeps the plain pool's connections and bookkeeping and bounds them with a semaphore:
taking a free connection awaits nothing, a full pool waits up to ``timeout`` for a release. It
skips the unread-data check: redis-py closes a connection whenever reading a reply fails or is
cancelled, so a connection back in the pool never has a reply pending; and one that the server
closed while it sat idle is found when next used, which the client's retry on a connection error
covers (the composition root gives it one).
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
        connection: AbstractConnection | None = None
        try:
            try:
                connection = self._available_connections.pop()
            except IndexError:
                connection = self.make_connection()  # type: ignore[no-untyped-call]
            self._in_use_connections.add(connection)
            if not connection.is_connected:
                await connection.connect()
        except BaseException:
            if connection is None:
                self._slots.release()
            else:
                await self.release(connection)
            raise
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        self._in_use_connections.discard(connection)
        try:
            if connection.should_reconnect():  # type: ignore[no-untyped-call]
                await connection.disconnect()
        finally:
            # Even when closing it failed: the slot must come back, or the pool shrinks for good.
            self._available_connections.append(connection)
            self._slots.release()
