"""What a worker process is made of: its broker, its middleware and its actor.

Every message announces a list of committed pessoas to make searchable. The actor is async, so it
runs on the event loop of Dramatiq's AsyncIO middleware, where the container's PostgreSQL pool
lives. A message is acknowledged only after its actor returned, that is after its search rows
were committed; a failure is retried a bounded number of times, then the message is
dead-lettered, and indexing again is harmless, so a redelivered message changes nothing. A
message that cannot be read (not a list of ids) is not retried: ``throws`` sends it straight to
the dead-letter queue. The reconciler (:class:`pessoas.entrypoints.worker_middleware.Reconciler`)
indexes whatever a lost or dead-lettered message held.

The previous version queued whole pessoas, already promised, for its worker to store: a second
actor, under that version's actor name, still stores them, so an upgrade with messages on the
queue loses none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import dramatiq

from pessoas.container import Container
from pessoas.entrypoints.worker_middleware import ConsumerTuning, Reconciler, StorageResources


def declare_index_actor(container: Container, broker: dramatiq.Broker) -> dramatiq.Actor[Any, Any]:
    """Declares, on ``broker``, the actor the API's announcements are addressed to."""
    index_pessoas = container.index_pessoas()
    read_ids = container.queue.read_ids()

    async def index_announced(ids: list[str]) -> None:
        await index_pessoas(read_ids(ids))

    return _on_the_queue(container, broker, container.queue.actor_name())(index_announced)


def declare_queued_pessoas_actor(container: Container, broker: dramatiq.Broker) -> dramatiq.Actor[Any, Any]:
    """Declares the previous version's actor, so that pessoas it queued (promised) get stored."""
    store_queued = container.store_queued_pessoas()
    read_pessoas = container.queue.read_pessoas()

    async def store_queued_pessoas(pessoas: list[dict[str, Any]]) -> None:
        await store_queued(read_pessoas(pessoas))

    return _on_the_queue(container, broker, container.queue.queued_pessoas_actor_name())(store_queued_pessoas)


def _on_the_queue(
    container: Container, broker: dramatiq.Broker, actor_name: str
) -> Callable[[Callable[..., Awaitable[None]]], dramatiq.Actor[Any, Any]]:
    """dramatiq's actor decorator for the service's queue; a message it cannot read (ValueError)
    is not retried: it goes straight to the dead-letter queue."""
    return dramatiq.actor(
        broker=broker,
        actor_name=actor_name,
        queue_name=container.queue.queue_names().canonical,
        throws=(ValueError,),
    )


def worker_broker(container: Container) -> dramatiq.Broker:
    """The container's broker with the worker's middleware and the actor: what dramatiq runs."""
    broker: dramatiq.Broker = container.queue.broker()
    broker.add_middleware(ConsumerTuning())
    broker.add_middleware(StorageResources(container.storage))
    broker.add_middleware(
        Reconciler(container.reconcile_index(), interval=container.settings().reconcile_interval)
    )
    declare_index_actor(container, broker)
    declare_queued_pessoas_actor(container, broker)
    return broker
