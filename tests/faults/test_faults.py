"""The fault scenarios of the durability issue (make faults; docs/faults.md).

Each test runs a steady mixed load against :9999, injects one fault mid-load, keeps loading after
recovery, then audits every 201 in PostgreSQL and through the API. Figures: run/faults/NAME.json.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator

import pytest

from tests.faults import machine
from tests.faults.injections import BOUNDS, SERVICE_DOWN_S, kill_and_wait
from tests.faults.scenario import Marks, Timeline, check, run_scenario

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


def test_rabbitmq_restart() -> None:
    """3. RabbitMQ stopped and started mid-load: creations answer 503 (never 201) while it is down."""

    def fault(marks: Marks) -> None:
        machine.rabbitmq_stop()
        marks.down_from = time.monotonic()
        marks.notes["stopped_after_s"] = round(time.monotonic() - marks.injected, 2)
        time.sleep(SERVICE_DOWN_S["rabbitmq"])
        marks.down_until = time.monotonic()
        marks.cleared = machine.rabbitmq_start()

    figures = asyncio.run(run_scenario("rabbitmq_restart", fault, BOUNDS["rabbitmq_restart"], seed=3))
    check(figures)
    assert figures["creations_sent_while_down"].get("201", 0) == 0, figures["creations_sent_while_down"]


def test_redis_restart() -> None:
    """4. Redis restarted empty mid-load: uniqueness holds (pre-restart apelidos get 422), reads fall back."""

    def fault(marks: Marks) -> None:
        machine.redis_stop()
        marks.down_from = time.monotonic()
        time.sleep(SERVICE_DOWN_S["redis"])
        marks.down_until = time.monotonic()
        marks.cleared = machine.redis_start()

    # The load goes on past the restore's proof (its bound in injections.py), so the recovery is seen.
    timeline = Timeline(after_s=BOUNDS["redis_restart"].recover_s + 10.0)
    figures = asyncio.run(run_scenario("redis_restart", fault, BOUNDS["redis_restart"], timeline, seed=4))
    check(figures)
    after = figures["dups_of_pre_fault_apelidos_after_clear"]
    assert after.get("201", 0) == 0, after
    assert sum(after.values()) > 0, "the load sent no duplicate of a pre-restart apelido after the restart"


def test_postgres_restart() -> None:
    """5. PostgreSQL stopped, 5 s, started mid-load: the worker retries; nothing lost."""

    def fault(marks: Marks) -> None:
        machine.postgres_stop()
        marks.down_from = time.monotonic()
        marks.notes["stopped_after_s"] = round(time.monotonic() - marks.injected, 2)
        time.sleep(SERVICE_DOWN_S["postgres"])
        marks.down_until = time.monotonic()
        marks.cleared = machine.postgres_start()

    check(asyncio.run(run_scenario("postgres_restart", fault, BOUNDS["postgres_restart"], seed=5)))


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
