"""PersistenceQueue on RabbitMQ: confirmed, persistent Dramatiq messages, published with group commit.

Why group commit: a publisher confirm costs RabbitMQ an fsync-backed round trip, so one message per
pessoa at ~600 creations/s would be the bottleneck. Instead, the ``put`` calls arriving within a
short window share one message carrying a list of pessoas, and every caller is released when that
one message is confirmed. The first ``put`` of a batch opens the window; the batch leaves when the
window closes or when it is full, whichever comes first.

Why aiormq: it is asyncio-native, so publishing and waiting for confirms never blocks the event
loop, and many batches can be in flight on one channel at once (confirms are matched by delivery
tag), with no thread pool in between.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

import aiormq
import aiormq.abc
import orjson
from dramatiq.common import dq_name as dramatiq_dq_name
from pamqp.commands import Basic

from pessoas.adapters.pessoa_json import pessoa_to_json
from pessoas.adapters.rabbitmq_nodes import NodeRotation, as_url_list
from pessoas.adapters.rabbitmq_topology import STORE_ACTOR_NAME, QueueType, canonical_name, declare_queues
from pessoas.domain.errors import StorageUnavailable, StorageUncertain
from pessoas.domain.model import Pessoa

logger = logging.getLogger(__name__)


class PublishNotConfirmed(StorageUncertain):
    """A message was handed to RabbitMQ but its confirm never came: the pessoas may or may not be stored.

    Deliberately not :class:`StorageUnavailable`: the caller must keep the apelido reserved,
    since the worker may still store the pessoa.
    """


def _being_cancelled() -> bool:
    """True when the running task itself was asked to stop (not a future cancelled under it)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class _Definitely(Exception):
    """Internal: this attempt certainly left nothing in the queue."""


_Batch = list[tuple[Pessoa, "asyncio.Future[None]"]]


class RabbitmqPersistenceQueue:
    def __init__(
        self,
        amqp_url: str | Sequence[str],
        queue_name: str,
        *,
        queue_type: QueueType = "classic",
        window_ms: float = 2.0,
        batch_max: int = 256,
        # Generous: under overload a confirm arrives late because the loop is late, and a publish
        # given up after sending is a 503 for a pessoa that may still be stored. 5 s cost ~2,200
        # such answers at twice the reference rates; 30 s, none (the load tool waits 60 s).
        confirm_timeout: float = 30.0,
        connect_timeout: float = 2.0,
        reconnect_interval: float = 0.2,
    ) -> None:
        # Several URLs: the nodes of a cluster, any live one will do (rabbitmq_nodes).
        self._nodes = NodeRotation(as_url_list(amqp_url))
        self._queue_name = canonical_name(queue_name)
        self._queue_type = queue_type
        self._window = max(window_ms, 0.0) / 1000
        self._batch_max = max(batch_max, 1)
        self._confirm_timeout = confirm_timeout
        self._connect_timeout = connect_timeout
        self._reconnect_interval = reconnect_interval

        self._connection: aiormq.abc.AbstractConnection | None = None
        self._channel: aiormq.abc.AbstractChannel | None = None
        self._connect_lock: asyncio.Lock | None = None
        self._last_failed_connect = -float("inf")

        self._pending: _Batch = []
        self._flush_handle: asyncio.TimerHandle | asyncio.Handle | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Connects and declares the queues; a RabbitMQ down at startup is left to later puts."""
        self._closed = False
        try:
            await self._ready_channel(force=True)
        except StorageUnavailable:
            logger.warning("RabbitMQ unreachable at startup; publishes will reconnect", exc_info=True)

    async def close(self) -> None:
        """Sends what is pending, waits for its confirms, then closes the connection."""
        self._flush_now()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        self._closed = True
        await self._drop_connection()

    # -- PersistenceQueue --------------------------------------------------------------------

    async def put(self, pessoa: Pessoa) -> None:
        if self._closed:
            raise StorageUnavailable("the persistence queue is closed")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append((pessoa, done))
        if len(self._pending) >= self._batch_max:
            self._flush_now()
        elif self._flush_handle is None:
            # Even with a zero window, waiting for the next loop iteration lets the puts that are
            # already runnable join this message.
            if self._window > 0:
                self._flush_handle = loop.call_later(self._window, self._flush_now)
            else:
                self._flush_handle = loop.call_soon(self._flush_now)
        # The publish itself runs in its own task: a caller cancelled (client gone) must not
        # cancel the publish that other callers share.
        await asyncio.shield(done)

    async def wait_until_stored(self, settle: float = 2.0, give_up_after: float = 60.0) -> None:
        """Returns once RabbitMQ has held no message for the worker for ``settle`` seconds.

        The queue and its delay queue (where retries wait) must both stay empty for the whole
        settle period, which is far longer than the worker needs to commit the batch it holds
        unacked (RabbitMQ does not count unacked messages in a passive declare). The residual
        risk, a worker stuck inside one transaction for longer than that, is documented in
        docs/faults.md.
        """
        self._flush_now()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        names = [self._queue_name, dramatiq_dq_name(self._queue_name)]
        deadline = time.monotonic() + give_up_after
        quiet_since: float | None = None
        while True:
            await self._ready_channel()
            connection = self._connection
            if connection is None:
                raise StorageUnavailable("RabbitMQ connection lost while checking the queues")
            try:
                channel = await connection.channel()
                try:
                    waiting = 0
                    for name in names:
                        declared = await channel.queue_declare(name, passive=True)
                        waiting += declared.message_count or 0
                finally:
                    await channel.close()
            except (OSError, aiormq.exceptions.AMQPError) as exc:
                raise StorageUnavailable(f"cannot read RabbitMQ's queues: {exc!r}") from exc
            now = time.monotonic()
            if waiting:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= settle:
                return
            if now >= deadline:
                raise StorageUnavailable(f"{waiting} messages still wait for the worker")
            await asyncio.sleep(0.1)

    # -- batching ----------------------------------------------------------------------------

    def _flush_now(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._publish_batch(batch))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _publish_batch(self, batch: _Batch) -> None:
        try:
            await self._publish([pessoa for pessoa, _ in batch])
        except BaseException as exc:
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    def _encode(self, pessoas: list[Pessoa], message_id: str) -> bytes:
        # The shape of ``dramatiq.Message``: the worker decodes it with Dramatiq's JSON encoder.
        message: dict[str, Any] = {
            "queue_name": self._queue_name,
            "actor_name": STORE_ACTOR_NAME,
            "args": [[pessoa_to_json(pessoa) for pessoa in pessoas]],
            "kwargs": {},
            "options": {},
            "message_id": message_id,
            "message_timestamp": int(time.time() * 1000),
        }
        return orjson.dumps(message)

    async def _publish(self, pessoas: list[Pessoa]) -> None:
        """Publishes one message until RabbitMQ confirms it, republishing after a lost connection.

        A republish reuses the message id and body: if the lost attempt did reach the queue, the
        worker stores the same ids twice, which the store skips. ``maybe_queued`` records whether
        any attempt may have left a copy, which decides which error the callers get.
        """
        message_id = str(uuid.uuid4())
        body = self._encode(pessoas, message_id)
        properties = Basic.Properties(
            delivery_mode=2,
            # No content_encoding: py-amqp would then hand the worker a str, and Dramatiq's
            # decoder expects the raw bytes.
            content_type="application/json",
            message_id=message_id,
        )
        deadline = time.monotonic() + self._confirm_timeout
        maybe_queued = False
        last_error: BaseException | None = None
        while True:
            try:
                channel = await self._ready_channel()
            except StorageUnavailable as exc:
                if not maybe_queued:
                    raise
                last_error = exc
            else:
                try:
                    await self._publish_once(channel, body, properties, deadline)
                    return
                except _Definitely as exc:
                    last_error = exc.__cause__
                except asyncio.CancelledError as exc:
                    if _being_cancelled():
                        raise
                    # aiormq cancels the futures of a publish in progress when its connection
                    # closes (RabbitMQ stopping, say): for us that is a lost connection, not a
                    # cancellation, and the message may have reached the queue.
                    maybe_queued = True
                    last_error = ConnectionError("the connection closed during a publish")
                    last_error.__cause__ = exc
                    await self._drop_connection(channel)
                except Exception as exc:
                    maybe_queued = True
                    last_error = exc
                    await self._drop_connection(channel)
            if time.monotonic() + self._reconnect_interval >= deadline:
                break
            await asyncio.sleep(self._reconnect_interval)
        if maybe_queued:
            raise PublishNotConfirmed(
                f"message {message_id} with {len(pessoas)} pessoas was sent but not confirmed"
            ) from last_error
        raise StorageUnavailable(f"RabbitMQ did not take message {message_id}") from last_error

    async def _publish_once(
        self,
        channel: aiormq.abc.AbstractChannel,
        body: bytes,
        properties: Basic.Properties,
        deadline: float,
    ) -> None:
        try:
            confirmation = await channel.basic_publish(
                body,
                exchange="",
                routing_key=self._queue_name,
                properties=properties,
                mandatory=True,
                timeout=max(deadline - time.monotonic(), 0.001),
            )
        except aiormq.exceptions.PublishError as exc:
            # Returned as unroutable (the queue is gone): certainly not queued. Declaring the
            # queues again lets the next attempt through; other batches on the channel go on.
            try:
                await declare_queues(channel, self._queue_name, self._queue_type)
            except Exception:
                await self._drop_connection(channel)
            raise _Definitely() from exc
        if isinstance(confirmation, Basic.Ack):
            return
        # A nack means RabbitMQ did not take the message.
        raise _Definitely() from RuntimeError(f"RabbitMQ answered {confirmation!r}")

    # -- connection --------------------------------------------------------------------------

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
            # While RabbitMQ is down, fail fast instead of letting every batch wait on a connect.
            if not force and time.monotonic() - self._last_failed_connect < self._reconnect_interval:
                raise StorageUnavailable("RabbitMQ is unreachable (recent connect failed)")
            await self._drop_connection()
            try:
                connection = await self._nodes.connect(self._connect_timeout)
                async with asyncio.timeout(self._connect_timeout):
                    try:
                        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
                        await declare_queues(channel, self._queue_name, self._queue_type)
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
                await connection.close()
            except Exception:
                logger.debug("closing a broken RabbitMQ connection failed", exc_info=True)
