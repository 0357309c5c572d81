"""The RabbitMQ index queue and the Dramatiq worker, against a real RabbitMQ.

An announcement is not a promise (the pessoa is committed before it is sent): messages are
transient and unconfirmed, many announcements share one message, and the worker makes the
announced pessoas searchable. The worker's storage here is the in-memory twin, which like
PostgreSQL finds a pessoa by search only once it has been indexed.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import aiormq
import orjson
import pytest

from pessoas.adapters.pessoa_json import pessoa_to_json
from pessoas.adapters.rabbitmq_message import (
    INDEX_ACTOR_NAME,
    QueueNames,
    decode_index_message,
    index_message,
)
from pessoas.adapters.rabbitmq_queue import RabbitmqIndexQueue
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
    message_for_the_index_actor,
    publish_raw,
    queue_depth,
    queue_name,
    start_worker,
    take,
    wait_for_depth,
    wait_until_searchable,
)

pytestmark = pytest.mark.integration

__all__ = ["amqp_channel", "queue_name"]  # fixtures, re-exported for pytest

UNREACHABLE = "amqp://guest:guest@127.0.0.1:1/"  # nothing listens on port 1


async def _publisher(
    queue_name: str, window_ms: float = 2.0, batch_max: int = 256, **options
) -> RabbitmqIndexQueue:
    queue = RabbitmqIndexQueue(AMQP_URL, queue_name, window_ms=window_ms, batch_max=batch_max, **options)
    await queue.open()
    return queue


async def test_an_announcement_is_a_transient_dramatiq_message_whose_ids_read_back(queue_name, amqp_channel):
    published: list[int] = []
    queue = await _publisher(queue_name, on_published=published.append)
    ids = [uuid.uuid4() for _ in range(3)]
    try:
        await queue.announce(ids)
        (message,) = await take(amqp_channel, queue_name, 1)
    finally:
        await queue.close()

    assert decode_index_message(message.body) == ids
    assert published == [3]
    assert message.header.properties.delivery_mode == 1  # transient: RabbitMQ writes nothing to disk
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
    assert body["actor_name"] == INDEX_ACTOR_NAME == "index_pessoas"
    assert body["args"] == [[str(i) for i in ids]]
    assert body["kwargs"] == {}
    assert uuid.UUID(body["message_id"])
    assert abs(body["message_timestamp"] / 1000 - time.time()) < 60


async def test_the_message_is_what_index_message_builds(queue_name, amqp_channel):
    queue = await _publisher(queue_name)
    ids = [uuid.uuid4()]
    try:
        await queue.announce(ids)
        (message,) = await take(amqp_channel, queue_name, 1)
    finally:
        await queue.close()
    expected = orjson.loads(index_message(ids, queue_name).encode())
    got = orjson.loads(message.body)
    for field in ("queue_name", "actor_name", "args", "kwargs", "options"):
        assert got[field] == expected[field]


async def test_announcements_within_a_window_share_one_message(queue_name, amqp_channel):
    queue = await _publisher(queue_name, window_ms=100)
    announcements = [[uuid.uuid4() for _ in range(n % 3 + 1)] for n in range(20)]
    try:
        await asyncio.gather(*(queue.announce(ids) for ids in announcements))
        (message,) = await take(amqp_channel, queue_name, 1)
    finally:
        await queue.close()
    # One message, every id of every announcement, in the order they were announced.
    assert decode_index_message(message.body) == [i for ids in announcements for i in ids]
    assert await queue_depth(amqp_channel, queue_name) == 0


async def test_a_full_batch_leaves_without_waiting_for_the_window(queue_name, amqp_channel):
    queue = await _publisher(queue_name, window_ms=60_000, batch_max=5)
    try:
        await asyncio.wait_for(queue.announce([uuid.uuid4() for _ in range(10)]), 5)
        messages = await take(amqp_channel, queue_name, 2)
    finally:
        await queue.close()
    assert [len(decode_index_message(m.body)) for m in messages] == [5, 5]


async def test_close_sends_what_is_pending_in_the_window(queue_name, amqp_channel):
    queue = await _publisher(queue_name, window_ms=60_000)
    ids = [uuid.uuid4() for _ in range(4)]
    announcing = asyncio.ensure_future(queue.announce(ids))
    await asyncio.sleep(0.05)
    await queue.close()
    await asyncio.wait_for(announcing, 5)
    (message,) = await take(amqp_channel, queue_name, 1)
    assert decode_index_message(message.body) == ids


async def test_announcing_to_an_unreachable_rabbitmq_fails_quickly(queue_name):
    queue = RabbitmqIndexQueue(UNREACHABLE, queue_name, window_ms=0, reconnect_interval=60)
    await queue.open()  # does not raise: later announcements reconnect
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            await queue.announce([uuid.uuid4()])
        # While a connect failed moments ago, announcements fail at once, without connecting.
        with pytest.raises(StorageUnavailable, match="moments ago"):
            await queue.announce([uuid.uuid4()])
        assert time.monotonic() - started < 2.0
    finally:
        await queue.close()


async def test_an_announcement_reconnects_after_the_connection_drops(queue_name, amqp_channel):
    queue = await _publisher(queue_name, window_ms=0)
    try:
        await queue.announce([uuid.uuid4()])
        await wait_for_depth(amqp_channel, queue_name, 1)
        assert queue._connection is not None
        await queue._connection.close()  # as if RabbitMQ had dropped it
        await queue.announce([uuid.uuid4()])
        await wait_for_depth(amqp_channel, queue_name, 2)
    finally:
        await queue.close()


async def test_an_announcement_after_rabbitmq_comes_back_is_delivered(queue_name, amqp_channel):
    # Started while RabbitMQ was away: it connects on a later announcement, once the pause is over.
    from urllib.parse import urlsplit

    from tests.integration.cuttable_proxy import CuttableProxy

    parts = urlsplit(AMQP_URL)
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    url = parts._replace(netloc=f"guest:guest@127.0.0.1:{proxy.port}").geturl()
    queue = RabbitmqIndexQueue(url, queue_name, window_ms=0, reconnect_interval=0.2)
    try:
        await queue.open()
        with pytest.raises(StorageUnavailable):
            await queue.announce([uuid.uuid4()])
        await proxy.start()
        delivered = uuid.uuid4()
        deadline = time.monotonic() + 5
        while True:
            try:
                await queue.announce([delivered])
                break
            except StorageUnavailable:
                assert time.monotonic() < deadline, "no reconnection within 5 s"
                await asyncio.sleep(0.05)
        (message,) = await take(amqp_channel, queue_name, 1)
        assert decode_index_message(message.body) == [delivered]
    finally:
        await queue.close()
        await proxy.cut()


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


# --- the worker ---


async def keep_the_reconciler_out(store) -> None:
    """Runs the in-memory reconciler's first pass on the empty store, before the worker's.

    The worker's own passes (one at boot, then one an hour with reconcile_interval=3600) then
    look only at what this pass saw stored, that is nothing: only messages can index.
    """
    assert await store.count() == 0
    await store.index_missing()


async def test_the_worker_indexes_what_the_api_announced(queue_name):
    container = make_container(make_settings(queue_name, publish_window_ms=5, reconcile_interval=3600))
    store = container.storage.store()
    await keep_the_reconciler_out(store)
    await container.init_resources()
    worker = start_worker(container)
    pessoas = [make_pessoa(n) for n in range(50)]
    try:
        await store.add_many(pessoas)
        assert await store.search(pessoas[0].apelido, 1) == []
        queue = container.queue.queue()
        await asyncio.gather(*(queue.announce([p.id]) for p in pessoas))
        await wait_until_searchable(store, pessoas, timeout=5)
    finally:
        await asyncio.to_thread(worker.stop)
        await container.shutdown_resources()


async def test_a_redelivered_message_indexes_nothing_twice(queue_name, amqp_channel):
    container = make_container(make_settings(queue_name, reconcile_interval=3600))
    store = container.storage.store()
    await keep_the_reconciler_out(store)
    queue = container.queue.queue()
    await queue.open()
    pessoas = [make_pessoa(n) for n in range(3)]
    try:
        await store.add_many(pessoas)
        await queue.announce([p.id for p in pessoas])
        (message,) = await take(amqp_channel, queue_name, 1)
        # The same message twice, as RabbitMQ redelivers one whose ack was lost.
        for _ in range(2):
            await amqp_channel.basic_publish(
                message.body, routing_key=queue_name, properties=message.header.properties
            )
    finally:
        await queue.close()

    worker = start_worker(container)
    try:
        await wait_until_searchable(store, pessoas)
        await _wait_for_empty(amqp_channel, queue_name)
    finally:
        await asyncio.to_thread(worker.stop)
    assert sorted(p.id for p in await store.search("ap", 50)) == sorted(p.id for p in pessoas)
    assert await queue_depth(amqp_channel, QueueNames.of(queue_name).dead_letter) == 0


async def test_a_failing_index_is_retried_not_lost(queue_name, amqp_channel):
    store = FlakyStore(failures=3)
    container = make_container(make_settings(queue_name), store)
    queue = container.queue.queue()
    await queue.open()
    pessoas = [make_pessoa(n) for n in range(4)]
    try:
        await store.add_many(pessoas)
        await queue.announce([p.id for p in pessoas])
        await wait_for_depth(amqp_channel, queue_name, 1)
    finally:
        await queue.close()

    worker = start_worker(container, threads=1)
    try:
        await wait_until_searchable(store, pessoas, timeout=RETRY_DELAY_BOUND.total_seconds())
        await _wait_for_empty(amqp_channel, queue_name)
    finally:
        await asyncio.to_thread(worker.stop)
    assert store.calls > store.failures
    assert await queue_depth(amqp_channel, QueueNames.of(queue_name).dead_letter) == 0  # none dead


@pytest.mark.parametrize(
    "poison",
    [
        pytest.param(lambda name: message_for_the_index_actor(name, "not a list"), id="not a list"),
        pytest.param(lambda name: message_for_the_index_actor(name, [1, 2]), id="not strings"),
        pytest.param(lambda name: message_for_the_index_actor(name, ["not-a-uuid"]), id="not uuids"),
        pytest.param(lambda name: b"\x00 not json at all", id="not a message"),
        pytest.param(
            lambda name: message_for_the_index_actor(name, [{"apelido": "no id"}], actor="store_pessoas"),
            id="a previous version's message that holds no pessoa",
        ),
    ],
)
async def test_a_poison_message_is_dead_lettered_at_once_and_blocks_nothing(queue_name, amqp_channel, poison):
    container = make_container(make_settings(queue_name, reconcile_interval=3600))
    store = container.storage.store()
    await keep_the_reconciler_out(store)
    names = QueueNames.of(queue_name)
    await container.queue.prepare()
    valid = make_pessoa(1)
    await store.add_many([valid])
    body = poison(queue_name)
    await publish_raw(amqp_channel, queue_name, body)
    await publish_raw(amqp_channel, queue_name, message_for_the_index_actor(queue_name, [str(valid.id)]))

    worker = start_worker(container, threads=1)
    try:
        await wait_until_searchable(store, [valid], timeout=5)
        # Straight to the dead-letter queue: no retry through the delay queue.
        await wait_for_depth(amqp_channel, names.dead_letter, 1, timeout=5)
        assert await queue_depth(amqp_channel, names.delay) == 0
        await _wait_for_empty(amqp_channel, queue_name)
    finally:
        await asyncio.to_thread(worker.stop)
    (dead,) = await drain(amqp_channel, names.dead_letter)
    assert dead.body == body  # kept as it came, for whoever looks into it


async def test_pessoas_the_previous_version_queued_are_stored_and_searchable(queue_name, amqp_channel):
    """An upgrade may leave the previous version's messages on the queue: promised pessoas, not yet stored."""
    container = make_container(make_settings(queue_name, reconcile_interval=3600))
    store = container.storage.store()
    await container.queue.prepare()
    promised = [make_pessoa(n) for n in range(3)]
    await publish_raw(
        amqp_channel,
        queue_name,
        message_for_the_index_actor(queue_name, [pessoa_to_json(p) for p in promised], actor="store_pessoas"),
    )
    worker = start_worker(container, threads=1)
    try:
        await wait_until_searchable(store, promised, timeout=5)
        await _wait_for_empty(amqp_channel, queue_name)
    finally:
        await asyncio.to_thread(worker.stop)
    assert await store.count() == len(promised)
    assert await queue_depth(amqp_channel, QueueNames.of(queue_name).dead_letter) == 0


async def _wait_for_empty(channel: aiormq.abc.AbstractChannel, name: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while await queue_depth(channel, name) != 0 or await queue_depth(channel, QueueNames.of(name).delay) != 0:
        assert time.monotonic() < deadline, f"queue {name} did not drain"
        await asyncio.sleep(0.05)
