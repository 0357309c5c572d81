#!/usr/bin/env python3
"""A supervisord event listener: kills what a dead program left behind in its process group.

supervisord starts each program as the leader of its own process group, and kills that group only
when it stops the program itself after the grace period. When a program's main process dies on
its own (a crash, a `kill -9`), its children would live on: the worker's forked processes would go
on consuming next to the new worker. So on every process state event this listener notes
supervisord's children (the programs' main processes), and sends SIGKILL to the process group of
each noted one that is gone, as a container runtime does when a container's first process ends.
A restarted program is a new process and a new group: it is never touched.

State events are used rather than the pid in an EXITED event because a program that dies while
still starting (BACKOFF) has an event without a pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from supervisor import childutils


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} reap_orphans: {message}", file=sys.stderr, flush=True)


def stat_fields(pid: int | str) -> list[str] | None:
    """/proc/PID/stat after the command name: state, ppid, pgrp, ... (None once the pid is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def children_of(parent: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat_fields(entry)
            if fields and int(fields[1]) == parent:
                found.add(int(entry))
    return found


def running(pid: int) -> bool:
    fields = stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def reap(noted: set[int]) -> None:
    noted |= children_of(os.getppid()) - {os.getpid()}
    for pid in sorted(noted):
        if running(pid):
            continue
        noted.discard(pid)
        with contextlib.suppress(ProcessLookupError):  # nothing was left in the group
            os.killpg(pid, signal.SIGKILL)
            log(f"pid {pid} is gone; killed what was left in its process group")


def main() -> None:
    noted: set[int] = set()
    while True:
        childutils.listener.wait(sys.stdin, sys.stdout)
        with contextlib.suppress(PermissionError):
            reap(noted)
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main()
