"""Runs ``pessoas export`` and ``pessoas import`` as processes, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

PESSOAS = str(Path(sys.executable).with_name("pessoas"))


def settings_env(**settings: str) -> dict[str, str]:
    """The environment with no PESSOAS_* setting but those given (``sqlite_path="..."``, say)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESSOAS_")}
    env.update({f"PESSOAS_{name.upper()}": value for name, value in settings.items()})
    return env


def pessoas(
    *args: str, env: dict[str, str], stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [PESSOAS, *args], env=env, input=stdin, capture_output=True, timeout=300, check=False
    )


def jsonl(*records: dict[str, object]) -> bytes:
    return b"".join(orjson.dumps(record) + b"\n" for record in records)
