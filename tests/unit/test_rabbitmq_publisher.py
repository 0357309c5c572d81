"""The announcement publisher, without a broker: what it sends, how it batches, how it fails.

The channel is a hand-written twin of aiormq's: it records what is published, and can behave as
aiormq does when RabbitMQ goes away mid-publish (it cancels the publish's futures), which a live
broker cannot be made to do on cue.
"""

import asyncio
import logging
import uuid

import pytest

from pessoas.adapters.rabbitmq_message import decode_index_message
from pessoas.adapters.rabbitmq_queue import RabbitmqIndexQueue
from pessoas.domain.errors import StorageUnavailable, StorageUncertain


class RecordingChannel:
    """Takes every publish, recording its body, routing key and properties."""

    is_closed = False

    def __init__(self):
        self.published: list[dict[str, object]] = []

    async def basic_publish(self, body, *, exchange, routing_key, properties, **kwargs):
        self.published.append(
            {"ids": decode_index_message(body), "routing_key": routing_key, "properties": properties}
        )

    def messages(self):
        return [message["ids"] for message in self.published]


class ClosingChannel(RecordingChannel):
    """Every publish is cut off by the connection closing: aiormq cancels its futures."""

    async def basic_publish(self, *args, **kwargs):
        self.published.append({})
        raise asyncio.CancelledError


class TwinQueue(RabbitmqIndexQueue):
    def __init__(self, channel, **options):
        options = {"window_ms": 0, **options}
        super().__init__("amqp://unused", "twin", reconnect_interval=0.05, **options)
        self.channel = channel
        self.dropped = 0

    async def _ready_channel(self, force: bool = False):
        return self.channel

    async def _drop_connection(self, channel=None):
        self.dropped += 1


async def test_an_announcement_is_one_message_of_its_ids_to_the_canonical_queue():
    channel = RecordingChannel()
    queue = TwinQueue(channel)
    ids = [uuid.uuid4() for _ in range(3)]
    await queue.announce(ids)
    assert channel.messages() == [ids]
    (message,) = channel.published
    assert message["routing_key"] == "twin"


async def test_messages_are_transient():
    # An announcement is not a promise: the broker need not write it to disk.
    channel = RecordingChannel()
    await TwinQueue(channel).announce([uuid.uuid4()])
    (message,) = channel.published
    assert message["properties"].delivery_mode == 1
    assert message["properties"].content_type == "application/json"


async def test_announcements_of_one_loop_turn_share_one_message_and_report_its_size():
    channel = RecordingChannel()
    sizes = []
    queue = TwinQueue(channel, on_published=sizes.append)
    ids = [uuid.uuid4() for _ in range(5)]
    await asyncio.gather(*(queue.announce([pessoa_id]) for pessoa_id in ids))
    assert channel.messages() == [ids]
    assert sizes == [5]


async def test_a_window_gathers_announcements_that_arrive_within_it():
    channel = RecordingChannel()
    queue = TwinQueue(channel, window_ms=200)
    first_ids, second_ids = [uuid.uuid4()], [uuid.uuid4(), uuid.uuid4()]
    first = asyncio.ensure_future(queue.announce(first_ids))
    await asyncio.sleep(0.02)
    assert channel.published == []  # still inside its window
    await asyncio.gather(first, queue.announce(second_ids))
    assert channel.messages() == [first_ids + second_ids]


async def test_a_message_holds_at_most_batch_max_ids():
    channel = RecordingChannel()
    queue = TwinQueue(channel, batch_max=2)
    ids = [uuid.uuid4() for _ in range(5)]
    await queue.announce(ids)
    assert channel.messages() == [ids[0:2], ids[2:4], ids[4:5]]


async def test_announcing_nothing_publishes_nothing():
    channel = RecordingChannel()
    await TwinQueue(channel).announce([])
    assert channel.published == []


async def test_close_sends_what_is_pending_before_it_drops_the_connection():
    channel = RecordingChannel()
    queue = TwinQueue(channel, window_ms=60_000)
    ids = [uuid.uuid4()]
    announcing = asyncio.ensure_future(queue.announce(ids))
    await asyncio.sleep(0.01)
    await asyncio.wait_for(queue.close(), 1)
    await announcing
    assert channel.messages() == [ids]
    assert queue.dropped == 1


async def test_a_connection_closed_mid_publish_is_unavailable_not_a_cancellation():
    channel = ClosingChannel()
    queue = TwinQueue(channel)
    with pytest.raises(StorageUnavailable) as caught:
        await queue.announce([uuid.uuid4()])
    assert not isinstance(caught.value, StorageUncertain)  # best effort: nothing to be uncertain of
    assert queue.dropped == 1  # the connection is dropped, so the next announcement reconnects


async def test_every_announcement_of_a_failed_message_is_told():
    channel = ClosingChannel()
    queue = TwinQueue(channel)
    results = await asyncio.gather(
        *(queue.announce([uuid.uuid4()]) for _ in range(3)), return_exceptions=True
    )
    assert len(channel.published) == 1
    assert all(isinstance(r, StorageUnavailable) for r in results)


async def test_nothing_is_reported_for_a_message_that_failed():
    sizes = []
    queue = TwinQueue(ClosingChannel(), on_published=sizes.append)
    with pytest.raises(StorageUnavailable):
        await queue.announce([uuid.uuid4()])
    assert sizes == []


async def test_a_caller_cancelled_while_waiting_is_still_cancelled():
    class SlowChannel(RecordingChannel):
        async def basic_publish(self, *args, **kwargs):
            await asyncio.sleep(10)

    queue = TwinQueue(SlowChannel())
    task = asyncio.create_task(queue.announce([uuid.uuid4()]))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


class UnreachableNodes:
    """No node answers: each connect fails at once, as a refused connection does."""

    def __init__(self):
        self.connects = 0

    async def connect(self, per_node_timeout):
        self.connects += 1
        raise ConnectionRefusedError("refused")

    def passed_over(self):
        pass


async def test_an_unreachable_broker_is_unavailable_and_not_tried_again_at_once():
    queue = RabbitmqIndexQueue("amqp://unused", "twin", window_ms=0, reconnect_interval=60)
    nodes = UnreachableNodes()
    queue._nodes = nodes
    with pytest.raises(StorageUnavailable, match="unreachable"):
        await queue.announce([uuid.uuid4()])
    assert nodes.connects == 1
    # Within the reconnect interval an announcement fails at once, without a connect of its own.
    with pytest.raises(StorageUnavailable, match="moments ago"):
        await queue.announce([uuid.uuid4()])
    assert nodes.connects == 1


async def test_opening_with_the_broker_down_is_a_warning_not_a_failure(caplog):
    queue = RabbitmqIndexQueue("amqp://unused", "twin", window_ms=0, reconnect_interval=60)
    nodes = UnreachableNodes()
    queue._nodes = nodes
    caplog.set_level(logging.WARNING, logger="pessoas.adapters.rabbitmq_queue")
    await queue.open()
    assert nodes.connects == 1
    assert [r.getMessage() for r in caplog.records] == [
        "RabbitMQ unreachable at start-up; announcements will reconnect"
    ]
