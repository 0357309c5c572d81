#!/usr/bin/env python3
"""The dependency lock: compile it from pyproject.toml, or check that it still matches pyproject.toml.

    python3 requirements/lock.py compile [--upgrade]   what `make lock` (`make lock-upgrade`) runs
    python3 requirements/lock.py check                 exits 1, saying what to do, when stale

``constraints.txt`` pins one version of every package any install set can need (without hashes);
each install set (``base.txt``: serving, ``dev.txt``: tests and linters, ``stack.txt``: the local
stack's supervisor, ``bench.txt``: the load tool) is then compiled from pyproject.toml under those
constraints with the hashes of every file of its pins, so the sets never disagree about a version
and one virtual environment can take several of them. Compiling starts from the pins already
written, so a dependency moves only when pyproject.toml asks it to (or with --upgrade).

The first line of every file records a digest of the dependency tables of pyproject.toml it was
compiled from; ``check`` recomputes it, which needs neither the network nor uv.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "requirements"
PYPROJECT = ROOT / "pyproject.toml"
CONSTRAINTS = HERE / "constraints.txt"
#: Install set -> the extras of pyproject.toml it holds (besides the base dependencies).
SETS: dict[str, list[str]] = {"base": [], "dev": ["dev"], "stack": ["stack"], "bench": ["bench"]}
PYTHON_VERSION = "3.11"  # the oldest the project supports (requires-python); the lock covers later ones too
DIGEST_PREFIX = "# pyproject.toml dependencies sha256: "


def dependencies_digest() -> str:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    tables = {key: project.get(key) for key in ("requires-python", "dependencies", "optional-dependencies")}
    return hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()


def lock_files() -> list[Path]:
    return [CONSTRAINTS, *(HERE / f"{name}.txt" for name in SETS)]


def uv_compile(output: Path, extras: list[str], upgrade: bool, hashes: bool) -> None:
    uv = os.environ.get("UV", "uv")
    argv = [uv, "pip", "compile", "--quiet", str(PYPROJECT.relative_to(ROOT))]
    argv += ["--universal", "--python-version", PYTHON_VERSION, "--custom-compile-command", "make lock"]
    argv += ["--output-file", str(output.relative_to(ROOT))]
    for extra in extras:
        argv += ["--extra", extra]
    if hashes:
        argv += ["--generate-hashes", "--constraint", str(CONSTRAINTS.relative_to(ROOT))]
    else:
        argv += ["--all-extras"]
    if upgrade:
        argv += ["--upgrade"]
    subprocess.run(argv, cwd=ROOT, check=True)
    output.write_text(f"{DIGEST_PREFIX}{dependencies_digest()}\n{output.read_text()}")


def compile_tools(upgrade: bool) -> None:
    """tools.txt: uv itself, with hashes (the Makefile installs it with pip before anything else)."""
    uv = os.environ.get("UV", "uv")
    argv = [uv, "pip", "compile", "--quiet", "requirements/tools.in", "--generate-hashes"]
    argv += ["--python-version", PYTHON_VERSION, "--custom-compile-command", "make lock"]
    argv += ["--output-file", "requirements/tools.txt", *(["--upgrade"] if upgrade else [])]
    subprocess.run(argv, cwd=ROOT, check=True)


def compile_lock(upgrade: bool) -> None:
    compile_tools(upgrade)
    uv_compile(CONSTRAINTS, [], upgrade, hashes=False)
    for name, extras in SETS.items():
        uv_compile(HERE / f"{name}.txt", extras, upgrade=False, hashes=True)
    names = ", ".join(path.name for path in lock_files())
    print(f"lock: tools.txt, {names} compiled (commit requirements/)")


def check_lock() -> int:
    digest = dependencies_digest()
    stale = []
    for path in lock_files():
        first = path.read_text().partition("\n")[0] if path.exists() else ""
        if first != f"{DIGEST_PREFIX}{digest}":
            stale.append(str(path.relative_to(ROOT)))
    if stale:
        print(
            f"lock: STALE: {', '.join(stale)} not compiled from the dependencies pyproject.toml declares"
            " now; run `make lock` and commit requirements/",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["compile"] and set(argv[1:]) <= {"--upgrade"}:
        compile_lock(upgrade="--upgrade" in argv)
        return 0
    if argv == ["check"]:
        return check_lock()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
