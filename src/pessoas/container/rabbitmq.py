"""The RabbitMQ queue group: the API's confirmed publisher and the worker's Dramatiq broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dependency_injector import containers, providers

from pessoas.adapters.pessoa_json import pessoa_from_json
from pessoas.adapters.rabbitmq_nodes import split_urls
from pessoas.adapters.rabbitmq_queue import RabbitmqPersistenceQueue
from pessoas.adapters.rabbitmq_topology import STORE_ACTOR_NAME, build_worker_broker, prepare_queues
from pessoas.settings import Settings


async def _open_publisher(queue: RabbitmqPersistenceQueue) -> AsyncIterator[RabbitmqPersistenceQueue]:
    await queue.open()
    try:
        yield queue
    finally:
        await queue.close()


class RabbitmqQueue(containers.DeclarativeContainer):
    settings: providers.Dependency[Settings] = providers.Dependency(instance_of=Settings)

    # Constructed synchronously and used directly by the use cases; the Resource below only
    # drives its lifecycle, since whatever depends on an async Resource would get awaitables.
    # PESSOAS_AMQP_URL may list a cluster's nodes, separated by commas.
    amqp_urls = providers.Callable(split_urls, settings.provided.amqp_url)

    queue = providers.Singleton(
        RabbitmqPersistenceQueue,
        amqp_url=amqp_urls,
        queue_name=settings.provided.queue_name,
        queue_type=settings.provided.queue_type,
        window_ms=settings.provided.publish_window_ms,
        batch_max=settings.provided.publish_batch_max,
    )
    lifecycle = providers.Resource(_open_publisher, queue)

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
    actor_name = providers.Object(STORE_ACTOR_NAME)
    # How the worker reads each pessoa of a message back.
    decode_pessoa = providers.Object(pessoa_from_json)
