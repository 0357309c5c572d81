"""Faults on the clustered topology (make cluster-faults; deploy/cluster/cluster.sh).

The same scenarios and the same exact audit as tests/faults (a steady mixed load on :9999, the
fault mid-load, load after it, then every 201 checked in PostgreSQL and read back through the
API), run against the cluster instead of the single-box stack: kill -9 of a RabbitMQ node, kill -9
of the Redis primary (the Sentinels fail over), the PostgreSQL standby stopped, and kill -9 of an
API and a worker together. Figures: run/cluster-faults/NAME.json.

A 201 rests on the PostgreSQL primary's commit alone: a RabbitMQ node or the Redis primary lost
refuses nothing (announcements and cached keys may be lost; the reconciler and PostgreSQL make
up for them), so their bounds allow no refusal at all.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import machine
from tests.faults.scenario import Bounds, Marks, check, run_scenario

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "deploy" / "cluster" / "cluster.sh"
CLUSTER_RUN = ROOT / "run" / "cluster"
DOWN_S = 5.0

BOUNDS = {
    "rabbitmq_node_sigkill": Bounds(recover_s=3.0, refusals_max=0),
    "redis_primary_sigkill": Bounds(recover_s=3.0, refusals_max=0),
    # Reads on the standby's broken connections fail once before they go to the primary.
    "postgres_standby_stopped": Bounds(recover_s=3.0, refusals_max=50),
    # As the single-box api_sigkill: nginx answers 502 for what the killed API had in hand.
    "api_and_worker_sigkill": Bounds(
        recover_s=3.0, refusals_max=100, unconfirmed=frozenset({"502", "503", "KO:timeout"})
    ),
}


def cluster(*args: str, timeout: float = 600.0) -> None:
    machine.sh(["bash", str(CLUSTER), *args], timeout=timeout)


def redis_cli(port: int, *args: str) -> str:
    done = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=5)
    return done.stdout


@pytest.fixture(scope="module", autouse=True)
def running_cluster() -> Iterator[None]:
    """The cluster, up for the module and down at the end; the fault harness pointed at it."""
    saved = {name: getattr(machine, name) for name in ("RUN", "PIDS", "LOGS", "OUT", "DATABASE_URL")}
    with machine.machine_lock():
        machine.sh(["bash", str(CLUSTER), "down"], check=False)
        try:
            cluster("up")
            machine.RUN = CLUSTER_RUN
            machine.PIDS = CLUSTER_RUN / "pids"
            machine.LOGS = CLUSTER_RUN / "logs"
            machine.OUT = ROOT / "run" / "cluster-faults"
            machine.DATABASE_URL = "postgresql://postgres@127.0.0.1:5441/pessoas"
            yield
        finally:
            for name, value in saved.items():
                setattr(machine, name, value)
            machine.sh(["bash", str(CLUSTER), "down"], check=False)


def _pid_in(path: Path) -> int:
    return int(path.read_text().strip())


def test_rabbitmq_node_sigkill() -> None:
    """kill -9 of the first node of everyone's list (the likeliest leader and connection)."""

    def fault(marks: Marks) -> None:
        pid = _pid_in(CLUSTER_RUN / "rabbitmq" / "c1" / "pid")
        os.kill(pid, signal.SIGKILL)
        marks.injected = time.monotonic()
        marks.notes["killed_pid"] = pid
        time.sleep(DOWN_S)  # two nodes of three: the quorum queue keeps its majority
        cluster("start-rabbit", "1")
        marks.cleared = time.monotonic()

    check(asyncio.run(run_scenario("rabbitmq_node_sigkill", fault, BOUNDS["rabbitmq_node_sigkill"], seed=11)))


def test_redis_primary_sigkill_and_failover() -> None:
    """kill -9 of the Redis primary: the Sentinels promote the replica; the APIs follow it."""

    def fault(marks: Marks) -> None:
        pid = _pid_in(CLUSTER_RUN / "redis" / "primary.pid")
        os.kill(pid, signal.SIGKILL)
        marks.injected = time.monotonic()
        deadline = time.monotonic() + 60
        while "6392" not in redis_cli(26391, "sentinel", "get-master-addr-by-name", "pessoas"):
            assert time.monotonic() < deadline, "no failover within 60 s"
            time.sleep(0.2)
        marks.notes["failover_s"] = round(time.monotonic() - marks.injected, 2)
        # The old primary comes back empty; the Sentinels make it a replica of the new one. Nothing
        # waits for it (Redis is a cache): the scenario waits only to leave the topology whole.
        cluster("start-redis", "primary")
        while "master_link_status:up" not in redis_cli(6391, "info", "replication"):
            assert time.monotonic() < deadline + 60, "the old primary never followed the new one"
            time.sleep(0.2)
        marks.cleared = time.monotonic()
        marks.notes["replica_back_s"] = round(marks.cleared - marks.injected, 2)

    check(asyncio.run(run_scenario("redis_primary_sigkill", fault, BOUNDS["redis_primary_sigkill"], seed=12)))


def test_postgres_standby_stopped() -> None:
    """The standby stopped: search and get-by-id fall back to the primary."""

    def fault(marks: Marks) -> None:
        cluster("stop-standby")
        marks.injected = marks.down_from = time.monotonic()
        time.sleep(DOWN_S)
        marks.down_until = time.monotonic()
        cluster("start-standby")
        marks.cleared = time.monotonic()

    bounds = BOUNDS["postgres_standby_stopped"]
    check(asyncio.run(run_scenario("postgres_standby_stopped", fault, bounds, seed=13)))


def test_api_and_worker_sigkill_together() -> None:
    def fault(marks: Marks) -> None:
        api = machine.signal_program("api1", signal.SIGKILL)
        worker = machine.signal_program("worker1", signal.SIGKILL)
        marks.injected = time.monotonic()
        machine.wait_restarted("api1", api)
        marks.cleared = machine.wait_restarted("worker1", worker)

    bounds = BOUNDS["api_and_worker_sigkill"]
    check(asyncio.run(run_scenario("api_and_worker_sigkill", fault, bounds, seed=14)))
