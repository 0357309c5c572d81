"""The faults the scenarios inject, and what each may cost (the bounds every scenario asserts)."""

from __future__ import annotations

import signal
import time

from tests.faults import machine
from tests.faults.scenario import Bounds, Marks

SERVICE_DOWN_S = {"rabbitmq": 5.0, "redis": 3.0, "postgres": 5.0}

# What each fault may cost (docs/faults.md explains each figure). The load sends ~160 requests/s.
BOUNDS = {
    # Creations never wait on the worker: nothing should be refused at all; a few timeouts at most
    # on a noisy machine.
    "worker_sigkill": Bounds(recover_s=2.0, refusals_max=10),
    "worker_sigterm": Bounds(recover_s=2.0, refusals_max=10),
    # nginx answers 502 for the requests in flight on the killed instance (a creation among them may
    # have been confirmed, so a 502 may hide a stored pessoa) and routes new ones to the other.
    "api_sigkill": Bounds(
        recover_s=3.0, refusals_max=100, unconfirmed=frozenset({"502", "503", "KO:timeout"})
    ),
    "api_sigterm": Bounds(recover_s=3.0, refusals_max=20),
    # Creations are refused (503) for the whole time RabbitMQ is down (~5 s, ~12 s with stop/start):
    # at ~100 creations/s, at most ~2,000 refusals.
    "rabbitmq_restart": Bounds(recover_s=5.0, refusals_max=2500),
    # Creations are refused while Redis is down (3 s) and until the reservations are restored: the
    # restore first waits the publish deadline (30 s) and the close's bound (2 s), then four rounds
    # of RabbitMQ's statistics each more than two statistics intervals apart (2 x 5 s on the
    # machine's broker): ~55 s, at ~100 creations/s.
    "redis_restart": Bounds(recover_s=70.0, refusals_max=8000),
    # Searches and counts need PostgreSQL (~15/s over ~7 s); creations and lookups go on.
    "postgres_restart": Bounds(recover_s=3.0, refusals_max=300),
}


def kill_and_wait(program: str, sig: signal.Signals):  # type: ignore[no-untyped-def]
    def fault(marks: Marks) -> None:
        old = machine.signal_program(program, sig)
        marks.injected = time.monotonic()
        marks.notes["old_pid"] = old
        marks.cleared = machine.wait_restarted(program, old)
        marks.notes["new_pid"] = machine.pid_of(program)

    return fault
