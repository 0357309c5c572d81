"""Where the server side's CPU went during one load: per component, and the envelope in all.

    python -m bench.server_cpu record OUT_JSON [--interval 1] [--cgroup pessoas]

Runs until SIGTERM or SIGINT (bench/run.sh starts it right before the load and stops it right
after), then writes OUT_JSON: the CPU-seconds of each component (nginx, each API, the worker,
the stack's PostgreSQL, Redis, RabbitMQ, the supervisor, and, outside the envelope, the load tool
and any other PostgreSQL),
their mean over the busiest quarter of the samples, the largest resident set (RSS) any one process
of each component reached at a sample, and the envelope cgroup's own account (cpuacct.usage, and
the time its quota throttled it) when ENVELOPE=1 made one.

Processes are told apart by their command lines, and CPU is counted per process between
samples, so a process that dies mid-run keeps what it used until its last sample.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import time
from pathlib import Path
from typing import Any

import orjson

# First match wins. The supervisor's own command line names the programs it runs, so it comes first.
COMPONENTS: list[tuple[str, str]] = [
    ("supervisord", "supervisor"),
    ("api1", "api1"),
    ("api2", "api2"),
    ("api3", "api3"),
    ("pessoas serve", "api"),
    ("pessoas worker", "worker"),
    ("pessoas.entrypoints.worker", "worker"),
    ("nginx", "nginx"),
    # The stack's own cluster (deploy/local/stack.sh): its postmaster by its data directory, the
    # rest by the cluster name in their titles. Any other PostgreSQL (the machine's default cluster,
    # a psql) is outside the envelope and no part of the server side.
    ("postgres: pessoas-stack:", "postgres"),
    ("/run/postgres/data", "postgres"),
    ("postgres", "postgres-other"),
    ("redis-server", "redis"),
    ("beam", "rabbitmq"),
    ("bench.load", "loadtool"),
]
OUTSIDE_THE_ENVELOPE = {"loadtool", "postgres-other"}
CGROUP_ROOT = Path("/sys/fs/cgroup")


def component_of(command: str) -> str | None:
    return next((name for needle, name in COMPONENTS if needle in command), None)


_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def _processes() -> dict[int, tuple[str, int, int]]:
    """pid -> (component, CPU ticks used so far, resident bytes) for every process of a known component."""
    found: dict[int, tuple[str, int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            command = (
                Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
            component = component_of(command)
            if component is None:
                continue
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            resident_pages = int(Path(f"/proc/{entry}/statm").read_text().split()[1])
        except OSError:
            continue  # gone meanwhile
        # utime + stime
        found[int(entry)] = (component, int(fields[11]) + int(fields[12]), resident_pages * _PAGE_BYTES)
    return found


def _cgroup(name: str) -> dict[str, float] | None:
    usage = CGROUP_ROOT / "cpuacct" / name / "cpuacct.usage"
    stat = CGROUP_ROOT / "cpu" / name / "cpu.stat"
    if not usage.exists():
        return None
    figures = {"usage_s": int(usage.read_text()) / 1e9}
    if stat.exists():
        for line in stat.read_text().splitlines():
            key, value = line.split()
            if key == "throttled_time":
                figures["throttled_s"] = int(value) / 1e9
            elif key == "nr_throttled":
                figures["throttled_periods"] = float(value)
    return figures


class Recorder:
    def __init__(self, cgroup: str) -> None:
        self._hertz = os.sysconf("SC_CLK_TCK")
        self._cgroup = cgroup
        self._last = _processes()
        self._cgroup_start = _cgroup(cgroup)
        self._started = time.monotonic()
        self.totals: collections.Counter[str] = collections.Counter()
        # Per component, the most any one of its processes held resident at a sample (bytes).
        self.peak_rss: dict[str, int] = {}
        self.samples: list[tuple[float, dict[str, float]]] = []

    def sample(self) -> None:
        now, at = _processes(), time.monotonic()
        step: collections.Counter[str] = collections.Counter()
        for pid, (component, ticks, rss) in now.items():
            before = self._last.get(pid)
            used = ticks - before[1] if before is not None and before[0] == component else ticks
            step[component] += used / self._hertz
            self.peak_rss[component] = max(self.peak_rss.get(component, 0), rss)
        self.totals.update(step)
        self.samples.append((at - self._started, dict(step)))
        self._last = now

    def result(self) -> dict[str, Any]:
        wall = time.monotonic() - self._started
        server = {k: v for k, v in self.totals.items() if k not in OUTSIDE_THE_ENVELOPE}
        durations = [b[0] - a[0] for a, b in zip([(0.0, {}), *self.samples], self.samples, strict=False)]
        shares = [
            (
                {k: v / d for k, v in step.items()},
                sum(v for k, v in step.items() if k not in OUTSIDE_THE_ENVELOPE) / d,
            )
            for (_, step), d in zip(self.samples, durations, strict=True)
            if d > 0
        ]
        busiest = sorted(shares, key=lambda s: -s[1])[: max(1, len(shares) // 4)] if shares else []
        busiest_mean: collections.Counter[str] = collections.Counter()
        for step, _ in busiest:
            for k, v in step.items():
                busiest_mean[k] += v / len(busiest)
        envelope = None
        end = _cgroup(self._cgroup)
        if end is not None and self._cgroup_start is not None:
            envelope = {k: round(end[k] - self._cgroup_start.get(k, 0.0), 3) for k in end}
        return {
            "wall_s": round(wall, 3),
            "cpu_s": {k: round(v, 3) for k, v in sorted(self.totals.items())},
            "server_cpu_s": round(sum(server.values()), 3),
            "busiest_quarter_cores": {k: round(v, 3) for k, v in sorted(busiest_mean.items())},
            "peak_rss_mb": {k: round(v / 2**20, 1) for k, v in sorted(self.peak_rss.items())},
            "envelope": envelope,
        }


def record(out: Path, interval: float, cgroup: str) -> None:
    recorder = Recorder(cgroup)
    stop = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    while not stop:
        time.sleep(interval)
        recorder.sample()
    out.write_bytes(orjson.dumps(recorder.result(), option=orjson.OPT_INDENT_2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("--interval", type=float, default=1.0)
    rec.add_argument("--cgroup", default=os.environ.get("PESSOAS_CGROUP", "pessoas"))
    args = parser.parse_args(argv)
    record(args.out, args.interval, args.cgroup)


if __name__ == "__main__":
    main()
