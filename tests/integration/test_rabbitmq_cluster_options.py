"""The RabbitMQ options for a cluster, against the real (single-node) RabbitMQ.

A quorum queue on one node behaves as it does on three, except for the replication itself, which
`make cluster` exercises: here, that both sides declare the same quorum queues, that the queues
really are quorum queues, that the worker's retries still go through the delay queue, and that a
list of URLs whose first node is dead still reaches RabbitMQ.
"""

from __future__ import annotations

import asyncio
import uuid

import aiormq
import pytest
from dramatiq_kombu_broker import DefaultDramatiqTopology

from pessoas.adapters.rabbitmq_queue import RabbitmqIndexQueue
from pessoas.adapters.rabbitmq_topology import DEAD_LETTER_TTL, build_worker_broker, declare_queues
from tests.integration.rabbitmq_fixtures import (
    AMQP_URL,
    RETRY_DELAY_BOUND,
    FlakyStore,
    amqp_channel,
    make_container,
    make_pessoa,
    make_settings,
    queue_depth,
    queue_name,
    start_worker,
    wait_for_depth,
    wait_until_searchable,
)

pytestmark = pytest.mark.integration

__all__ = ["amqp_channel", "queue_name"]  # fixtures, re-exported for pytest

DEAD_NODE = "amqp://guest:guest@127.0.0.1:1/"  # nothing listens on port 1


async def _delete(channel: aiormq.abc.AbstractChannel, name: str) -> None:
    for suffix in ("", ".DQ", ".XQ"):
        await channel.queue_delete(name + suffix)


@pytest.mark.parametrize("queue_type", ["classic", "quorum"])
async def test_publisher_and_worker_declare_the_same_queues(queue_name, amqp_channel, queue_type):
    # Worker first, then the publisher: RabbitMQ refuses a re-declaration with other arguments.
    broker = build_worker_broker(AMQP_URL, queue_name, queue_type)
    try:
        broker.declare_queue(queue_name, ensure=True)
    finally:
        broker.close()
    await declare_queues(amqp_channel, queue_name, queue_type)
    # Publisher first, then the worker's three declarations.
    other = f"{queue_name}-b"
    try:
        await declare_queues(amqp_channel, other, queue_type)
        broker = build_worker_broker(AMQP_URL, other, queue_type)
        try:
            channel = broker.connection_holder.acquire_consumer_channel()
            topology = broker.topology
            topology.declare_canonical_queue(channel, other, ignore_different_topology=False)
            topology.declare_delay_queue(channel, f"{other}.DQ", ignore_different_topology=False)
            topology.declare_dead_letter_queue(channel, f"{other}.XQ", ignore_different_topology=False)
        finally:
            broker.close()
    finally:
        await _delete(amqp_channel, other)


async def test_a_quorum_queue_is_not_a_classic_one(queue_name):
    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        await declare_queues(channel, queue_name, "quorum")
        # The same name declared as classic is refused: the queue really has the quorum type.
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
            await declare_queues(channel, queue_name, "classic")
    finally:
        await connection.close()


async def test_on_quorum_queues_a_failing_index_is_retried_through_the_delay_queue(queue_name, amqp_channel):
    store = FlakyStore(failures=2)
    container = make_container(make_settings(queue_name, queue_type="quorum"), store)
    queue = container.queue.queue()
    await queue.open()
    pessoas = [make_pessoa(n) for n in range(5)]
    try:
        await store.add_many(pessoas)
        await asyncio.gather(*(queue.announce([p.id]) for p in pessoas))
        await wait_for_depth(amqp_channel, queue_name, 1)
    finally:
        await queue.close()
    worker = start_worker(container, threads=1)
    try:
        await wait_until_searchable(store, pessoas, timeout=RETRY_DELAY_BOUND.total_seconds())
    finally:
        await asyncio.to_thread(worker.stop)
    assert store.calls > store.failures
    assert await queue_depth(amqp_channel, f"{queue_name}.XQ") == 0


async def test_a_dead_node_first_in_the_list_is_passed_over(queue_name, amqp_channel):
    settings = make_settings(
        queue_name, amqp_url=f"{DEAD_NODE}, {AMQP_URL}", publish_window_ms=2, reconcile_interval=3600
    )
    container = make_container(settings)
    store = container.storage.store()
    await store.index_missing()  # the reconciler's first pass, on nothing: only messages index
    await container.queue.prepare()  # `pessoas migrate` too
    await container.init_resources()
    pessoas = [make_pessoa(n) for n in range(20)]
    worker = start_worker(container)
    try:
        await store.add_many(pessoas)
        await asyncio.gather(*(container.queue.queue().announce([p.id]) for p in pessoas))
        await wait_until_searchable(store, pessoas, timeout=10)
    finally:
        await asyncio.to_thread(worker.stop)
        await container.shutdown_resources()


async def test_no_live_node_is_storage_unavailable(queue_name):
    from pessoas.domain.errors import StorageUnavailable

    queue = RabbitmqIndexQueue([DEAD_NODE, "amqp://guest:guest@127.0.0.1:2/"], queue_name, window_ms=0)
    await queue.open()
    with pytest.raises(StorageUnavailable):
        await queue.announce([uuid.uuid4()])
    await queue.close()


async def test_queues_an_earlier_worker_declared_with_dramatiqs_default_topology_are_declared_unchanged(
    queue_name, amqp_channel
):
    # Earlier versions' workers declared single-box queues through dramatiq-kombu-broker's default
    # topology; the table now declares them, and RabbitMQ refuses any difference in arguments.
    earlier = DefaultDramatiqTopology(dead_letter_message_ttl=DEAD_LETTER_TTL, max_priority=None)
    broker = build_worker_broker(AMQP_URL, queue_name)
    try:
        channel = broker.connection_holder.acquire_consumer_channel()
        earlier.declare_canonical_queue(channel, queue_name)
        earlier.declare_delay_queue(channel, f"{queue_name}.DQ")
        earlier.declare_dead_letter_queue(channel, f"{queue_name}.XQ")
        topology = broker.topology
        topology.declare_canonical_queue(channel, queue_name, ignore_different_topology=False)
        topology.declare_delay_queue(channel, f"{queue_name}.DQ", ignore_different_topology=False)
        topology.declare_dead_letter_queue(channel, f"{queue_name}.XQ", ignore_different_topology=False)
    finally:
        broker.close()
    await declare_queues(amqp_channel, queue_name)
