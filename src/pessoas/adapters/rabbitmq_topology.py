"""The RabbitMQ queues' arguments, declared identically by the publisher and the Dramatiq worker.

Their names come from :mod:`pessoas.adapters.rabbitmq_message`. RabbitMQ refuses
(PRECONDITION_FAILED) to re-declare a queue with other arguments, so the API's
aiormq publisher must declare exactly what dramatiq-kombu-broker's topology declares. Both sides
are built from this module: the publisher declares :func:`queue_declarations`, and the worker's
broker gets :func:`broker_topology`, whose arguments the integration tests compare.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import aiormq
from dramatiq.middleware import AsyncIO, Retries
from dramatiq_kombu_broker import ConnectionPooledKombuBroker, DefaultDramatiqTopology

from pessoas.adapters.rabbitmq_message import QueueNames, use_orjson_encoder

# Fixed here rather than taken from the library's ``dramatiq_dead_message_ttl`` environment
# variable, so that the API and the worker cannot disagree about the dead-letter queue's arguments.
DEAD_LETTER_TTL = dt.timedelta(days=7)

# A 201 is a promise, so a message is never given up: no retry limit, and a short backoff ceiling
# so that the backlog drains within seconds once PostgreSQL is back.
RETRY_MIN_BACKOFF_MS = 100
RETRY_MAX_BACKOFF_MS = 5_000


@dataclass(frozen=True, slots=True)
class QueueDeclaration:
    name: str
    arguments: dict[str, Any]


def broker_topology() -> DefaultDramatiqTopology:
    return DefaultDramatiqTopology(dead_letter_message_ttl=DEAD_LETTER_TTL, max_priority=None)


def queue_declarations(queue_name: str) -> list[QueueDeclaration]:
    """The queues Dramatiq's kombu broker declares for ``queue_name``, in its own order.

    The dead-letter and delay queues exist because Dramatiq's retries go through the delay queue,
    and the canonical queue names the dead-letter queue; all three are durable.
    """
    names = QueueNames.of(queue_name)
    return [
        QueueDeclaration(
            names.delay, {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": names.canonical}
        ),
        QueueDeclaration(names.dead_letter, {"x-message-ttl": int(DEAD_LETTER_TTL.total_seconds() * 1000)}),
        QueueDeclaration(
            names.canonical, {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": names.dead_letter}
        ),
    ]


async def declare_queues(channel: aiormq.abc.AbstractChannel, queue_name: str) -> None:
    for declaration in queue_declarations(queue_name):
        await channel.queue_declare(
            declaration.name, durable=True, auto_delete=False, arguments=declaration.arguments
        )


async def prepare_queues(amqp_url: str, queue_name: str) -> None:
    """Declares the queues (idempotent): what ``pessoas migrate`` runs."""
    connection = await aiormq.connect(amqp_url)
    try:
        channel = await connection.channel()
        await declare_queues(channel, queue_name)
    finally:
        await connection.close()


def build_worker_broker(amqp_url: str, queue_name: str) -> ConnectionPooledKombuBroker:
    """The Dramatiq broker the worker consumes with: kombu transport, confirmed publishes (retries)."""
    use_orjson_encoder()
    return ConnectionPooledKombuBroker(
        middleware=[
            AsyncIO(),
            Retries(
                max_retries=None,  # type: ignore[arg-type]
                min_backoff=RETRY_MIN_BACKOFF_MS,
                max_backoff=RETRY_MAX_BACKOFF_MS,
            ),
        ],
        default_queue_name=QueueNames.of(queue_name).canonical,
        kombu_connection_options={"hostname": amqp_url, "heartbeat": 30},
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
        topology=broker_topology(),
    )
