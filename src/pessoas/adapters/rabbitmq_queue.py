"""PersistenceQueue on RabbitMQ: confirmed, persistent Dramatiq messages, published with group commit.

Why group commit: a publisher confirm costs RabbitMQ an fsync-backed round trip, so one message per
pessoa at the reference load would be the bottleneck. Instead, the ``put`` calls arriving within a
short window share one message carrying a list of pessoas (:mod:`pessoas.adapters.rabbitmq_message`),
and every caller is released when that one message is confirmed
(:class:`pessoas.application.group_commit.GroupCommit`: the batch leaves when the window closes or
when it is full, whichever comes first).

Why aiormq: it is asyncio-native, so publishing and waiting for confirms never blocks the event
loop, and many batches can be in flight on one channel at once (confirms are matched by delivery
tag), with no thread pool in between.

Why a deadline from the reservation: after the cache loses the apelido reservations, the restore
must know when no publish of a pessoa reserved before the loss can still reach a queue (the
fence of :mod:`pessoas.application.drain_proof`). Every publish is therefore confirmed, or given
up with its connection closed, within ``publish_deadline`` plus ``close_timeout`` of the moment
its creation asked for the reservation; the restore waits that long before it trusts the
broker's counts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

import aiormq
import aiormq.abc
from pamqp.commands import Basic

from pessoas.adapters.rabbitmq_management import ManagementApi
from pessoas.adapters.rabbitmq_message import QueueNames, batch_message, use_orjson_encoder
from pessoas.adapters.rabbitmq_nodes import NodeRotation, as_url_list
from pessoas.adapters.rabbitmq_topology import QueueType, declare_queues
from pessoas.application.drain_proof import DrainProof
from pessoas.application.group_commit import GroupCommit
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


# The least time between two reads of the management API (its figures change less often).
_ROUND_PAUSE = 1.0


class _Definitely(Exception):
    """Internal: this attempt certainly left nothing in the queue."""


class RabbitmqPersistenceQueue:
    def __init__(
        self,
        amqp_url: str | Sequence[str],
        queue_name: str,
        *,
        queue_type: QueueType = "classic",
        window_ms: float = 2.0,
        batch_max: int = 256,
        # From the reservation to the confirm. Generous: under overload a confirm arrives late
        # because the loop is late, and a publish given up after sending is a 503 for a pessoa
        # that may still be stored (the measurement behind this default is in
        # docs/performance.md). The restore after a cache loss waits this long, plus
        # close_timeout, before it reads the broker's counts.
        publish_deadline: float = 30.0,
        close_timeout: float = 2.0,
        connect_timeout: float = 2.0,
        reconnect_interval: float = 0.2,
        # The broker's own counts (management API), which the restore's drain check needs;
        # without it, wait_until_stored refuses (it fails closed).
        management: ManagementApi | None = None,
        # How old a count of the management API may be (two statistics intervals).
        stats_max_age: float = 10.0,
        # How long wait_until_stored goes on, beyond its shortest possible run, before it
        # reports that the queues do not drain.
        drain_patience: float = 60.0,
        # Told the size and the confirm latency of every confirmed message (metrics).
        on_confirmed: Callable[[int, float], None] | None = None,
    ) -> None:
        use_orjson_encoder()
        self._on_confirmed = on_confirmed
        # Several URLs: the nodes of a cluster, any live one will do (rabbitmq_nodes).
        self._nodes = NodeRotation(as_url_list(amqp_url))
        self._queues = QueueNames.of(queue_name)
        self._queue_type = queue_type
        self._batches: GroupCommit[tuple[Pessoa, float]] = GroupCommit(
            self._publish, window=window_ms / 1000, max_size=batch_max
        )
        self._publish_deadline = publish_deadline
        self._close_timeout = close_timeout
        self._management = management
        self._stats_max_age = stats_max_age
        self._drain_patience = drain_patience
        self._connect_timeout = connect_timeout
        self._reconnect_interval = reconnect_interval

        self._connection: aiormq.abc.AbstractConnection | None = None
        self._channel: aiormq.abc.AbstractChannel | None = None
        # The channel of waiting()'s passive declares, kept between calls.
        self._probe_channel: aiormq.abc.AbstractChannel | None = None
        self._connect_lock: asyncio.Lock | None = None
        self._last_failed_connect = -float("inf")
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
        await self._batches.flush()
        self._closed = True
        await self._drop_connection()

    # -- PersistenceQueue --------------------------------------------------------------------

    async def put(self, pessoa: Pessoa, since: float | None = None) -> None:
        if self._closed:
            raise StorageUnavailable("the persistence queue is closed")
        # A caller cancelled (client gone) stops waiting; the publish its batch shares goes on.
        await self._batches.submit((pessoa, time.monotonic() if since is None else since))

    @property
    def fence_delay(self) -> float:
        """How long after a moment every publish reserved before it is confirmed or cannot land."""
        return self._publish_deadline + self._close_timeout

    async def wait_until_stored(self) -> None:
        """Returns once RabbitMQ's own counts prove that every pessoa put before the call is stored.

        First every publish that may have begun before the call must be settled (the fence: the
        publish deadline plus the time to close a connection given up); then the management
        API's counts of the queue and its delay queue, ready and unacknowledged alike, must
        prove them drained (:class:`pessoas.application.drain_proof.DrainProof`). Raises
        :class:`StorageUnavailable` when the management API cannot be read (the restore then
        stays incomplete: it fails closed) or when the queues do not drain in time.
        """
        if self._management is None:
            raise StorageUnavailable("no RabbitMQ management API to read the queues' counts from")
        now = time.monotonic()
        fence = now + self.fence_delay
        proof = DrainProof(fence=fence, max_age=self._stats_max_age)
        give_up = fence + 4 * self._stats_max_age + self._drain_patience
        pause = 0.0  # the first round at once: an unreachable API is reported without delay
        while True:
            now = time.monotonic()
            await asyncio.sleep(max(proof.next_read_at(now) - now, pause))
            # After a round that starts the proof over, not a storm of reads.
            pause = _ROUND_PAUSE
            read = await self._management.read_round()
            if proof.add(read):
                return
            if time.monotonic() >= give_up:
                raise StorageUnavailable(
                    f"RabbitMQ's queues did not drain: {read.waiting} messages wait for the worker"
                    if read.waiting
                    else "RabbitMQ's queues did not stay drained long enough to prove it"
                )

    async def waiting(self) -> int:
        """Messages ready for the worker in the queue and its delay queue (unacked ones not counted).

        On a channel of its own: a passive declare of a missing queue closes its channel, which
        must not be the publishing one. That channel is kept between calls (the readiness loop
        asks every second, and opening and closing a channel costs two more round trips each
        time) and replaced once it is closed. Reconnects first, so it also tells whether a put
        would work.
        """
        await self._ready_channel()
        connection = self._connection
        if connection is None:
            raise StorageUnavailable("RabbitMQ connection lost while checking the queues")
        try:
            channel = self._probe_channel
            if channel is None or channel.is_closed or channel.connection is not connection:
                channel = self._probe_channel = await connection.channel()
            waiting = 0
            for name in (self._queues.canonical, self._queues.delay):
                declared = await channel.queue_declare(name, passive=True)
                waiting += declared.message_count or 0
        except (OSError, aiormq.exceptions.AMQPError) as exc:
            self._probe_channel = None
            raise StorageUnavailable(f"cannot read RabbitMQ's queues: {exc!r}") from exc
        return waiting

    # -- publishing ------------------------------------------------------------------------

    async def _publish(self, items: list[tuple[Pessoa, float]]) -> None:
        """Publishes one message until RabbitMQ confirms it, republishing after a lost connection.

        A republish reuses the message id and body: if the lost attempt did reach the queue, the
        worker stores the same ids twice, which the store skips. ``maybe_queued`` records whether
        any attempt may have left a copy, which decides which error the callers get. The
        deadline is the earliest reservation's plus ``publish_deadline``: nothing is sent after
        it, and a publish still unconfirmed then has its connection closed (below).
        """
        pessoas = [pessoa for pessoa, _ in items]
        message = batch_message(pessoas, self._queues.canonical)
        message_id = message.message_id
        body = message.encode()
        properties = Basic.Properties(
            delivery_mode=2,
            # No content_encoding: py-amqp would then hand the worker a str, and Dramatiq's
            # decoder expects the raw bytes.
            content_type="application/json",
            message_id=message_id,
        )
        started = time.monotonic()
        deadline = min(since for _, since in items) + self._publish_deadline
        maybe_queued = False
        last_error: BaseException | None = TimeoutError("the publish deadline passed before publishing")
        while time.monotonic() < deadline:
            try:
                channel = await self._ready_channel()
            except StorageUnavailable as exc:
                if not maybe_queued:
                    raise
                last_error = exc
            else:
                if time.monotonic() >= deadline:
                    break  # connected too late: nothing may be sent after the deadline
                try:
                    await self._publish_once(channel, body, properties, deadline)
                    if self._on_confirmed is not None:
                        self._on_confirmed(len(pessoas), time.monotonic() - started)
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
                    # A confirm timed out at the deadline, among others. Closing the connection
                    # (and waiting for RabbitMQ to confirm the close) is what guarantees that the
                    # frame sent cannot be routed after the restore's fence.
                    maybe_queued = True
                    last_error = exc
                    await self._drop_connection(channel)
            if time.monotonic() + self._reconnect_interval >= deadline:
                break
            await asyncio.sleep(self._reconnect_interval)
        # A batch that waited past its deadline before its first attempt was never sent.
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
                routing_key=self._queues.canonical,
                properties=properties,
                mandatory=True,
                timeout=max(deadline - time.monotonic(), 0.001),
            )
        except aiormq.exceptions.PublishError as exc:
            # Returned as unroutable (the queue is gone): certainly not queued. Declaring the
            # queues again lets the next attempt through; other batches on the channel go on.
            try:
                await declare_queues(channel, self._queues.canonical, self._queue_type)
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
                # Bounded: the restore's fence counts on this close being over by then.
                async with asyncio.timeout(self._close_timeout):
                    await connection.close()
            except Exception:
                logger.warning("closing a RabbitMQ connection was not confirmed", exc_info=True)
