"""The publisher's handling of a connection that dies under a publish, without a broker.

The channel is a hand-written twin of aiormq's: it behaves as aiormq does when RabbitMQ goes
away mid-publish (it cancels the publish's futures), which a live broker cannot be made to do
on cue.
"""

import asyncio

import pytest

from pessoas.adapters.rabbitmq_queue import PublishNotConfirmed, RabbitmqPersistenceQueue
from pessoas.domain.errors import StorageUncertain
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
        super().__init__("amqp://unused", "twin", window_ms=0, confirm_timeout=0.5, reconnect_interval=0.05)
        self.channel = channel

    async def _ready_channel(self, force: bool = False):
        return self.channel

    async def _drop_connection(self, channel=None):
        return None


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
