#!/usr/bin/env python3
"""A small process supervisor for the local stack (standard library only).

    supervise.py [--log-dir DIR] [--pid-dir DIR] [--grace SECONDS] [--restart-delay SECONDS]
                 --program NAME='COMMAND ...' [--program ...]

Starts every program, each in its own session and process group, with stdout and stderr appended
to DIR/NAME.log, and restarts any that exits (whatever its exit code) after --restart-delay
seconds (1 s by default; a program that keeps dying within 2 s of its start waits longer, up to
10 s), like compose's `restart: unless-stopped`. When a program's main process dies, whatever
is left in its process group is killed before the restart, as a container's would be.

On SIGTERM or SIGINT it forwards SIGTERM to each program's main process, restarts nothing any
more, waits up to --grace seconds for them to exit, kills the process groups of those still
running, and exits 0. The pid of each running program is kept in PID-DIR/NAME.pid.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL_S = 0.1
FAST_EXIT_S = 2.0
MAX_DELAY_S = 10.0


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} supervise[{os.getpid()}]: {message}", flush=True)


class Program:
    def __init__(self, name: str, argv: list[str], log_dir: Path, pid_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self.pid_path = pid_dir / f"{name}.pid"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.fast_exits = 0
        self.restart_at: float | None = None
        self.starts = 0

    def start(self) -> None:
        with open(self.log_path, "ab", buffering=0) as out:
            self.proc = subprocess.Popen(  # noqa: S603 - the commands are the operator's own
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: killpg reaches its children
            )
        self.started_at = time.monotonic()
        self.restart_at = None
        self.starts += 1
        self.pid_path.write_text(f"{self.proc.pid}\n")
        log(f"{self.name}: started pid {self.proc.pid} (start #{self.starts}): {shlex.join(self.argv)}")

    def kill_group(self, sig: int) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def reaped(self, code: int, stopping: bool, base_delay: float) -> None:
        """The main process exited: clean its group up and, unless stopping, plan a restart."""
        assert self.proc is not None
        ran = time.monotonic() - self.started_at
        self.kill_group(signal.SIGKILL)  # leftovers of a dead program (forked workers, ...)
        with contextlib.suppress(FileNotFoundError):
            self.pid_path.unlink()
        how = f"signal {-code}" if code < 0 else f"code {code}"
        if stopping:
            log(f"{self.name}: pid {self.proc.pid} exited ({how})")
            return
        self.fast_exits = self.fast_exits + 1 if ran < FAST_EXIT_S else 0
        delay = min(base_delay * 2 ** max(self.fast_exits - 1, 0), MAX_DELAY_S)
        log(f"{self.name}: pid {self.proc.pid} exited ({how}) after {ran:.1f} s; restarting in {delay:.1f} s")
        self.restart_at = time.monotonic() + delay


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--program", action="append", required=True, metavar="NAME=COMMAND")
    parser.add_argument("--log-dir", type=Path, default=Path("run/logs"))
    parser.add_argument("--pid-dir", type=Path, default=Path("run/pids"))
    parser.add_argument("--grace", type=float, default=20.0, help="seconds before SIGKILL")
    parser.add_argument("--restart-delay", type=float, default=1.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.log_dir.mkdir(parents=True, exist_ok=True)
    args.pid_dir.mkdir(parents=True, exist_ok=True)

    programs: list[Program] = []
    for spec in args.program:
        name, sep, command = spec.partition("=")
        if not sep or not name or not command.strip():
            print(f"supervise: bad --program {spec!r} (want NAME=COMMAND)", file=sys.stderr)
            return 2
        programs.append(Program(name, shlex.split(command), args.log_dir, args.pid_dir))

    with contextlib.suppress(PermissionError):
        os.setsid()  # out of the caller's process group: a Ctrl-C there does not reach us

    stopping = False

    def on_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        if not stopping:
            log(f"got {signal.Signals(signum).name}: stopping every program")
        stopping = True

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    for program in programs:
        program.start()

    # Run: reap and restart until told to stop.
    while not stopping:
        now = time.monotonic()
        for program in programs:
            if program.restart_at is not None:
                if now >= program.restart_at:
                    program.start()
                continue
            assert program.proc is not None
            code = program.proc.poll()
            if code is not None:
                program.reaped(code, stopping=False, base_delay=args.restart_delay)
        time.sleep(POLL_S)

    # Stop: SIGTERM to each main process (the program shuts its own children down), then wait.
    running = [p for p in programs if p.restart_at is None and p.proc and p.proc.poll() is None]
    for program in running:
        assert program.proc is not None
        log(f"{program.name}: SIGTERM to pid {program.proc.pid}")
        with contextlib.suppress(ProcessLookupError):
            program.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + args.grace
    while running and time.monotonic() < deadline:
        for program in list(running):
            assert program.proc is not None
            code = program.proc.poll()
            if code is not None:
                program.reaped(code, stopping=True, base_delay=0)
                running.remove(program)
        time.sleep(POLL_S)
    for program in running:
        assert program.proc is not None
        log(f"{program.name}: still running after {args.grace:.0f} s: SIGKILL")
        program.kill_group(signal.SIGKILL)
        program.proc.wait()
        with contextlib.suppress(FileNotFoundError):
            program.pid_path.unlink()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
