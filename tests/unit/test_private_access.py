"""The private-access check: it catches each kind of reach into another library, and passes on src/."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import private_access  # noqa: E402


def _found(source: str) -> list[str]:
    return [f"{f.what}: {f.name}" for f in private_access.findings_in(textwrap.dedent(source), "m.py")]


@pytest.mark.parametrize(
    ("source", "finding"),
    [
        ("pool._available_connections.pop()\n", "private attribute: _available_connections"),
        ("super()._start_asgi_task(cycle, app)\n", "private attribute: _start_asgi_task"),
        ("from uvicorn._types import ASGI3Application\n", "import from a private module: uvicorn._types"),
        ("import uvicorn._types\n", "import of a private module: uvicorn._types"),
        ("from redis.asyncio import _parsers\n", "private name imported: redis.asyncio._parsers"),
        (
            """
            import redis.asyncio as redis

            class Pool(redis.ConnectionPool):
                def take(self):
                    return self._available_connections.pop()
            """,
            "private attribute inherited by Pool: _available_connections",
        ),
    ],
)
def test_each_kind_of_private_reach_is_found(source, finding):
    assert finding in _found(source)


def test_own_privates_dunders_and_our_own_modules_pass():
    assert (
        _found(
            """
            from pessoas.adapters.memory import _Index
            from httpx import AsyncClient

            class Client(AsyncClient):
                __slots__ = ("_open",)

                def __init__(self):
                    self._ready = True
                    self._open = 0

                def ready(self):
                    return self._ready and self._open >= 0 and type(self).__name__
            """
        )
        == []
    )


def test_the_allowlist_needs_a_reason_and_goes_stale_loudly(tmp_path):
    module = tmp_path / "src" / "m.py"
    module.parent.mkdir()
    module.write_text("x = pool._free\n")
    roots = [tmp_path / "src"]
    assert private_access.check(roots, tmp_path, {}) == ["src/m.py:1: private attribute _free"]
    assert private_access.check(roots, tmp_path, {"src/m.py:_free": "why"}) == []
    module.write_text("x = pool.free\n")
    assert private_access.check(roots, tmp_path, {"src/m.py:_free": "why"}) == [
        "allowlist entry matches nothing (remove it): src/m.py:_free"
    ]
    empty_reason = tmp_path / "allow.toml"
    empty_reason.write_text('[allowed]\n"src/m.py:_free" = " "\n')
    with pytest.raises(SystemExit):
        private_access.load_allowlist(empty_reason)


def test_src_passes_with_its_allowlist():
    run = subprocess.run(
        [sys.executable, "tools/private_access.py"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout
