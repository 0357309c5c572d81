"""The publisher's handling of a connection that dies under a publish, without a broker.

The channel is a hand-written twin of aiormq's: it behaves as aiormq does when RabbitMQ goes
away mid-publish (it cancels the publish's futures), which a live broker cannot be made to do
on cue.
"""

import asyncio
import time

import pytest

from pessoas.adapters.rabbitmq_queue import PublishNotConfirmed, RabbitmqPersistenceQueue
from pessoas.domain.errors import StorageUnavailable, StorageUncertain
from tests.contracts.pessoas_factory import make_pessoa


class ClosingChannel:
    """Every publish is cut off by the connection closing: aiormq cancels its futures."""

    is_closed = False

    def __init__(self):
        self.publishes = 0

    async def basic_publish(self, *args, **kwargs):
        self.publishes += 1
        raise asyncio.CancelledError


class TwinQueue(RabbitmqPersistenceQueue):
    def __init__(self, channel):
        super().__init__("amqp://unused", "twin", window_ms=0, publish_deadline=0.5, reconnect_interval=0.05)
        self.channel = channel
        self.connect_s = 0.0
        self.dropped = []  # the clock at each connection dropped

    async def _ready_channel(self, force: bool = False):
        await asyncio.sleep(self.connect_s)
        return self.channel

    async def _drop_connection(self, channel=None):
        self.dropped.append(time.monotonic())


async def test_a_connection_closed_mid_publish_is_unconfirmed_not_a_cancellation():
    channel = ClosingChannel()
    queue = TwinQueue(channel)
    with pytest.raises(PublishNotConfirmed) as caught:
        await queue.put(make_pessoa())
    assert isinstance(caught.value, StorageUncertain)
    assert channel.publishes >= 2  # it retried until its deadline


async def test_a_caller_cancelled_while_waiting_is_still_cancelled():
    class SlowChannel(ClosingChannel):
        async def basic_publish(self, *args, **kwargs):
            await asyncio.sleep(10)

    queue = TwinQueue(SlowChannel())
    task = asyncio.create_task(queue.put(make_pessoa()))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_each_confirmed_message_reports_its_size_and_confirm_time():
    from pamqp.commands import Basic

    class AckingChannel(ClosingChannel):
        async def basic_publish(self, *args, **kwargs):
            self.publishes += 1
            await asyncio.sleep(0.01)
            return Basic.Ack()

    confirmed = []
    queue = TwinQueue(AckingChannel())
    queue._on_confirmed = lambda size, seconds: confirmed.append((size, seconds))
    await asyncio.gather(*(queue.put(make_pessoa()) for _ in range(5)))
    assert [size for size, _ in confirmed] == [5]  # one message for the five puts of one loop turn
    assert confirmed[0][1] >= 0.01


class UnconfirmedChannel(ClosingChannel):
    """RabbitMQ took the frame but its confirm does not come before the timeout aiormq was given."""

    def __init__(self):
        super().__init__()
        self.sent_at = []

    async def basic_publish(self, *args, timeout, **kwargs):
        self.publishes += 1
        self.sent_at.append(time.monotonic())
        await asyncio.sleep(timeout)
        raise TimeoutError


async def test_a_publish_unconfirmed_at_its_deadline_is_uncertain_and_its_connection_is_dropped():
    channel = UnconfirmedChannel()
    queue = TwinQueue(channel)
    since = time.monotonic()
    with pytest.raises(PublishNotConfirmed):
        await queue.put(make_pessoa(), since)
    deadline = since + 0.5
    assert queue.dropped, "the connection a late confirm could still come on was kept"
    assert queue.dropped[0] >= deadline - 0.01
    assert all(sent < deadline for sent in channel.sent_at)  # nothing sent after the deadline
    assert queue.fence_delay == pytest.approx(0.5 + 2.0)  # the deadline plus the close's bound


async def test_the_deadline_runs_from_the_reservation_not_from_the_publish():
    channel = UnconfirmedChannel()
    queue = TwinQueue(channel)
    since = time.monotonic() - 0.4  # reserved 0.4 s ago: 0.1 s are left
    started = time.monotonic()
    with pytest.raises(PublishNotConfirmed):
        await queue.put(make_pessoa(), since)
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize("connect_s", [0.0, 0.6], ids=["reserved too long ago", "connected too late"])
async def test_a_batch_past_its_deadline_before_sending_is_refused_and_never_sent(connect_s):
    channel = UnconfirmedChannel()
    queue = TwinQueue(channel)
    queue.connect_s = connect_s
    since = time.monotonic() - (0.6 if connect_s == 0.0 else 0.0)
    with pytest.raises(StorageUnavailable) as caught:
        await queue.put(make_pessoa(), since)
    assert not isinstance(caught.value, StorageUncertain)  # certain: the apelido is released
    assert channel.publishes == 0
