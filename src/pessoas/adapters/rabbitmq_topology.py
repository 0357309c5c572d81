"""The RabbitMQ queues' arguments, declared identically by the publisher and the Dramatiq worker.

Their names come from :mod:`pessoas.adapters.rabbitmq_message`. RabbitMQ refuses
(PRECONDITION_FAILED) to re-declare a queue with other arguments, so the API's
aiormq publisher must declare exactly what dramatiq-kombu-broker's topology declares. Both sides
are built from this module: the publisher declares :func:`queue_declarations`, and the worker's
broker gets :func:`broker_topology`, whose arguments the integration tests compare.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiormq
from dramatiq.middleware import AsyncIO
from dramatiq_kombu_broker import ConnectionPooledKombuBroker, DefaultDramatiqTopology
from dramatiq_kombu_broker.topology import RabbitMQQueueArguments

from pessoas.adapters.rabbitmq_message import QueueNames, use_orjson_encoder
from pessoas.adapters.rabbitmq_nodes import as_url_list, connect_to_any_node
from pessoas.adapters.rabbitmq_retries import RetriesThatNeverDrop

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


@dataclasses.dataclass
class _TypedTopology(DefaultDramatiqTopology):  # type: ignore[misc]  # the library is untyped
    """Dramatiq's default topology, with :func:`type_arguments` added to every queue."""

    queue_type: QueueType = "classic"

    def _get_canonical_queue_arguments(self, queue_name: str, dlx: bool = True) -> RabbitMQQueueArguments:
        # Also the base of the delay queue's arguments (with dlx=False, then its own DLX added).
        arguments = super()._get_canonical_queue_arguments(queue_name, dlx)
        return arguments | type_arguments(self.queue_type, dead_letters=True)

    def _get_dead_letter_queue_arguments(self, queue_name: str) -> RabbitMQQueueArguments:
        arguments = super()._get_dead_letter_queue_arguments(queue_name)
        return arguments | type_arguments(self.queue_type, dead_letters=False)


def broker_topology(queue_type: QueueType = "classic") -> DefaultDramatiqTopology:
    return _TypedTopology(dead_letter_message_ttl=DEAD_LETTER_TTL, max_priority=None, queue_type=queue_type)


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
        # thread stalls up to a poll timeout per message (docs/performance.md). The rows are
        # committed before the ack, so acking asynchronously costs nothing but, at worst, a
        # redelivery the store skips.
        blocking_acknowledge=False,
        # An enqueue (a retry) waits for a lost connection to come back rather than fail the
        # message's processing: the original is acked only after its retry copy is confirmed.
        max_enqueue_attempts=None,
        topology=broker_topology(queue_type),
    )
