"""A worker that could lose pessoas refuses to start, before it consumes anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pessoas.entrypoints.worker_command import dramatiq_command, refusal
from pessoas.settings import Settings

PESSOAS = Path(sys.executable).with_name("pessoas")
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DATABASE_URL = "postgresql://root@127.0.0.1:5432/pessoas"


def settings(**values: object) -> Settings:
    return Settings(**{"amqp_url": None, "database_url": None, "redis_url": None, **values})  # type: ignore[arg-type]


def env_without_pessoas(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESSOAS_")}
    return {**env, **values}


def test_a_worker_with_both_urls_may_start():
    assert refusal(settings(amqp_url=AMQP_URL, database_url=DATABASE_URL)) is None


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"database_url": DATABASE_URL}, "PESSOAS_AMQP_URL"),
        ({}, "PESSOAS_AMQP_URL"),
    ],
)
def test_a_missing_url_is_named_in_one_line(values, names):
    reason = refusal(settings(**values))
    assert reason is not None
    assert names in reason
    assert "\n" not in reason


def test_pessoas_worker_without_a_database_exits_non_zero_with_one_line():
    done = subprocess.run(
        [str(PESSOAS), "worker"],
        env=env_without_pessoas(PESSOAS_AMQP_URL=AMQP_URL),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "PESSOAS_DATABASE_URL" in done.stderr


def test_dramatiqs_own_command_without_a_database_exits_non_zero_and_says_why():
    done = subprocess.run(
        dramatiq_command(processes=1, threads=1),
        env=env_without_pessoas(PESSOAS_AMQP_URL=AMQP_URL),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "PESSOAS_DATABASE_URL" in done.stderr
    assert "Worker process is ready" not in done.stderr
