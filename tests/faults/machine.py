"""The stack and the machine's services, driven from the fault scenarios.

Everything here is synchronous (subprocesses, short polls); the scenarios call it from a thread so
that the load keeps its schedule while a service stops and starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import importlib.util
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import kombu
import orjson
import psycopg

from tests.stack_supervisor import program_pid

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "run"
LOGS = RUN / "logs"
OUT = RUN / "faults"
LOCK_PATH = Path("/tmp/pessoas-machine.lock")
# The stack runs on a PostgreSQL cluster of its own (deploy/local/stack.sh), never the machine's.
STACK_PG_PORT = int(os.environ.get("PESSOAS_STACK_PG_PORT", "5433"))
DATABASE_URL = f"postgresql://pessoas@127.0.0.1:{STACK_PG_PORT}/pessoas"
REDIS_URL = os.environ.get("PESSOAS_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_PREFIX = os.environ.get("PESSOAS_REDIS_PREFIX", "pessoas:")
AMQP_URL = os.environ.get("PESSOAS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
QUEUE = os.environ.get("PESSOAS_QUEUE_NAME", "pessoas")


def log(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", flush=True)


def sh(argv: list[str], timeout: float = 180.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs a command from the repository root; its output goes to the test's captured output."""
    env = dict(os.environ)
    env.pop("ENVELOPE", None)  # the fault suite runs the stack outside the CPU envelope
    env["PATH"] = env.get("PATH", "") + ":/usr/sbin:/sbin"
    log("$ " + " ".join(argv))
    done = subprocess.run(
        argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
    )
    if done.stdout.strip():
        print(done.stdout.rstrip(), flush=True)
    if done.stderr.strip():
        print(done.stderr.rstrip(), flush=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}")
    return done


# -- the machine lock ----------------------------------------------------------------------------


def _lock_holders() -> dict[int, str]:
    """Pids holding a flock on LOCK_PATH, from /proc/locks, with their mode (READ or WRITE)."""
    try:
        inode = LOCK_PATH.stat().st_ino
    except FileNotFoundError:
        return {}
    holders = {}
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        # "1: FLOCK  ADVISORY  WRITE 7532 fe:00:2146656 0 EOF"
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5].rsplit(":", 1)[-1] == str(inode):
            with contextlib.suppress(ValueError):
                holders[int(parts[4])] = parts[3]
    return holders


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return pids


def _inherited_lock_fd() -> int | None:
    """The descriptor on LOCK_PATH this process inherited from `flock LOCK command`, if any."""
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{name}") == str(LOCK_PATH):
                return int(name)
    return None


@contextlib.contextmanager
def machine_lock():  # type: ignore[no-untyped-def]
    """Holds /tmp/pessoas-machine.lock exclusively: nothing else heavy runs beside a stack.

    Under `flock -x LOCK ...` it runs under the parent's lock. Under `flock -s LOCK make test` (the
    shared lock of CPU-heavy work), the descriptor inherited from flock is converted to exclusive for
    the time of the stack and back to shared afterwards: flock(2) converts a lock by dropping it and
    waiting for the new mode, so two runs converting at once cannot deadlock. With no parent lock,
    it takes its own.
    """
    held = {pid: mode for pid, mode in _lock_holders().items() if pid in _ancestors()}
    if "WRITE" in held.values():
        log(f"{LOCK_PATH} is held exclusively by a parent process: running under it")
        yield
        return
    inherited = _inherited_lock_fd() if held else None
    if held and inherited is None:
        raise RuntimeError(
            f"a parent holds {LOCK_PATH} shared without passing its descriptor (flock -o?): "
            "cannot take it exclusively without waiting for ourselves"
        )
    if inherited is not None:
        log(f"converting the inherited shared {LOCK_PATH} to exclusive (waits for other holders)")
        fcntl.flock(inherited, fcntl.LOCK_EX)
        log(f"{LOCK_PATH} held exclusively")
        try:
            yield
        finally:
            fcntl.flock(inherited, fcntl.LOCK_SH)
        return
    log(f"taking {LOCK_PATH} (waits while someone else, a benchmark say, holds it)")
    with open(LOCK_PATH, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        log(f"{LOCK_PATH} taken")
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- the stack -----------------------------------------------------------------------------------


def pid_of(name: str) -> int | None:
    """The pid the supervisord of RUN runs ``name`` as (api1, api2, worker; worker1, ... in the
    cluster), or None."""
    return program_pid(RUN, name)


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def instance_healthy(n: int) -> bool:
    done = subprocess.run(
        ["curl", "-sf", "-m", "2", "--unix-socket", str(RUN / f"api{n}.sock"), "http://localhost/health"],
        capture_output=True,
    )
    return done.returncode == 0


def signal_program(name: str, sig: signal.Signals) -> int:
    pid = pid_of(name)
    if not alive(pid):
        raise RuntimeError(f"{name} is not running (pid file: {pid})")
    assert pid is not None
    log(f"{sig.name} to {name} (pid {pid})")
    os.kill(pid, sig)
    return pid


def signal_program_group(name: str, sig: signal.Signals) -> int:
    """Sends ``sig`` to the program and every process of its group (a worker's children too).

    The supervisor starts each program as the leader of a process group of its own; a program
    that is not one is refused rather than signalling a group that could hold anything else.
    """
    pid = pid_of(name)
    if not alive(pid):
        raise RuntimeError(f"{name} is not running (pid file: {pid})")
    assert pid is not None
    if os.getpgid(pid) != pid or pid == os.getpgrp():
        raise RuntimeError(f"{name} (pid {pid}) does not lead a process group of its own")
    log(f"{sig.name} to {name}'s process group ({pid})")
    os.killpg(pid, sig)
    return pid


def wait_restarted(name: str, old_pid: int, timeout: float = 60.0) -> float:
    """Waits until the supervisor runs a new `name` (and, for an API, it answers /health)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = pid_of(name)
        back = pid is not None and pid != old_pid and alive(pid)
        if back and (not name.startswith("api") or instance_healthy(int(name[3:]))):
            log(f"{name} is back as pid {pid}")
            return time.monotonic()
        time.sleep(0.1)
    raise RuntimeError(f"{name} was not restarted within {timeout:.0f} s")


def _post(path: str, body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", 9999, timeout=60)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


def wait_creations_work(timeout: float = 120.0) -> None:
    """Waits until a probe creation gets a 201 (the stack up, reservations restored)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        body = orjson.dumps(
            {"apelido": f"probe-{uuid.uuid4().hex[:12]}", "nome": "probe", "nascimento": "2000-01-01"}
        )
        try:
            last = _post("/pessoas", body)
            if last == 201:
                return
        except OSError as exc:
            last = exc
        time.sleep(0.5)
    raise RuntimeError(f"creations still fail after {timeout:.0f} s (last: {last})")


def stack_up(attempts: int = 2) -> None:
    """down, reset, up (a clean start); a failed `up` is tried once more after a `down`."""
    for attempt in range(1, attempts + 1):
        sh(["make", "stack-down"])
        sh(["make", "stack-reset"])
        if sh(["make", "stack"], check=attempt == attempts).returncode == 0:
            break
        log("make stack failed: trying once more")
    wait_creations_work()


def stack_down() -> None:
    sh(["make", "stack-down"], check=False)


# -- the system services -------------------------------------------------------------------------


def _quiet(argv: list[str], timeout: float = 10.0) -> bool:
    try:
        return (
            subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL).returncode
            == 0
        )
    except (subprocess.TimeoutExpired, FileNotFoundError):
        return False


def postgres_up() -> bool:
    """The stack's PostgreSQL answers."""
    return _quiet(["pg_isready", "-q", "-t", "2", "-h", "127.0.0.1", "-p", str(STACK_PG_PORT)])


def machine_postgres_up() -> bool:
    """The machine's default cluster (the tests' and CI's) answers."""
    return _quiet(["pg_isready", "-q", "-t", "2", "-h", "127.0.0.1", "-p", "5432"])


def redis_up() -> bool:
    try:
        done = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True, text=True, timeout=3
        )
    except subprocess.TimeoutExpired:
        return False
    return done.stdout.strip() == "PONG"


def rabbitmq_up() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


def wait_until(what: str, check, timeout: float) -> float:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            log(f"{what} answers")
            return time.monotonic()
        time.sleep(0.2)
    raise RuntimeError(f"{what} does not answer after {timeout:.0f} s")


def stack(command: str, timeout: float = 180.0) -> None:
    """One of deploy/local/stack.sh's commands (pg-stop, redis-start, ...)."""
    sh(["deploy/local/stack.sh", command], timeout=timeout)


def postgres_stop() -> None:
    """The stack's PostgreSQL, stopped through its supervisord (a fast shutdown)."""
    stack("pg-stop", timeout=120)


def postgres_start() -> float:
    stack("pg-start", timeout=120)
    return wait_until("PostgreSQL", postgres_up, 120)


def redis_stop() -> None:
    """Stops the machine's Redis, keeping nothing (stack.sh notes its memory bound and policy)."""
    stack("redis-stop")


def redis_start() -> float:
    """Starts it again, empty, as the machine does, with the bound and policy it had."""
    stack("redis-start")
    return wait_until("Redis", redis_up, 30)


def rabbitmq_stop() -> None:
    stack("rabbitmq-stop", timeout=120)


def rabbitmq_start() -> float:
    stack("rabbitmq-start", timeout=200)
    return wait_until("RabbitMQ", rabbitmq_up, 180)


def purge_queue(queue: str | None = None, wait_for_messages: float = 30.0) -> int:
    """Purges the worker's queue on the stack's RabbitMQ; returns how many messages it dropped.

    Only the messages ready on the queue: those a worker holds unacknowledged are not touched. A
    paused worker's consumers have taken the queue's first messages already (up to their
    prefetch), so it first waits up to ``wait_for_messages`` seconds for some to be ready.
    """
    name = queue or QUEUE
    deadline = time.monotonic() + wait_for_messages
    with kombu.Connection(AMQP_URL, connect_timeout=10) as connection:
        channel = connection.default_channel
        while True:
            _, ready, _ = channel.queue_declare(name, passive=True)
            if ready > 0 or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        purged = int(channel.queue_purge(name) or 0)
    log(f"queue {name}: {ready} messages ready, {purged} purged")
    return purged


def ensure_services() -> None:
    """Starts any of the machine's PostgreSQL, Redis and RabbitMQ that does not answer
    (deploy/local/lib.sh). The stack's own PostgreSQL comes and goes with the stack."""
    if machine_postgres_up() and redis_up() and rabbitmq_up():
        return
    log("a system service is down: starting it again")
    sh(["bash", "-c", "source deploy/local/lib.sh && ensure_services"], timeout=300, check=False)


def log_size(name: str) -> int:
    try:
        return (LOGS / f"{name}.log").stat().st_size
    except FileNotFoundError:
        return 0


def log_since(name: str, offset: int) -> str:
    try:
        with open(LOGS / f"{name}.log", "rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


# -- the cluster (deploy/cluster/cluster.sh; tests/cluster_faults) -------------------------------

CLUSTER_SH = ROOT / "deploy" / "cluster" / "cluster.sh"
CLUSTER_RUN = ROOT / "run" / "cluster"
_CLUSTER_TARGETS = ("RUN", "LOGS", "OUT", "DATABASE_URL", "AMQP_URL")


def cluster(*args: str, timeout: float = 600.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh(["bash", str(CLUSTER_SH), *args], timeout=timeout, check=check)


@contextlib.contextmanager
def pointed_at_cluster():  # type: ignore[no-untyped-def]
    """Points this module at the running cluster for the block, then back at the local stack.

    The programs' pids come from the cluster's supervisord (its socket in run/cluster/), the logs
    from run/cluster/logs/, the figures go to run/cluster-faults/, the audit reads the current
    PostgreSQL primary through the cluster's own multi-host URL, and a purge goes to any live
    RabbitMQ node (kombu's failover list: URLs separated by semicolons).
    """
    saved = {name: globals()[name] for name in _CLUSTER_TARGETS}
    printed = subprocess.run(
        ["bash", str(CLUSTER_SH), "env"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    env = dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)
    globals().update(
        RUN=CLUSTER_RUN,
        LOGS=CLUSTER_RUN / "logs",
        OUT=ROOT / "run" / "cluster-faults",
        DATABASE_URL=env["PESSOAS_DATABASE_URL"],
        AMQP_URL=";".join(env["PESSOAS_AMQP_URL"].split(",")),
    )
    try:
        yield
    finally:
        globals().update(saved)


def _patroni_state() -> ModuleType:
    path = ROOT / "deploy" / "cluster" / "patroni_state.py"
    spec = importlib.util.spec_from_file_location("cluster_patroni_state", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


patroni = _patroni_state()


def pg_primary() -> dict[str, Any] | None:
    """The Patroni member that is the primary (name, host, port, ...), or None."""
    member: dict[str, Any] | None = patroni.leader(patroni.cluster())
    return member


def pg_writable(host: str, port: int) -> bool:
    """That node accepts a write (a read-write session: it is a primary, out of recovery)."""
    try:
        with psycopg.connect(
            host=host,
            port=port,
            user="postgres",
            dbname="pessoas",
            connect_timeout=2,
            target_session_attrs="read-write",
            autocommit=True,
        ) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def wait_pg_whole(timeout: float = 180.0) -> float:
    """Waits until a primary runs with its synchronous standby streaming (patroni_state.whole)."""
    return wait_until("PostgreSQL primary with its synchronous standby", patroni.whole, timeout)


def wait_new_pg_primary(old: str, timeout: float = 60.0) -> dict[str, Any]:
    """Waits until a node other than ``old`` is the primary and accepts writes; returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        member = pg_primary()
        if member is not None and member["name"] != old and pg_writable(member["host"], int(member["port"])):
            log(f"{member['name']} is the primary and accepts writes")
            return member
        time.sleep(0.2)
    raise RuntimeError(
        f"no primary other than {old} within {timeout:.0f} s: {patroni.show(patroni.cluster())}"
    )


def postmaster_pid(node: str) -> int:
    """The pid of node's postmaster (first line of its postmaster.pid)."""
    pidfile = CLUSTER_RUN / "pg" / node / "data" / "postmaster.pid"
    return int(pidfile.read_text().splitlines()[0])


def pg_processes(node: str) -> list[dict[str, Any]]:
    """Every process working in node's data directory (a postmaster and its children, or what a
    dead postmaster left behind): pid, ppid, state, kernel wait channel, command line."""
    data = str(CLUSTER_RUN / "pg" / node / "data")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "cwd") != data:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            found.append(
                {
                    "pid": int(entry.name),
                    "ppid": int(fields[1]),
                    "state": fields[0],
                    "wchan": (entry / "wchan").read_text().strip(),
                    "cmdline": (entry / "cmdline").read_text().replace("\0", " ").strip(),
                }
            )
        except OSError:
            continue
    return found
