"""The dependency lock (requirements/) is compiled from the pyproject.toml it sits beside.

`requirements/lock.py check` is what `make check` (and so CI) runs first: a pyproject.toml whose
dependencies changed without `make lock` must stop the build with a message saying so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "requirements" / "lock.py"), "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_committed_lock_matches_pyproject() -> None:
    done = check(ROOT)
    assert done.returncode == 0, done.stderr


def test_a_dependency_added_without_relocking_is_refused(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"orjson>=3.10",' in pyproject
    (tmp_path / "pyproject.toml").write_text(pyproject.replace('"orjson>=3.10",', '"orjson>=3.10", "six",'))
    done = check(tmp_path)
    assert done.returncode == 1
    assert "STALE" in done.stderr and "make lock" in done.stderr


def test_settings_outside_the_dependency_tables_need_no_relock(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    pyproject = (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(pyproject.replace("line-length = 110", "line-length = 100"))
    assert check(tmp_path).returncode == 0


def test_every_pin_of_an_install_set_carries_hashes() -> None:
    for name in ("base", "dev", "stack", "bench"):
        lines = (ROOT / "requirements" / f"{name}.txt").read_text().splitlines()
        pins = [i for i, line in enumerate(lines) if line and not line.startswith((" ", "#"))]
        assert pins, name
        for i in pins:
            assert "==" in lines[i], lines[i]
            assert lines[i + 1].strip().startswith("--hash=sha256:"), lines[i]
