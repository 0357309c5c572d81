"""The RabbitMQ queue group: the API's announcement publisher and the worker's Dramatiq broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from dependency_injector import containers, providers

from pessoas.adapters.memory_setup import nothing_to_prepare
from pessoas.adapters.prometheus_metrics import observe_announcement
from pessoas.adapters.rabbitmq_message import (
    INDEX_ACTOR_NAME,
    QUEUED_PESSOAS_ACTOR_NAME,
    QueueNames,
    ids_of,
    pessoas_of,
)
from pessoas.adapters.rabbitmq_nodes import split_urls
from pessoas.adapters.rabbitmq_queue import RabbitmqIndexQueue
from pessoas.adapters.rabbitmq_topology import build_worker_broker, prepare_queues
from pessoas.settings import Settings


async def _open_publisher(queue: RabbitmqIndexQueue) -> AsyncIterator[RabbitmqIndexQueue]:
    await queue.open()
    try:
        yield queue
    finally:
        await queue.close()


def publish_observer(settings: Settings) -> Callable[[int], None] | None:
    return observe_announcement if settings.metrics else None


class RabbitmqQueue(containers.DeclarativeContainer):
    settings: providers.Dependency[Settings] = providers.Dependency(instance_of=Settings)

    # Constructed synchronously and used directly by the use cases; the Resource below only
    # drives its lifecycle, since whatever depends on an async Resource would get awaitables.
    # PESSOAS_AMQP_URL may list a cluster's nodes, separated by commas.
    amqp_urls = providers.Callable(split_urls, settings.provided.amqp_url)
    queue_names = providers.Callable(QueueNames.of, settings.provided.queue_name)

    queue = providers.Singleton(
        RabbitmqIndexQueue,
        amqp_url=amqp_urls,
        queue_name=settings.provided.queue_name,
        queue_type=settings.provided.queue_type,
        window_ms=settings.provided.publish_window_ms,
        batch_max=settings.provided.publish_batch_max,
        on_published=providers.Callable(publish_observer, settings),
    )
    lifecycle = providers.Resource(_open_publisher, queue)
    # Nothing at start: the worker's reconciler looks after what announcements miss.
    at_start = providers.Callable(nothing_to_prepare)

    prepare = providers.Callable(
        prepare_queues,
        amqp_urls=amqp_urls,
        queue_name=settings.provided.queue_name,
        queue_type=settings.provided.queue_type,
    )

    # Lazy: only the worker asks for it, so API processes never open a kombu connection.
    broker = providers.Singleton(
        build_worker_broker,
        amqp_urls=amqp_urls,
        queue_name=settings.provided.queue_name,
        queue_type=settings.provided.queue_type,
    )
    actor_name = providers.Object(INDEX_ACTOR_NAME)
    # How the worker reads the ids back from the argument its actor receives.
    read_ids = providers.Object(ids_of)
    # The previous version's messages (whole pessoas, promised and not yet stored).
    queued_pessoas_actor_name = providers.Object(QUEUED_PESSOAS_ACTOR_NAME)
    read_pessoas = providers.Object(pessoas_of)
