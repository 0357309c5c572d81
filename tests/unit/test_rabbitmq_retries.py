"""RetriesThatNeverDrop: a message whose retry cannot be enqueued is failed (dead-lettered), never acked.

Driven through dramatiq's public Retries hook with a stub broker and a message proxy, as the
worker calls it after an actor raised.
"""

from __future__ import annotations

import logging

import dramatiq
import pytest
from dramatiq.broker import MessageProxy
from dramatiq.brokers.stub import StubBroker

from pessoas.adapters.rabbitmq_retries import RetriesThatNeverDrop


class EnqueueFails(StubBroker):
    """A broker whose connection is gone when the retry copy is sent."""

    def __init__(self, retries: RetriesThatNeverDrop) -> None:
        super().__init__(middleware=[retries])
        self.enqueued: list[tuple[dramatiq.Message, int | None]] = []
        self.fail_enqueue = True

    def enqueue(self, message, *, delay=None):
        self.enqueued.append((message, delay))
        if self.fail_enqueue:
            raise dramatiq.ConnectionClosed(OSError("connection reset"))
        return message


@pytest.fixture
def retries():
    return RetriesThatNeverDrop(max_retries=3)


@pytest.fixture
def broker(retries):
    broker = EnqueueFails(retries)

    @dramatiq.actor(broker=broker, actor_name="index_pessoas", queue_name="pessoas", throws=(ValueError,))
    def index_pessoas(ids):  # pragma: no cover - never run, only looked up
        return None

    return broker


def _message() -> MessageProxy:
    return MessageProxy(
        dramatiq.Message(queue_name="pessoas", actor_name="index_pessoas", args=([],), kwargs={}, options={})
    )


def test_a_retry_that_cannot_be_enqueued_fails_the_message(retries, broker, caplog):
    message = _message()
    with caplog.at_level(logging.ERROR, logger="pessoas.adapters.rabbitmq_retries"):
        retries.after_process_message(broker, message, exception=RuntimeError("database down"))
    assert len(broker.enqueued) == 1  # the retry was attempted...
    assert message.failed is True  # ...and, lost, the original is failed rather than acked
    assert any(message.message_id in r.getMessage() for r in caplog.records)


def test_a_retry_that_is_enqueued_leaves_the_message_to_be_acked(retries, broker):
    broker.fail_enqueue = False
    message = _message()
    retries.after_process_message(broker, message, exception=RuntimeError("database down"))
    assert len(broker.enqueued) == 1
    assert message.failed is False
    assert message.options["retries"] == 1


def test_a_message_that_can_never_succeed_is_failed_without_a_retry(retries, broker):
    message = _message()
    retries.after_process_message(broker, message, exception=ValueError("not ids"))
    assert broker.enqueued == []
    assert message.failed is True


def test_a_message_out_of_retries_is_failed_without_a_retry(retries, broker):
    message = _message()
    message.options["retries"] = 3
    retries.after_process_message(broker, message, exception=RuntimeError("database down"))
    assert broker.enqueued == []
    assert message.failed is True


def test_a_message_that_succeeded_is_left_alone(retries, broker):
    message = _message()
    retries.after_process_message(broker, message, result=None)
    assert broker.enqueued == []
    assert message.failed is False
