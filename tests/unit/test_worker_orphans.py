"""A worker process stops by itself once dramatiq's main process is gone, and is killed if it lingers."""

import os
import signal
import threading

from pessoas.entrypoints.worker_orphans import ParentWatch, StopWhenOrphaned


class FakeWatch:
    def __init__(self) -> None:
        self.parent = 4242
        self.gone = threading.Event()

    def orphaned(self) -> bool:
        return self.gone.is_set()


def test_the_parent_is_the_process_that_started_this_one():
    watch = ParentWatch()
    assert watch.parent == os.getppid()  # pytest was not started by multiprocessing
    assert not watch.orphaned()


def _signals(monkeypatch):
    sent = []
    done = threading.Event()

    def kill(pid, signum):
        sent.append((pid, signum))
        if signum == signal.SIGKILL:
            done.set()

    monkeypatch.setattr(os, "kill", kill)
    return sent, done


def test_an_orphan_is_sent_sigterm_then_sigkill_past_the_stop_timeout(monkeypatch):
    sent, done = _signals(monkeypatch)
    watch = FakeWatch()
    middleware = StopWhenOrphaned(watch, stop_timeout_s=0.0, margin_s=0.2)
    middleware.CHECK_S = 0.01
    middleware.after_process_boot(None)
    watch.gone.set()
    assert done.wait(15)
    assert sent == [(os.getpid(), signal.SIGTERM), (os.getpid(), signal.SIGKILL)]


def test_a_worker_shutting_down_stops_watching(monkeypatch):
    sent, _ = _signals(monkeypatch)
    watch = FakeWatch()
    middleware = StopWhenOrphaned(watch)
    middleware.CHECK_S = 0.01
    middleware.after_process_boot(None)
    middleware.before_worker_shutdown(None, None)
    threading.Event().wait(0.1)
    watch.gone.set()
    threading.Event().wait(0.1)
    assert sent == []
