"""The worker's metrics move when messages are stored or fail, and when rows are written."""

import time

import dramatiq
import pytest
from dramatiq.broker import MessageProxy
from prometheus_client import REGISTRY

from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.adapters.prometheus_metrics import CountingWriter
from pessoas.domain.errors import StorageUnavailable
from pessoas.entrypoints.worker_metrics import MessageMetrics
from tests.contracts.pessoas_factory import make_pessoa


def _value(name, labels=None):
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def _message(pessoas, age_seconds):
    message = dramatiq.Message(
        queue_name="q",
        actor_name="store",
        args=([{"apelido": str(i)} for i in range(pessoas)],),
        kwargs={},
        options={},
        message_timestamp=int((time.time() - age_seconds) * 1000),
    )
    return MessageProxy(message)


def test_a_stored_message_counts_its_pessoas_and_its_age():
    metrics = MessageMetrics()
    stored = _value("pessoas_worker_messages_total", {"outcome": "stored"})
    failed = _value("pessoas_worker_messages_total", {"outcome": "failed"})
    sizes = _value("pessoas_worker_message_pessoas_sum")
    metrics.after_process_message(None, _message(3, age_seconds=2.0))
    metrics.after_process_message(None, _message(1, age_seconds=0.5))
    metrics.after_process_message(None, _message(4, age_seconds=9.0), exception=RuntimeError())
    assert _value("pessoas_worker_messages_total", {"outcome": "stored"}) == stored + 2
    assert _value("pessoas_worker_messages_total", {"outcome": "failed"}) == failed + 1
    assert _value("pessoas_worker_message_pessoas_sum") == sizes + 4
    # The oldest of the messages stored within the last second, not the last one.
    assert _value("pessoas_worker_last_message_age_seconds") == pytest.approx(2.0, abs=0.5)


async def test_the_counting_writer_counts_rows_batches_and_failures():
    writer = CountingWriter(InMemoryPessoaStore(), clock=time.perf_counter)
    rows, batches = _value("pessoas_worker_stored_rows_total"), _value("pessoas_worker_batch_size_count")
    pessoas = [make_pessoa() for _ in range(3)]
    assert await writer.add_many(pessoas) == 3
    assert await writer.add_many(pessoas) == 0  # already stored: skipped
    assert _value("pessoas_worker_stored_rows_total") == rows + 3
    assert _value("pessoas_worker_batch_size_count") == batches + 2

    class DownWriter:
        async def add_many(self, pessoas):
            raise StorageUnavailable("down")

    errors = _value("pessoas_backend_errors_total", {"component": "storage", "operation": "add_many"})
    with pytest.raises(StorageUnavailable):
        await CountingWriter(DownWriter(), clock=time.perf_counter).add_many(pessoas)
    assert (
        _value("pessoas_backend_errors_total", {"component": "storage", "operation": "add_many"})
        == errors + 1
    )
