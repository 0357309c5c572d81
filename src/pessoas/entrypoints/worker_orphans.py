"""Every process of a worker command stops by itself once dramatiq's main process is gone.

dramatiq's command runs its worker processes, and the exposition process of the metrics, as
children of its main process, which forwards a SIGTERM to them. Killed outright (SIGKILL, the
out-of-memory killer), the main process forwards nothing: its children would go on consuming,
or holding the metrics port, beside the command a supervisor starts in its place. Dramatiq has
no setting for this, so each child watches its parent itself:

- :class:`ParentWatch` knows the parent from :func:`multiprocessing.parent_process` (the process
  that started this one, fixed when it did), not from the parent at the time the watch starts,
  which would already be the adoptive one had the main process died during the start-up.
- :class:`StopWhenOrphaned`, a middleware, sends its worker process SIGTERM, which dramatiq's
  worker process handles as a graceful stop: the messages in hand are finished within the
  command's shutdown timeout. A process still there well past that timeout is killed.

So a supervisor only has to keep one process, the main one, running, and to give a SIGTERM to
it time to end (the shutdown timeout and a margin); it never has to find a command's children.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading

import dramatiq

from pessoas.entrypoints.worker_command import STOP_TIMEOUT_MS

logger = logging.getLogger(__name__)


class ParentWatch:
    """Whether the process that started this one is gone (this one was adopted by another)."""

    def __init__(self) -> None:
        parent = multiprocessing.parent_process()
        pid = parent.pid if parent is not None else None
        self.parent = pid if pid is not None else os.getppid()

    def orphaned(self) -> bool:
        return os.getppid() != self.parent


class StopWhenOrphaned(dramatiq.Middleware):
    """Stops this worker process gracefully when dramatiq's main process is gone (see the module)."""

    #: Seconds between two looks at the parent.
    CHECK_S = 0.5
    #: Seconds past the command's shutdown timeout after which a stopping orphan is killed.
    MARGIN_S = 10.0

    def __init__(
        self,
        watch: ParentWatch | None = None,
        stop_timeout_s: float = STOP_TIMEOUT_MS / 1000,
        margin_s: float = MARGIN_S,
    ) -> None:
        self._watch = watch if watch is not None else ParentWatch()
        self._deadline_s = stop_timeout_s + margin_s
        self._stopped = threading.Event()

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        # From the process's start, before its worker boots (which waits for the broker).
        threading.Thread(target=self._run, name="orphan-watch", daemon=True).start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self.CHECK_S):
            if self._watch.orphaned():
                logger.warning(
                    "the dramatiq main process %d is gone: stopping this worker", self._watch.parent
                )
                os.kill(os.getpid(), signal.SIGTERM)
                # A graceful stop ends the process before this wait does (this thread is a daemon).
                threading.Event().wait(self._deadline_s)
                logger.error("this orphaned worker did not stop within %g s: killing it", self._deadline_s)
                os.kill(os.getpid(), signal.SIGKILL)
                return
