"""The exposition process of a worker command: every worker process's metrics, on one port.

Dramatiq's Prometheus middleware has the command fork one process that serves the metrics its
worker processes write to prometheus_client's multiprocess directory.
:func:`serve_command_metrics` takes the place of the middleware's own, which binds its port once
and serves until killed: if dramatiq's main process is killed outright it lives on, holding the
port, and the next command's exposition process fails to bind. This one stops when the main
process is gone (:mod:`pessoas.entrypoints.worker_orphans`) and keeps trying a busy port. It
also serves the CPU time and memory of the command's processes (``process_*``), which the
multiprocess collector leaves out. It defines no metric of its own, so it writes nothing to the
directory it reads.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from dramatiq.middleware.prometheus import DB_PATH, HTTP_HOST, HTTP_PORT
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from pessoas.entrypoints.worker_orphans import ParentWatch

logger = logging.getLogger(__name__)

#: Seconds between two looks at the main process, and between two tries of a busy port.
CHECK_S = 0.5


def serve_command_metrics() -> int:
    """The exposition process: every worker process's metrics on one port, until the command ends.

    Run by dramatiq's command in a process of its own (a middleware's ``forks``); it returns, and
    the process ends, when dramatiq's main process is gone.
    """
    watch = ParentWatch()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=DB_PATH)  # type: ignore[no-untyped-call]
    registry.register(CommandProcesses(watch.parent))
    serving, refused = False, 0
    while not watch.orphaned():
        if not serving:
            try:
                start_http_server(HTTP_PORT, addr=HTTP_HOST, registry=registry)
            except OSError as exc:
                # The previous command's exposition process lets the port go within CHECK_S of
                # its main process's end; a port busy for longer is someone else's.
                if refused == 0:
                    logger.warning("worker metrics not served yet on %s:%d: %s", HTTP_HOST, HTTP_PORT, exc)
                refused += 1
            else:
                serving = True
                logger.info("worker metrics served on http://%s:%d/metrics", HTTP_HOST, HTTP_PORT)
        time.sleep(CHECK_S)
    return 0


class CommandProcesses(Collector):
    """``process_cpu_seconds_total`` and ``process_resident_memory_bytes`` of a whole worker command:
    its main process and every process it started, read from /proc at scrape time."""

    def __init__(self, main: int, proc: Path = Path("/proc")) -> None:
        self._main = main
        self._proc = proc
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._page = os.sysconf("SC_PAGE_SIZE")

    def collect(self) -> Iterator[Metric]:
        cpu, memory = 0.0, 0
        for pid in [self._main, *self._children()]:
            try:
                # The fields after the command name, which is in parentheses and may hold spaces.
                fields = (self._proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone since listed
            cpu += (int(fields[11]) + int(fields[12])) / self._ticks  # utime, stime
            memory += int(fields[21]) * self._page  # rss, in pages
        yield CounterMetricFamily(
            "process_cpu_seconds", "CPU time of the worker command's processes, user and system", cpu
        )
        yield GaugeMetricFamily(
            "process_resident_memory_bytes", "Resident memory of the worker command's processes", memory
        )

    def _children(self) -> list[int]:
        children = self._proc / str(self._main) / "task" / str(self._main) / "children"
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []
