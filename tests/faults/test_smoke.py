"""A short fault smoke in `make test`: the full suite is `make faults` (tests/faults/test_faults.py).

Two scenarios that touch only the stack's own processes (never the machine's PostgreSQL, Redis or
RabbitMQ, which other test runs may be using), on a shorter timeline, under the same audit. The
stack fixture holds the machine lock exclusively for the module (see machine.machine_lock).
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.faults.injections import BOUNDS, kill_and_wait
from tests.faults.scenario import Timeline, check, run_scenario

pytestmark = [pytest.mark.fault_smoke, pytest.mark.usefixtures("stack")]

SHORT = Timeline(before_s=4.0, after_s=5.0, min_total_s=10.0)


def test_smoke_worker_sigkill() -> None:
    fault = kill_and_wait("worker", signal.SIGKILL)
    check(asyncio.run(run_scenario("smoke_worker_sigkill", fault, BOUNDS["worker_sigkill"], SHORT, seed=11)))


def test_smoke_api_sigkill() -> None:
    fault = kill_and_wait("api1", signal.SIGKILL)
    check(asyncio.run(run_scenario("smoke_api_sigkill", fault, BOUNDS["api_sigkill"], SHORT, seed=12)))
