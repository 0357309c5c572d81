"""The faults the scenarios inject, and what each may cost (the bounds every scenario asserts)."""

from __future__ import annotations

import signal
import time

from tests.faults import machine
from tests.faults.scenario import Bounds, Marks

SERVICE_DOWN_S = {"rabbitmq": 5.0, "redis": 3.0, "postgres": 5.0}
# How long the worker is paused (SIGSTOP) so that announcements wait on its queue to be purged.
WORKER_PAUSE_S = 4.0

# What each fault may cost (docs/faults.md explains each figure). The load sends ~160 requests/s.
# A 201 rests on PostgreSQL's commit alone: only a fault of PostgreSQL or of an API process may
# refuse anything; Redis and RabbitMQ cost speed, the worker costs search lag.
BOUNDS = {
    # Creations never wait on the worker: nothing should be refused at all; a few timeouts at most
    # on a noisy machine.
    "worker_sigkill": Bounds(recover_s=2.0, refusals_max=10),
    "worker_sigterm": Bounds(recover_s=2.0, refusals_max=10),
    # nginx answers 502 for the requests in flight on the killed instance (a creation among them may
    # have been committed, so a 502 may hide a stored pessoa) and routes new ones to the other.
    "api_sigkill": Bounds(
        recover_s=3.0, refusals_max=100, unconfirmed=frozenset({"502", "503", "KO:timeout"})
    ),
    "api_sigterm": Bounds(recover_s=3.0, refusals_max=20),
    # RabbitMQ down (~5 s, ~12 s with stop and start) or its queue purged: announcements are lost,
    # never a creation; the reconciler makes their pessoas searchable. Nothing refused.
    "rabbitmq_restart": Bounds(recover_s=3.0, refusals_max=0),
    "queue_purge": Bounds(recover_s=3.0, refusals_max=0),
    # Redis down 3 s and back empty: the cache misses, PostgreSQL decides apelidos and answers reads.
    # Nothing refused.
    "redis_restart": Bounds(recover_s=3.0, refusals_max=0),
    # PostgreSQL stopped 5 s (~7 s with stop and start): every route that needs it answers 503 after
    # at most the pool's 5 s wait (lookups of cached pessoas go on), ~160 requests/s over ~12 s at
    # most; a request on a connection the restart broke is refused once just after.
    "postgres_restart": Bounds(recover_s=3.0, refusals_max=2500),
}


def kill_and_wait(program: str, sig: signal.Signals):  # type: ignore[no-untyped-def]
    def fault(marks: Marks) -> None:
        old = machine.signal_program(program, sig)
        marks.injected = time.monotonic()
        marks.notes["old_pid"] = old
        marks.cleared = machine.wait_restarted(program, old)
        marks.notes["new_pid"] = machine.pid_of(program)

    return fault
