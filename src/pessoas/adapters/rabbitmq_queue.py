"""IndexQueue on RabbitMQ: the API announces committed pessoas to the worker in Dramatiq messages.

An announcement is not a promise: the pessoa is already committed in PostgreSQL, and one whose
announcement is lost (RabbitMQ down or restarted, the queue purged, a message dead-lettered) is
indexed by the worker's reconciler (:class:`pessoas.application.use_cases.ReconcileIndex`). So
the publisher asks RabbitMQ for as little as it can:

- the announcements of one short window share one message (:class:`GroupCommit`): RabbitMQ and
  the worker pay per message, far more than per id;
- messages are transient and published without publisher confirms: the broker neither writes
  them to disk nor answers each one, and a message lost that way costs search a reconciler pass;
- while RabbitMQ is unreachable, an announcement fails at once (for ``reconnect_interval`` after
  a failed connect) instead of waiting on a connect each.

aiormq is asyncio-native, so a publish never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence

import aiormq
import aiormq.abc
from pamqp.commands import Basic

from pessoas.adapters.rabbitmq_message import QueueNames, index_message, use_orjson_encoder
from pessoas.adapters.rabbitmq_nodes import NodeRotation, as_url_list
from pessoas.adapters.rabbitmq_topology import QueueType, declare_queues
from pessoas.application.group_commit import GroupCommit
from pessoas.domain.errors import StorageUnavailable

logger = logging.getLogger(__name__)


class RabbitmqIndexQueue:
    def __init__(
        self,
        amqp_url: str | Sequence[str],
        queue_name: str,
        *,
        queue_type: QueueType = "classic",
        window_ms: float = 25.0,
        batch_max: int = 1000,
        connect_timeout: float = 2.0,
        reconnect_interval: float = 1.0,
        # Told the size of every message published (metrics).
        on_published: Callable[[int], None] | None = None,
    ) -> None:
        use_orjson_encoder()
        self._on_published = on_published
        # Several URLs: the nodes of a cluster, any live one will do (rabbitmq_nodes).
        self._nodes = NodeRotation(as_url_list(amqp_url))
        self._queues = QueueNames.of(queue_name)
        self._queue_type = queue_type
        # An item is one announcement's ids: one future per announcement, not per id.
        self._batches: GroupCommit[Sequence[uuid.UUID], None] = GroupCommit(
            self._publish, window=window_ms / 1000, max_size=batch_max, size=len
        )
        self._batch_max = batch_max
        self._connect_timeout = connect_timeout
        self._reconnect_interval = reconnect_interval
        self._connection: aiormq.abc.AbstractConnection | None = None
        self._channel: aiormq.abc.AbstractChannel | None = None
        self._connect_lock: asyncio.Lock | None = None
        self._last_failed_connect = -float("inf")

    async def open(self) -> None:
        """Connects and declares the queues; a RabbitMQ down at start-up is left to later announcements."""
        try:
            await self._ready_channel(force=True)
        except StorageUnavailable:
            logger.warning("RabbitMQ unreachable at start-up; announcements will reconnect", exc_info=True)

    async def close(self) -> None:
        """Sends what is pending, then closes the connection."""
        await self._batches.flush()
        await self._drop_connection()

    async def announce(self, ids: Sequence[uuid.UUID]) -> None:
        if len(ids) <= self._batch_max:
            if ids:
                await self._batches.submit(ids)
            return
        # Larger than one message: whole chunks, since a message never splits an item.
        chunks = [ids[start : start + self._batch_max] for start in range(0, len(ids), self._batch_max)]
        await asyncio.gather(*(self._batches.submit(chunk) for chunk in chunks))

    async def _publish(self, announcements: list[Sequence[uuid.UUID]]) -> list[None]:
        ids = [pessoa_id for announced in announcements for pessoa_id in announced]
        body = index_message(ids, self._queues.canonical).encode()
        channel = await self._ready_channel()
        try:
            await channel.basic_publish(
                body,
                exchange="",
                routing_key=self._queues.canonical,
                # Transient (see the module's docstring).
                properties=Basic.Properties(delivery_mode=1, content_type="application/json"),
            )
        except (OSError, asyncio.CancelledError, aiormq.exceptions.AMQPError) as exc:
            # A closing connection cancels the publishes on it: a lost message, not a stop.
            task = asyncio.current_task()
            if isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling():
                raise
            await self._drop_connection(channel)
            raise StorageUnavailable(f"RabbitMQ did not take the announcement: {exc!r}") from exc
        if self._on_published is not None:
            self._on_published(len(ids))
        return [None] * len(announcements)

    async def _ready_channel(self, force: bool = False) -> aiormq.abc.AbstractChannel:
        channel = self._channel
        if channel is not None and not channel.is_closed:
            return channel
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:
            channel = self._channel
            if channel is not None and not channel.is_closed:
                return channel
            if not force and time.monotonic() - self._last_failed_connect < self._reconnect_interval:
                raise StorageUnavailable("RabbitMQ is unreachable (a connect failed moments ago)")
            await self._drop_connection()
            try:
                connection = await self._nodes.connect(self._connect_timeout)
                async with asyncio.timeout(self._connect_timeout):
                    try:
                        channel = await connection.channel(publisher_confirms=False)
                        await declare_queues(channel, self._queues.canonical, self._queue_type)
                    except BaseException:
                        self._nodes.passed_over()
                        await connection.close()
                        raise
            except (OSError, TimeoutError, aiormq.exceptions.AMQPError) as exc:
                self._last_failed_connect = time.monotonic()
                raise StorageUnavailable(f"RabbitMQ is unreachable: {exc!r}") from exc
            self._connection, self._channel = connection, channel
            return channel

    async def _drop_connection(self, channel: aiormq.abc.AbstractChannel | None = None) -> None:
        if channel is not None and channel is not self._channel:
            return  # another batch has already replaced it
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and not connection.is_closed:
            try:
                async with asyncio.timeout(self._connect_timeout):
                    await connection.close()
            except Exception:
                logger.debug("closing a RabbitMQ connection was not confirmed", exc_info=True)
