"""The RabbitMQ persistence queue and the Dramatiq worker, against a real RabbitMQ."""

from __future__ import annotations

import asyncio
import uuid

import aiormq
import orjson
import pytest

from pessoas.adapters.pessoa_json import pessoa_to_json
from pessoas.adapters.rabbitmq_message import QueueNames, decode_batch
from pessoas.adapters.rabbitmq_queue import RabbitmqPersistenceQueue
from pessoas.adapters.rabbitmq_topology import build_worker_broker, declare_queues
from pessoas.domain.errors import StorageUnavailable
from tests.integration.rabbitmq_fixtures import (
    AMQP_URL,
    RETRY_DELAY_BOUND,
    FlakyStore,
    amqp_channel,
    drain,
    make_container,
    make_pessoa,
    make_settings,
    queue_depth,
    queue_name,
    start_worker,
    wait_until_stored,
)

pytestmark = pytest.mark.integration

__all__ = ["amqp_channel", "queue_name"]  # fixtures, re-exported for pytest


async def _publisher(
    queue_name: str, window_ms: float = 2.0, batch_max: int = 256
) -> RabbitmqPersistenceQueue:
    queue = RabbitmqPersistenceQueue(AMQP_URL, queue_name, window_ms=window_ms, batch_max=batch_max)
    await queue.open()
    return queue


async def test_put_returns_after_confirm_with_a_persistent_dramatiq_message(queue_name, amqp_channel):
    queue = await _publisher(queue_name)
    pessoa = make_pessoa(1)
    try:
        await queue.put(pessoa)
        # put returned: the message is confirmed, hence already in the queue.
        messages = await drain(amqp_channel, queue_name)
    finally:
        await queue.close()

    assert len(messages) == 1
    message = messages[0]
    assert message.header.properties.delivery_mode == 2
    body = orjson.loads(message.body)
    assert set(body) == {
        "queue_name",
        "actor_name",
        "args",
        "kwargs",
        "options",
        "message_id",
        "message_timestamp",
    }
    assert body["queue_name"] == queue_name
    assert body["actor_name"] == "store_pessoas"
    assert body["args"] == [[pessoa_to_json(pessoa)]]
    assert body["kwargs"] == {}
    assert uuid.UUID(body["message_id"])
    assert message.header.properties.message_id == body["message_id"]
    assert decode_batch(message.body) == [pessoa]


async def test_concurrent_puts_within_the_window_share_one_message(queue_name, amqp_channel):
    queue = await _publisher(queue_name, window_ms=50)
    pessoas = [make_pessoa(n) for n in range(20)]
    try:
        await asyncio.gather(*(queue.put(p) for p in pessoas))
        messages = await drain(amqp_channel, queue_name)
    finally:
        await queue.close()

    assert len(messages) == 1
    assert orjson.loads(messages[0].body)["args"][0] == [pessoa_to_json(p) for p in pessoas]


async def test_a_full_batch_leaves_without_waiting_for_the_window(queue_name, amqp_channel):
    queue = await _publisher(queue_name, window_ms=60_000, batch_max=5)
    try:
        await asyncio.wait_for(asyncio.gather(*(queue.put(make_pessoa(n)) for n in range(10))), 5)
        messages = await drain(amqp_channel, queue_name)
    finally:
        await queue.close()

    assert [len(orjson.loads(m.body)["args"][0]) for m in messages] == [5, 5]


async def test_put_raises_storage_unavailable_when_rabbitmq_is_unreachable(queue_name):
    queue = RabbitmqPersistenceQueue("amqp://guest:guest@127.0.0.1:1/", queue_name, window_ms=0)
    await queue.open()  # does not raise: later puts reconnect
    with pytest.raises(StorageUnavailable):
        await queue.put(make_pessoa(1))
    await queue.close()


async def test_put_reconnects_after_the_connection_drops(queue_name, amqp_channel):
    queue = await _publisher(queue_name, window_ms=0)
    try:
        await queue.put(make_pessoa(1))
        assert queue._connection is not None
        await queue._connection.close()  # as if RabbitMQ had dropped it
        await queue.put(make_pessoa(2))
    finally:
        await queue.close()
    assert await queue_depth(amqp_channel, queue_name) == 2


async def test_the_publisher_declares_what_the_worker_broker_declares(queue_name, amqp_channel):
    # The worker's broker declares first; the publisher's declaration must then be accepted
    # (RabbitMQ closes the channel with PRECONDITION_FAILED on any difference in arguments).
    broker = build_worker_broker(AMQP_URL, queue_name)
    try:
        broker.declare_queue(queue_name, ensure=True)
    finally:
        broker.close()
    await declare_queues(amqp_channel, queue_name)
    # And the other way round, on fresh queues declared by the publisher first.
    other = f"{queue_name}-b"
    try:
        await declare_queues(amqp_channel, other)
        broker = build_worker_broker(AMQP_URL, other)
        try:
            broker.topology.declare_canonical_queue(
                broker.connection_holder.acquire_consumer_channel(), other, ignore_different_topology=False
            )
        finally:
            broker.close()
    finally:
        names = QueueNames.of(other)
        for name in (names.canonical, names.delay, names.dead_letter):
            await amqp_channel.queue_delete(name)


async def test_migrate_prepare_declares_the_queue(queue_name, amqp_channel):
    container = make_container(make_settings(queue_name))
    await container.queue.prepare()
    assert await queue_depth(amqp_channel, queue_name) == 0


async def test_the_worker_stores_what_the_api_put(queue_name):
    container = make_container(make_settings(queue_name, publish_window_ms=5))
    store = container.storage.store()
    await container.init_resources()
    pessoas = [make_pessoa(n) for n in range(50)]
    worker = start_worker(container)
    try:
        await asyncio.gather(*(container.queue.queue().put(p) for p in pessoas))
        await wait_until_stored(store, pessoas, timeout=5)
    finally:
        await asyncio.to_thread(worker.stop)
        await container.shutdown_resources()
    assert await store.count() == len(pessoas)


async def test_a_redelivered_message_stores_nothing_twice(queue_name, amqp_channel):
    container = make_container(make_settings(queue_name))
    store = container.storage.store()
    queue = container.queue.queue()
    await queue.open()
    pessoas = [make_pessoa(n) for n in range(3)]
    try:
        await asyncio.gather(*(queue.put(p) for p in pessoas))
        (message,) = await drain(amqp_channel, queue_name)
        # The same message twice, as RabbitMQ redelivers one whose ack was lost.
        for _ in range(2):
            await amqp_channel.basic_publish(
                message.body, routing_key=queue_name, properties=message.header.properties
            )
    finally:
        await queue.close()

    worker = start_worker(container)
    try:
        await wait_until_stored(store, pessoas)
        await _wait_for_empty(amqp_channel, queue_name)
    finally:
        await asyncio.to_thread(worker.stop)
    assert await store.count() == len(pessoas)


async def test_a_failing_store_leads_to_redelivery_not_loss(queue_name, amqp_channel):
    store = FlakyStore(failures=3)
    container = make_container(make_settings(queue_name), store)
    queue = container.queue.queue()
    await queue.open()
    pessoas = [make_pessoa(n) for n in range(4)]
    try:
        await asyncio.gather(*(queue.put(p) for p in pessoas))
    finally:
        await queue.close()

    worker = start_worker(container, threads=1)
    try:
        await wait_until_stored(store, pessoas, timeout=RETRY_DELAY_BOUND.total_seconds())
        await _wait_for_empty(amqp_channel, queue_name)
    finally:
        await asyncio.to_thread(worker.stop)
    assert store.calls > store.failures
    assert await store.count() == len(pessoas)
    assert await queue_depth(amqp_channel, QueueNames.of(queue_name).dead_letter) == 0  # none dead


async def _wait_for_empty(channel: aiormq.abc.AbstractChannel, name: str, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if (
            await queue_depth(channel, name) == 0
            and await queue_depth(channel, QueueNames.of(name).delay) == 0
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"queue {name} did not drain")


async def test_waiting_counts_again_after_a_missing_queue_closed_its_channel(queue_name, amqp_channel):
    queue = await _publisher(queue_name)
    names = QueueNames.of(queue_name)
    try:
        await queue.put(make_pessoa(1))
        assert await queue.waiting() == 1
        assert await queue.waiting() == 1  # asked again on the channel kept from the first call
        # A passive declare of a missing queue makes RabbitMQ close the channel it came on.
        await amqp_channel.queue_delete(names.delay)
        with pytest.raises(StorageUnavailable):
            await queue.waiting()
        await amqp_channel.queue_declare(names.delay, durable=True)
        # The closed channel is replaced: the count is read again, and the publishing still works.
        await queue.put(make_pessoa(2))
        assert await queue.waiting() == 2
    finally:
        await queue.close()
