"""The RabbitMQ queue group: the API's confirmed publisher and the worker's Dramatiq broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from dependency_injector import containers, providers

from pessoas.adapters.prometheus_metrics import observe_publish
from pessoas.adapters.rabbitmq_management import ManagementApi, management_urls_for, vhost_of
from pessoas.adapters.rabbitmq_message import STORE_ACTOR_NAME, QueueNames, pessoas_of
from pessoas.adapters.rabbitmq_nodes import split_urls
from pessoas.adapters.rabbitmq_queue import RabbitmqPersistenceQueue
from pessoas.adapters.rabbitmq_topology import build_worker_broker, prepare_queues
from pessoas.settings import Settings


async def _open_publisher(queue: RabbitmqPersistenceQueue) -> AsyncIterator[RabbitmqPersistenceQueue]:
    await queue.open()
    try:
        yield queue
    finally:
        await queue.close()


def publish_observer(settings: Settings) -> Callable[[int, float], None] | None:
    return observe_publish if settings.metrics else None


def management_urls(settings: Settings) -> list[str]:
    """PESSOAS_RABBITMQ_MANAGEMENT_URL's list, or the management listener of each AMQP node."""
    if settings.rabbitmq_management_url:
        return split_urls(settings.rabbitmq_management_url)
    assert settings.amqp_url is not None, "the RabbitMQ group is chosen only with a URL"
    return management_urls_for(split_urls(settings.amqp_url))


def stats_max_age(settings: Settings) -> float:
    # A queue samples its counts every interval, and the management plugin collects the samples
    # every interval: a count it shows is at most two intervals old (docs/faults.md).
    return 2 * settings.rabbitmq_stats_interval


class RabbitmqQueue(containers.DeclarativeContainer):
    settings: providers.Dependency[Settings] = providers.Dependency(instance_of=Settings)

    # Constructed synchronously and used directly by the use cases; the Resource below only
    # drives its lifecycle, since whatever depends on an async Resource would get awaitables.
    # PESSOAS_AMQP_URL may list a cluster's nodes, separated by commas.
    amqp_urls = providers.Callable(split_urls, settings.provided.amqp_url)
    queue_names = providers.Callable(QueueNames.of, settings.provided.queue_name)

    # The broker's own counts, which the restore after a cache loss needs (fails closed without).
    management = providers.Singleton(
        ManagementApi,
        urls=providers.Callable(management_urls, settings),
        vhost=providers.Callable(lambda urls: vhost_of(urls[0]), amqp_urls),
        queues=queue_names,
    )

    queue = providers.Singleton(
        RabbitmqPersistenceQueue,
        amqp_url=amqp_urls,
        queue_name=settings.provided.queue_name,
        queue_type=settings.provided.queue_type,
        window_ms=settings.provided.publish_window_ms,
        batch_max=settings.provided.publish_batch_max,
        publish_deadline=settings.provided.publish_deadline,
        management=management,
        stats_max_age=providers.Callable(stats_max_age, settings),
        on_confirmed=providers.Callable(publish_observer, settings),
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
    # How the worker reads the pessoas back from the argument its actor receives.
    read_pessoas = providers.Object(pessoas_of)
