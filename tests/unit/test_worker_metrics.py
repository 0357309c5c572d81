"""The worker's message metrics move when messages are indexed, fail, or are dead-lettered."""

import os
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


# --- one port for a command's processes --------------------------------------------------------


def test_served_metrics_get_a_directory_of_their_own_per_port_emptied_at_each_start(tmp_path, monkeypatch):
    from pessoas.entrypoints.worker_command import empty_metrics_directory, metrics_environment
    from pessoas.settings import Settings

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    settings = Settings(database_url="postgresql://unused", metrics_port=9311, metrics_host="0.0.0.0")
    environment = metrics_environment(settings)
    directory = tmp_path / "pessoas-worker-metrics-9311"
    assert environment == {
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "dramatiq_prom_db": str(directory),
        "dramatiq_prom_host": "0.0.0.0",
        "dramatiq_prom_port": "9311",
    }
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"left by a killed process")
    (directory / "notes.txt").write_text("not ours")
    empty_metrics_directory(environment)
    assert sorted(path.name for path in directory.iterdir()) == ["notes.txt"]
    assert metrics_environment(settings.model_copy(update={"metrics_port": 0})) == {}
    assert metrics_environment(settings.model_copy(update={"metrics": False})) == {}


def test_the_command_processes_cpu_and_memory_are_summed_from_proc(tmp_path):
    from pessoas.entrypoints.worker_exposition import CommandProcesses

    def stat(pid, utime, stime, rss):
        fields = ["S", "1"] + ["0"] * 9 + [str(utime), str(stime)] + ["0"] * 8 + [str(rss)]
        (tmp_path / str(pid)).mkdir(parents=True, exist_ok=True)
        (tmp_path / str(pid) / "stat").write_text(f"{pid} (python (worker)) " + " ".join(fields))

    stat(10, utime=100, stime=50, rss=1000)
    stat(11, utime=200, stime=0, rss=500)
    (tmp_path / "10" / "task" / "10").mkdir(parents=True)
    (tmp_path / "10" / "task" / "10" / "children").write_text("11 12 ")  # 12 is gone already
    collector = CommandProcesses(10, proc=tmp_path)
    cpu, memory = collector.collect()
    ticks, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    assert cpu.name == "process_cpu_seconds"
    assert cpu.samples[0].value == pytest.approx(350 / ticks)
    assert memory.samples[0].value == 1500 * page
