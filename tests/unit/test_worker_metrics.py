"""The worker's message metrics move when messages are indexed, fail, or are dead-lettered."""

import time
import uuid

import dramatiq
import pytest
from dramatiq.broker import MessageProxy
from prometheus_client import REGISTRY

from pessoas.adapters.rabbitmq_message import index_message
from pessoas.entrypoints.worker_metrics import MessageMetrics


def _value(name, labels=None):
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def _messages(outcome):
    return _value("pessoas_worker_messages_total", {"outcome": outcome})


def _message(ids, age_seconds):
    message = index_message([uuid.uuid4() for _ in range(ids)], "pessoas")
    message = message.copy(message_timestamp=int((time.time() - age_seconds) * 1000))
    return MessageProxy(message)


def test_an_indexed_message_counts_its_pessoas_and_its_age():
    metrics = MessageMetrics()
    indexed, failed = _messages("indexed"), _messages("failed")
    sizes = _value("pessoas_worker_message_pessoas_sum")
    ages = _value("pessoas_worker_message_age_seconds_count")
    metrics.after_process_message(None, _message(3, age_seconds=2.0))
    metrics.after_process_message(None, _message(1, age_seconds=0.5))
    metrics.after_process_message(None, _message(4, age_seconds=9.0), exception=RuntimeError())
    assert _messages("indexed") == indexed + 2
    assert _messages("failed") == failed + 1
    assert _value("pessoas_worker_message_pessoas_sum") == sizes + 4
    assert _value("pessoas_worker_message_age_seconds_count") == ages + 2
    # The oldest of the messages indexed within the last second, not the last one.
    assert _value("pessoas_worker_last_message_age_seconds") == pytest.approx(2.0, abs=0.5)


def test_a_nacked_message_is_counted_as_dead_lettered():
    metrics = MessageMetrics()
    dead, indexed, failed = _messages("dead_lettered"), _messages("indexed"), _messages("failed")
    metrics.after_nack(None, _message(2, age_seconds=1.0))
    metrics.after_nack(None, _message(1, age_seconds=1.0))
    assert _messages("dead_lettered") == dead + 2
    assert (_messages("indexed"), _messages("failed")) == (indexed, failed)


def test_a_message_that_could_not_be_read_is_still_counted():
    # Its argument is not a list of ids: it fails, is dead-lettered, and the metrics do not break.
    metrics = MessageMetrics()
    odd = dramatiq.Message(queue_name="pessoas", actor_name="index_pessoas", args=(), kwargs={}, options={})
    failed, dead = _messages("failed"), _messages("dead_lettered")
    metrics.after_process_message(None, MessageProxy(odd), exception=ValueError("not ids"))
    metrics.after_nack(None, MessageProxy(odd))
    assert (_messages("failed"), _messages("dead_lettered")) == (failed + 1, dead + 1)
    indexed = _messages("indexed")
    metrics.after_process_message(None, MessageProxy(odd))  # no args at all: no size to observe
    assert _messages("indexed") == indexed + 1


def test_the_lag_gauge_keeps_the_oldest_age_of_its_second():
    now = [1000.0]
    metrics = MessageMetrics(clock=lambda: now[0])

    def at(age):
        message = index_message([uuid.uuid4()], "pessoas")
        return MessageProxy(message.copy(message_timestamp=int((now[0] - age) * 1000)))

    metrics.after_process_message(None, at(5.0))
    now[0] += 0.5
    metrics.after_process_message(None, at(1.0))
    assert _value("pessoas_worker_last_message_age_seconds") == pytest.approx(5.0, abs=0.01)
    now[0] += 0.6  # a new second: the window starts again from the next message
    metrics.after_process_message(None, at(0.2))
    assert _value("pessoas_worker_last_message_age_seconds") == pytest.approx(0.2, abs=0.01)
