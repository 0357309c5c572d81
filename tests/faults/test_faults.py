"""The fault scenarios of the durability issue (make faults; docs/faults.md).

Each test runs a steady mixed load against :9999, injects one fault mid-load, keeps loading after
recovery, then audits every 201 in PostgreSQL and through the API (read back by id, found by
search, counted). Figures: run/faults/NAME.json.

A 201 rests on PostgreSQL's commit alone, so a fault of Redis or RabbitMQ refuses nothing: only
PostgreSQL down refuses creations (503), and an API process killed fails what it had in hand.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults import machine
from tests.faults.injections import BOUNDS, SERVICE_DOWN_S, WORKER_PAUSE_S, kill_and_wait
from tests.faults.load import CREATE
from tests.faults.scenario import Marks, check, run_scenario

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("stack")]


@pytest.fixture(autouse=True)
def services_back() -> Iterator[None]:
    """A scenario that failed halfway must not leave a system service stopped."""
    try:
        yield
    finally:
        machine.ensure_services()


def test_worker_sigkill() -> None:
    """1. kill -9 of the worker mid-load: the supervisor restarts it; nothing lost, nothing doubled."""
    check(
        asyncio.run(
            run_scenario(
                "worker_sigkill", kill_and_wait("worker", signal.SIGKILL), BOUNDS["worker_sigkill"], seed=1
            )
        )
    )


def test_api_sigkill() -> None:
    """2. kill -9 of one API instance: nginx routes around it; what it acknowledged is not lost."""
    check(
        asyncio.run(
            run_scenario("api_sigkill", kill_and_wait("api1", signal.SIGKILL), BOUNDS["api_sigkill"], seed=2)
        )
    )


def refused_creations(figures: dict[str, Any]) -> dict[str, int]:
    """The refusals (502, 503, timeouts) answered to creations, by status."""
    by_route: dict[str, dict[str, int]] = figures["refusals_by_route"]
    return by_route.get(CREATE, {})


def test_rabbitmq_restart() -> None:
    """3. RabbitMQ stopped and started mid-load: creations go on (201); only announcements are lost,
    and the reconciler makes their pessoas searchable."""

    def fault(marks: Marks) -> None:
        machine.rabbitmq_stop()
        marks.down_from = time.monotonic()
        marks.notes["stopped_after_s"] = round(time.monotonic() - marks.injected, 2)
        time.sleep(SERVICE_DOWN_S["rabbitmq"])
        marks.down_until = time.monotonic()
        marks.cleared = machine.rabbitmq_start()

    figures = asyncio.run(run_scenario("rabbitmq_restart", fault, BOUNDS["rabbitmq_restart"], seed=3))
    check(figures)
    assert refused_creations(figures) == {}, figures["refusals_by_route"]
    while_down = figures["creations_sent_while_down"]
    assert while_down.get("201", 0) > 0 and "503" not in while_down, while_down


def test_redis_restart() -> None:
    """4. Redis restarted empty mid-load: nothing refused; uniqueness holds (pre-restart apelidos
    get 422 from PostgreSQL's unique index), reads fall back to PostgreSQL."""

    def fault(marks: Marks) -> None:
        machine.redis_stop()
        marks.down_from = time.monotonic()
        time.sleep(SERVICE_DOWN_S["redis"])
        marks.down_until = time.monotonic()
        marks.cleared = machine.redis_start()

    figures = asyncio.run(run_scenario("redis_restart", fault, BOUNDS["redis_restart"], seed=4))
    check(figures)
    assert refused_creations(figures) == {}, figures["refusals_by_route"]
    while_down = figures["creations_sent_while_down"]
    assert while_down.get("201", 0) > 0 and "503" not in while_down, while_down
    after = figures["dups_of_pre_fault_apelidos_after_clear"]
    assert after.get("201", 0) == 0, after
    assert sum(after.values()) > 0, "the load sent no duplicate of a pre-restart apelido after the restart"


def test_postgres_restart() -> None:
    """5. PostgreSQL stopped, 5 s, started mid-load: creations answer 503 meanwhile (never 201),
    nothing promised is lost, and creations go on once it is back."""

    def fault(marks: Marks) -> None:
        machine.postgres_stop()
        marks.down_from = time.monotonic()
        marks.notes["stopped_after_s"] = round(time.monotonic() - marks.injected, 2)
        time.sleep(SERVICE_DOWN_S["postgres"])
        marks.down_until = time.monotonic()
        marks.cleared = machine.postgres_start()

    figures = asyncio.run(run_scenario("postgres_restart", fault, BOUNDS["postgres_restart"], seed=5))
    check(figures)
    assert figures["creations_sent_while_down"].get("201", 0) == 0, figures["creations_sent_while_down"]
    assert refused_creations(figures).get("503", 0) > 0, "no creation was refused while PostgreSQL was down"


def test_queue_purge() -> None:
    """8. The worker's queue purged mid-load: the worker is paused (SIGSTOP) so that announcements
    wait on the queue, the queue is purged, the worker goes on (SIGCONT). Nothing is refused, and
    the purged announcements' pessoas are made searchable by the reconciler."""

    def fault(marks: Marks) -> None:
        pid = machine.signal_program_group("worker", signal.SIGSTOP)
        marks.injected = time.monotonic()
        try:
            time.sleep(WORKER_PAUSE_S)
            marks.notes["purged_messages"] = machine.purge_queue()
        finally:
            machine.signal_program_group("worker", signal.SIGCONT)
        marks.cleared = time.monotonic()
        marks.notes["worker_pid"] = pid
        assert machine.pid_of("worker") == pid, "the paused worker was replaced"

    figures = asyncio.run(run_scenario("queue_purge", fault, BOUNDS["queue_purge"], seed=8))
    check(figures)
    assert refused_creations(figures) == {}, figures["refusals_by_route"]
    assert figures["fault_notes"]["purged_messages"] > 0, "nothing was on the queue to purge"
    assert figures["logs"]["worker"]["reconciled_lines"] > 0, "the reconciler indexed nothing"


def test_api_sigterm() -> None:
    """6a. SIGTERM to one API instance: it finishes what it accepted; the supervisor restarts it."""
    check(
        asyncio.run(
            run_scenario("api_sigterm", kill_and_wait("api1", signal.SIGTERM), BOUNDS["api_sigterm"], seed=6)
        )
    )


def test_worker_sigterm() -> None:
    """6b. SIGTERM to the worker: it finishes its batch; nothing lost or doubled."""
    check(
        asyncio.run(
            run_scenario(
                "worker_sigterm", kill_and_wait("worker", signal.SIGTERM), BOUNDS["worker_sigterm"], seed=7
            )
        )
    )
