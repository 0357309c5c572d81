"""A backup of the stack's PostgreSQL under the fault suite's load, then its restore (make faults).

The "fault" is deploy/local/backup.sh's backup, taken mid-load: it must refuse, lose and double
nothing (the scenario's whole audit). Its snapshot is one the test exported and read itself, so
the restore is checked exactly: a fresh database holds the same count and the same rows, field
for field, and every one of them is searchable.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.faults import machine
from tests.faults.scenario import Bounds, Marks, check, run_scenario

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("stack")]

BACKUP_SH = machine.ROOT / "deploy" / "local" / "backup.sh"
ROWS = "SELECT id::text, apelido, nome, nascimento, stack FROM pessoas ORDER BY id"
SEARCH_IDS = "SELECT id::text FROM pessoas_search ORDER BY id"
# A backup refuses nothing; a few client timeouts at most on a noisy machine.
BACKUP_BOUNDS = Bounds(recover_s=2.0, refusals_max=10)


def _backup_sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(BACKUP_SH), *args],
        env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "PESSOAS_DATABASE_URL": machine.DATABASE_URL},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )


def _database_url(name: str) -> str:
    return machine.DATABASE_URL.rsplit("/", 1)[0] + "/" + name


def test_backup_under_load_restores_its_snapshot(tmp_path: Path) -> None:
    dump = tmp_path / "stack.dump"
    snapshot: dict[str, Any] = {}

    def fault(marks: Marks) -> None:
        with psycopg.connect(machine.DATABASE_URL) as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            name = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            snapshot["rows"] = conn.execute(ROWS).fetchall()
            snapshot["search_ids"] = [row[0] for row in conn.execute(SEARCH_IDS)]
            started = time.monotonic()
            _backup_sh("backup", str(dump), f"--snapshot={name}")
            marks.notes["backup_s"] = round(time.monotonic() - started, 3)
            conn.rollback()
        marks.cleared = time.monotonic()
        marks.notes["snapshot_rows"] = len(snapshot["rows"])
        marks.notes["snapshot_not_yet_searchable"] = len(snapshot["rows"]) - len(snapshot["search_ids"])
        marks.notes["dump_bytes"] = dump.stat().st_size

    figures = asyncio.run(run_scenario("backup_under_load", fault, BACKUP_BOUNDS, seed=21))
    check(figures)
    assert figures["creations_by_phase"].get("during", {}).get("201", 0) > 0, "no creation during the backup"

    restored = f"pessoas_restored_{uuid.uuid4().hex[:8]}"
    admin = _database_url("postgres")
    try:
        started = time.monotonic()
        _backup_sh("restore", str(dump), _database_url(restored))
        restore_s = time.monotonic() - started
        with psycopg.connect(_database_url(restored)) as conn:
            rows = conn.execute(ROWS).fetchall()
            search_ids = [row[0] for row in conn.execute(SEARCH_IDS)]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(restored)))
    machine.log(
        f"backup_under_load: snapshot {len(snapshot['rows'])} rows "
        f"({figures['fault_notes']['snapshot_not_yet_searchable']} not yet searchable), "
        f"backup {figures['fault_notes']['backup_s']} s, {figures['fault_notes']['dump_bytes']} bytes; "
        f"restore {restore_s:.2f} s"
    )
    assert len(rows) == len(snapshot["rows"])
    assert rows == snapshot["rows"]
    assert search_ids == [row[0] for row in rows]
