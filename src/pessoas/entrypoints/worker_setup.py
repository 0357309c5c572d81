"""What a worker process is made of: its broker, its middleware and its actor.

Every message carries a list of pessoas (the API's group commit). The actor is async, so it runs on
the event loop of Dramatiq's AsyncIO middleware, where the container's async store lives. A message
is acknowledged only after its actor returned, that is after its rows were committed; a failure is
retried by Dramatiq without limit (a 201 is a promise), and the store skips ids already stored, so
a redelivered or retried message stores nothing twice.

The messages that worker threads process at the same time are merged into one transaction
(:class:`GroupCommit` with no window and one flush at a time): the first is stored at once, and
those that arrive while a transaction runs go together in the next, whole messages only. With one
worker thread there is never a second message waiting, so this only matters with several threads.
"""

from __future__ import annotations

from typing import Any

import dramatiq

from pessoas.application.group_commit import GroupCommit
from pessoas.container import Container
from pessoas.domain.model import Pessoa
from pessoas.entrypoints.worker_middleware import ConsumerTuning, StorageResources


def declare_store_actor(container: Container, broker: dramatiq.Broker) -> dramatiq.Actor[Any, Any]:
    """Declares, on ``broker``, the actor the API's messages are addressed to."""
    store_pessoas = container.store_pessoas()
    read_pessoas = container.queue.read_pessoas()

    async def store_merged(messages: list[list[Pessoa]]) -> None:
        await store_pessoas([pessoa for pessoas in messages for pessoa in pessoas])

    merged: GroupCommit[list[Pessoa]] = GroupCommit(
        store_merged,
        max_size=container.settings().worker_batch_max,
        size=len,
        max_in_flight=1,
    )

    async def store_pessoas_of_message(pessoas: list[dict[str, Any]]) -> None:
        await merged.submit(read_pessoas(pessoas))

    decorate = dramatiq.actor(
        broker=broker,
        actor_name=container.queue.actor_name(),
        queue_name=container.queue.queue_names().canonical,
    )
    return decorate(store_pessoas_of_message)


def worker_broker(container: Container) -> dramatiq.Broker:
    """The container's broker with the worker's middleware and the actor: what dramatiq runs."""
    broker: dramatiq.Broker = container.queue.broker()
    broker.add_middleware(ConsumerTuning())
    broker.add_middleware(StorageResources(container.storage))
    declare_store_actor(container, broker)
    return broker
