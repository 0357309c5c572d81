"""The RabbitMQ queues and their arguments: declared from one table by the publisher and the worker.

Their names come from :mod:`pessoas.adapters.rabbitmq_message`. RabbitMQ refuses
(PRECONDITION_FAILED) to re-declare a queue with other arguments, so the API's aiormq publisher,
``pessoas migrate`` and the Dramatiq worker's broker must all declare exactly the same queues.
:func:`queue_declarations` is that one table: the publisher and ``migrate`` declare it with
aiormq (:func:`declare_queues`), and the worker's broker declares it through
:class:`DeclaredTopology`, an implementation of dramatiq-kombu-broker's public
``RabbitMQTopology`` interface that declares each queue with kombu's public ``Queue.declare``.
The table gives the arguments Dramatiq's default topology gives (dead-letter and delay routing,
a dead-letter TTL), so queues an earlier version declared are declared again unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiormq
import kombu.exceptions
from dramatiq.common import dq_name, q_name, xq_name
from dramatiq.middleware import AsyncIO
from dramatiq_kombu_broker import ConnectionPooledKombuBroker, RabbitMQTopology
from dramatiq_kombu_broker.topology import QueueName
from kombu.entity import Queue

from pessoas.adapters.rabbitmq_message import QueueNames, use_orjson_encoder
from pessoas.adapters.rabbitmq_nodes import as_url_list, connect_to_any_node
from pessoas.adapters.rabbitmq_retries import RetriesThatNeverDrop

logger = logging.getLogger(__name__)

# Fixed here rather than taken from the library's ``dramatiq_dead_message_ttl`` environment
# variable, so that the API and the worker cannot disagree about the dead-letter queue's arguments.
DEAD_LETTER_TTL = dt.timedelta(days=7)

# An announcement is retried a bounded number of times (about 30 s with this backoff), then
# dead-lettered: its pessoas are committed already, and the reconciler indexes whatever a
# dead-lettered message held. A short backoff ceiling lets a backlog drain within seconds once
# PostgreSQL is back.
RETRY_MAX = 10
RETRY_MIN_BACKOFF_MS = 100
RETRY_MAX_BACKOFF_MS = 5_000


QueueType = Literal["classic", "quorum"]


@dataclass(frozen=True, slots=True)
class QueueDeclaration:
    name: str
    arguments: dict[str, Any]


def type_arguments(queue_type: QueueType, dead_letters: bool) -> dict[str, Any]:
    """The arguments the queue type adds to a queue's declaration, on both sides alike.

    ``classic`` adds nothing, so the single-box queues are declared exactly as before. ``quorum``
    replicates the queue on the cluster's nodes (Raft: a confirm means a majority has the
    message). A quorum queue dead-letters at most once by default, which would let a retry
    waiting in the delay queue vanish if its move back to the queue failed; ``at-least-once``
    (RabbitMQ 3.10+) keeps it until the target queue has confirmed it, and requires the
    ``reject-publish`` overflow on the dead-lettering queue.
    """
    if queue_type == "classic":
        return {}
    if queue_type != "quorum":
        raise ValueError(f"unknown queue type {queue_type!r}")
    arguments: dict[str, Any] = {"x-queue-type": "quorum"}
    if dead_letters:
        arguments |= {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
    return arguments


def queue_declarations(queue_name: str, queue_type: QueueType = "classic") -> list[QueueDeclaration]:
    """The queues Dramatiq's kombu broker declares for ``queue_name``, in its own order.

    The dead-letter and delay queues exist because Dramatiq's retries go through the delay queue,
    and the canonical queue names the dead-letter queue; all three are durable.
    """
    names = QueueNames.of(queue_name)
    dead_letters = type_arguments(queue_type, dead_letters=True)
    final = type_arguments(queue_type, dead_letters=False)
    return [
        QueueDeclaration(
            names.delay,
            {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": names.canonical, **dead_letters},
        ),
        QueueDeclaration(
            names.dead_letter, {"x-message-ttl": int(DEAD_LETTER_TTL.total_seconds() * 1000), **final}
        ),
        QueueDeclaration(
            names.canonical,
            {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": names.dead_letter, **dead_letters},
        ),
    ]


@dataclass(frozen=True)
class DeclaredTopology(RabbitMQTopology):  # type: ignore[misc]  # the library is untyped
    """What the worker's broker declares: :func:`queue_declarations`, through kombu.

    The broker asks for each of the three queues by its own name (``pessoas``, ``pessoas.DQ``,
    ``pessoas.XQ``); each is looked up in the table of its logical queue. Names are Dramatiq's.
    """

    queue_type: QueueType = "classic"
    #: No ceiling on a retry's delay: Dramatiq's backoff bounds it (RETRY_MAX_BACKOFF_MS).
    max_delay_time: dt.timedelta | None = None

    @classmethod
    def get_queue_name_tuple(cls, queue_name: str) -> QueueName:
        return QueueName(q_name(queue_name), dq_name(queue_name), xq_name(queue_name))

    @classmethod
    def get_canonical_queue_name(cls, queue_name: str) -> str:
        return q_name(queue_name)

    @classmethod
    def get_delay_queue_name(cls, queue_name: str) -> str:
        return dq_name(queue_name)

    @classmethod
    def get_dead_letter_queue_name(cls, queue_name: str) -> str:
        return xq_name(queue_name)

    def declare_canonical_queue(
        self, channel: Any, queue_name: str, *, ignore_different_topology: bool = False
    ) -> Queue:
        return self._declare(channel, queue_name, ignore_different_topology)

    def declare_delay_queue(
        self, channel: Any, queue_name: str, *, ignore_different_topology: bool = False
    ) -> Queue:
        return self._declare(channel, queue_name, ignore_different_topology)

    def declare_dead_letter_queue(
        self, channel: Any, queue_name: str, *, ignore_different_topology: bool = False
    ) -> Queue:
        return self._declare(channel, queue_name, ignore_different_topology)

    def _declare(self, channel: Any, queue_name: str, ignore_different_topology: bool) -> Queue:
        (declaration,) = (
            declared
            for declared in queue_declarations(q_name(queue_name), self.queue_type)
            if declared.name == queue_name
        )
        queue = Queue(  # type: ignore[no-untyped-call]  # kombu is untyped
            declaration.name,
            channel=channel,
            durable=True,
            auto_delete=False,
            queue_arguments=declaration.arguments,
        )
        try:
            queue.declare()  # type: ignore[no-untyped-call]
        except kombu.exceptions.ChannelError as exc:
            # The broker asks to go on (it declares again on each reconnection): the queue exists
            # with other arguments, which only a deployment that changed PESSOAS_QUEUE_TYPE causes.
            if not ignore_different_topology or "inequivalent arg" not in str(exc).lower():
                raise
            logger.error("queue %s exists with other arguments than these: %s", queue_name, exc)
        return queue


async def declare_queues(
    channel: aiormq.abc.AbstractChannel, queue_name: str, queue_type: QueueType = "classic"
) -> None:
    for declaration in queue_declarations(queue_name, queue_type):
        await channel.queue_declare(
            declaration.name, durable=True, auto_delete=False, arguments=declaration.arguments
        )


async def prepare_queues(
    amqp_urls: str | Sequence[str], queue_name: str, queue_type: QueueType = "classic"
) -> None:
    """Declares the queues (idempotent): what ``pessoas migrate`` runs."""
    connection = await connect_to_any_node(amqp_urls, per_node_timeout=10.0)
    try:
        channel = await connection.channel()
        await declare_queues(channel, queue_name, queue_type)
    finally:
        await connection.close()


def build_worker_broker(
    amqp_urls: str | Sequence[str], queue_name: str, queue_type: QueueType = "classic"
) -> ConnectionPooledKombuBroker:
    """The Dramatiq broker the worker consumes with: kombu transport, confirmed publishes (retries)."""
    use_orjson_encoder()
    return ConnectionPooledKombuBroker(
        middleware=[
            AsyncIO(),
            RetriesThatNeverDrop(
                max_retries=RETRY_MAX,
                min_backoff=RETRY_MIN_BACKOFF_MS,
                max_backoff=RETRY_MAX_BACKOFF_MS,
            ),
        ],
        default_queue_name=QueueNames.of(queue_name).canonical,
        # Several URLs: kombu's failover list, tried round-robin on each (re)connection.
        kombu_connection_options={"hostname": ";".join(as_url_list(amqp_urls)), "heartbeat": 30},
        confirm_delivery=True,
        # A blocking ack waits for the consumer thread's next poll, and with the shared
        # thread-safe connection it waits for the consumer's read lock; either way a worker
        # thread stalls up to a poll timeout per message (docs/performance-log.md). The rows are
        # committed before the ack, so acking asynchronously costs nothing but, at worst, a
        # redelivery the store skips.
        blocking_acknowledge=False,
        # An enqueue (a retry) waits for a lost connection to come back rather than fail the
        # message's processing: the original is acked only after its retry copy is confirmed.
        max_enqueue_attempts=None,
        topology=DeclaredTopology(queue_type),
    )
