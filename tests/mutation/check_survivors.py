"""Fails `make mutation` when a mutant outlives the tests and is not a reviewed equivalent one.

Reads mutmut's results (run from the repository root, after `mutmut run`) and the allowlist
(tests/mutation/allowlist.toml). An allowlist entry names the mutant and records its change (the
removed and added lines, as `mutmut show` prints them) with the reason it is equivalent. When the
code around it changes, mutmut renumbers its mutants; an entry whose change no longer matches the
mutant of that name is stale and counts for nothing, so a new survivor can never hide behind it.

    .venv/bin/python -m tests.mutation.check_survivors ['pessoas.domain.model.*']
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ALLOWLIST = Path(__file__).with_name("allowlist.toml")
MUTMUT = str(Path(sys.executable).with_name("mutmut"))
# mutmut's statuses that mean no test noticed the mutant (or it was never run).
UNDETECTED = {"survived", "no tests", "suspicious", "not checked", "skipped"}


@dataclass(frozen=True)
class Entry:
    mutant: str
    removed: str
    added: str
    reason: str


def load_allowlist(path: Path = ALLOWLIST) -> dict[str, Entry]:
    data = tomllib.loads(path.read_text("utf-8"))
    entries = [Entry(**item) for item in data.get("equivalent", [])]
    for entry in entries:
        if not entry.reason.strip():
            raise SystemExit(f"{path}: {entry.mutant} has no reason")
    return {entry.mutant: entry for entry in entries}


def results() -> dict[str, str]:
    """Every mutant mutmut knows of, with its status."""
    done = subprocess.run([MUTMUT, "results", "--all", "true"], capture_output=True, text=True, check=True)
    statuses = {}
    for line in done.stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            statuses[name] = status
    return statuses


def change_of(mutant: str) -> tuple[str, str]:
    """The lines the mutant removes and adds, each group joined and stripped of indentation."""
    shown = subprocess.run([MUTMUT, "show", mutant], capture_output=True, text=True, check=True).stdout
    removed = [ln[1:].strip() for ln in shown.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    added = [ln[1:].strip() for ln in shown.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    return "\n".join(removed), "\n".join(added)


def main(patterns: list[str]) -> int:
    allowlist = load_allowlist()
    statuses = {
        name: status
        for name, status in results().items()
        if not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)
    }
    if not statuses:
        print("no mutants found: run `make mutation` (or mutmut run) first")
        return 1
    unexplained: list[str] = []
    equivalent = 0
    for name, status in sorted(statuses.items()):
        if status not in UNDETECTED:
            continue
        entry = allowlist.get(name)
        if entry is not None and status == "survived" and change_of(name) == (entry.removed, entry.added):
            equivalent += 1
            continue
        removed, added = change_of(name)
        unexplained.append(f"{name}: {status}\n    - {removed}\n    + {added}")
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    print(f"mutants: {len(statuses)} {counts}; equivalent (allowlisted): {equivalent}")
    if unexplained:
        print(f"{len(unexplained)} mutants no test detected, not in {ALLOWLIST.name}:")
        print("\n".join(unexplained))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
