"""Prints, every INTERVAL seconds, the CPU each part of the stack used (from /proc/<pid>/stat).

usage: python -m bench.probes.cpu_by_process INTERVAL COUNT

Where the 1.5-CPU envelope goes during a load: the APIs, the worker, nginx, PostgreSQL, Redis,
RabbitMQ, and the load tool itself (outside the envelope), as a share of one core.
"""

from __future__ import annotations

import collections
import os
import sys
import time
from pathlib import Path

# First match wins: the supervisor's command line names the programs it runs.
_LABELS = [
    ("supervisord", "supervisor"),
    ("reap_orphans", "supervisor"),
    ("api1.sock", "api1"),
    ("api2.sock", "api2"),
    ("pessoas serve", "api"),
    ("pessoas worker", "worker"),
    ("nginx", "nginx"),
    ("postgres", "postgres"),
    ("redis-server", "redis"),
    ("beam", "rabbitmq"),
    ("bench.load", "loadtool"),
]


def _label(pid: str) -> str | None:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    return next((label for needle, label in _LABELS if needle in command), None)


def _ticks() -> collections.Counter[str]:
    used: collections.Counter[str] = collections.Counter()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        label = _label(pid)
        if label is None:
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[label] += int(fields[11]) + int(fields[12])  # utime + stime
    return used


def main() -> None:
    interval, count = float(sys.argv[1]), int(sys.argv[2])
    hertz = os.sysconf("SC_CLK_TCK")
    before = _ticks()
    for _ in range(count):
        time.sleep(interval)
        now = _ticks()
        share = {label: (now[label] - before.get(label, 0)) / hertz / interval for label in now}
        server = sum(value for label, value in share.items() if label != "loadtool")
        parts = "  ".join(f"{label}={value:.2f}" for label, value in sorted(share.items()) if value > 0.005)
        print(time.strftime("%H:%M:%S"), parts, f" total(server)={server:.2f}", flush=True)
        before = now


if __name__ == "__main__":
    main()
