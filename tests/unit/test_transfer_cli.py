"""``pessoas export`` and ``pessoas import`` over the embedded SQLite file, as processes."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
import uuid
from pathlib import Path

import orjson
import pytest

from pessoas.entrypoints.transfer_cli import LINES_SKIPPED
from tests.transfer_cli import PESSOAS, jsonl, pessoas, settings_env


def record(apelido: str, **fields: object) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "apelido": apelido,
        "nome": f"Nome de {apelido}",
        "nascimento": "1990-05-17",
        "stack": ["Python", "SQL"],
        **fields,
    }


GOOD = [record(f"pessoa{i}", stack=None if i % 3 == 0 else ["Go", f"x{i}"]) for i in range(25)]


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return settings_env(sqlite_path=str(tmp_path / "pessoas.sqlite3"))


def test_an_import_reports_each_skipped_line_and_a_summary(tmp_path, sqlite_env):
    holder = GOOD[0]
    lines = (
        jsonl(*GOOD[:3])  # lines 1-3
        + b"not json\n"  # 4
        + b"\n"  # 5: blank, neither read nor skipped
        + jsonl(
            record("semdata", nascimento="2001-02-29"),  # 6
            record(holder["apelido"]),  # 7: apelido of line 1
            {**record("outro"), "id": holder["id"]},  # 8: id of line 1
            holder,  # 9: line 1 again
            {k: v for k, v in record("semid").items() if k != "id"},  # 10
        )
    )
    source = tmp_path / "in.jsonl"
    source.write_bytes(lines)
    result = pessoas("import", str(source), env=sqlite_env)
    assert result.returncode == LINES_SKIPPED, result.stderr
    report = result.stderr.decode().splitlines()
    assert report[:-1] == [
        "pessoas import: line 4: invalid: not JSON (at column 1)",
        "pessoas import: line 6: invalid: nascimento must be a real calendar date",
        "pessoas import: line 7: conflict: apelido 'pessoa0' is held by another pessoa",
        f"pessoas import: line 8: conflict: id {holder['id']} is held by another pessoa (apelido 'pessoa0')",
        "pessoas import: line 10: invalid: id is required",
    ]
    assert report[-1] == (
        "pessoas import: 9 lines read, 3 imported, 1 already present, 3 invalid, 2 conflicts"
    )
    exported = pessoas("export", env=sqlite_env)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == jsonl(*sorted(GOOD[:3], key=lambda r: uuid.UUID(str(r["id"]))))


def test_an_export_imported_elsewhere_exports_the_same_bytes(tmp_path, sqlite_env):
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(*GOOD))
    assert pessoas("import", str(source), "--batch", "7", env=sqlite_env).returncode == 0
    first = tmp_path / "first.jsonl"
    result = pessoas("export", str(first), "--batch", "4", env=sqlite_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"pessoas export: 25 pessoas written to {first}\n".encode()
    assert sorted(orjson.loads(line)["apelido"] for line in first.read_bytes().splitlines()) == sorted(
        str(r["apelido"]) for r in GOOD
    )
    # The file holds personal data: readable by its owner only.
    assert first.stat().st_mode & 0o777 == 0o600

    elsewhere = settings_env(sqlite_path=str(tmp_path / "other" / "pessoas.sqlite3"))
    result = pessoas("import", env=elsewhere, stdin=first.read_bytes())  # from stdin
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().endswith(
        "25 lines read, 25 imported, 0 already present, 0 invalid, 0 conflicts\n"
    )
    assert pessoas("export", env=elsewhere).stdout == first.read_bytes()


def test_an_import_run_again_finds_every_pessoa_already_present(tmp_path, sqlite_env):
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(*GOOD[:5]))
    assert pessoas("import", str(source), env=sqlite_env).returncode == 0
    again = pessoas("import", str(source), env=sqlite_env)
    assert again.returncode == 0
    assert again.stderr.endswith(b"5 lines read, 0 imported, 5 already present, 0 invalid, 0 conflicts\n")


def test_an_export_that_cannot_be_written_leaves_no_file(tmp_path, sqlite_env):
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(*GOOD[:2]))
    assert pessoas("import", str(source), env=sqlite_env).returncode == 0
    result = pessoas("export", str(tmp_path / "missing" / "out.jsonl"), env=sqlite_env)
    assert result.returncode == 1
    assert b"pessoas export: " in result.stderr and b"No such file or directory" in result.stderr
    assert not (tmp_path / "missing").exists()
    assert [p.name for p in tmp_path.iterdir() if "out" in p.name] == []


def test_an_export_without_the_sqlite_file_creates_none(tmp_path, sqlite_env):
    result = pessoas("export", env=sqlite_env)
    assert result.returncode == 1
    assert (
        result.stderr
        == f"pessoas export: there is no SQLite file at {tmp_path / 'pessoas.sqlite3'}\n".encode()
    )
    assert not (tmp_path / "pessoas.sqlite3").exists()


def test_an_import_of_a_missing_file_says_so(tmp_path, sqlite_env):
    result = pessoas("import", str(tmp_path / "nowhere.jsonl"), env=sqlite_env)
    assert result.returncode == 1
    assert b"nowhere.jsonl" in result.stderr


@pytest.mark.parametrize("command", ["export", "import"])
def test_storage_in_process_memory_is_refused(command):
    result = pessoas(command, env=settings_env(storage="memory"), stdin=b"")
    assert result.returncode == 1
    assert (
        result.stderr
        == f"pessoas {command}: PESSOAS_STORAGE=memory keeps nothing beyond one process\n".encode()
    )


def test_the_progress_bar_shows_on_a_terminal_only(tmp_path, sqlite_env):
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(*GOOD))
    piped = pessoas("import", str(source), env=sqlite_env)
    assert b"%|" not in piped.stderr

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal's size
    try:
        process = subprocess.run(
            [PESSOAS, "export", str(tmp_path / "out.jsonl")],
            env=sqlite_env,
            stderr=terminal,
            stdout=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal's other end is closed: everything was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert process.returncode == 0
    assert b"100%|" in shown and b"25/25" in shown
