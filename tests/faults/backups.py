"""deploy/local/backup.sh driven from the fault scenarios: a backup of an exported snapshot whose
rows the test reads beside it, and a restore into a fresh database, read back and dropped."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tests.faults import machine

BACKUP_SH = machine.ROOT / "deploy" / "local" / "backup.sh"
ROWS = "SELECT id::text, apelido, nome, nascimento, stack FROM pessoas ORDER BY id"
SEARCH_IDS = "SELECT id::text FROM pessoas_search ORDER BY id"


def backup_sh(*args: str) -> None:
    subprocess.run(
        ["bash", str(BACKUP_SH), *args],
        env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "PESSOAS_DATABASE_URL": machine.DATABASE_URL},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )


def database_url(name: str) -> str:
    """The stack's PostgreSQL, database ``name``."""
    return machine.DATABASE_URL.rsplit("/", 1)[0] + "/" + name


def backup_of_snapshot(dump: Path) -> dict[str, Any]:
    """Dumps an exported snapshot of the stack's database into ``dump``, and reads the same
    snapshot's rows and search ids beside it."""
    with psycopg.connect(machine.DATABASE_URL) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        exported = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert exported is not None
        rows = conn.execute(ROWS).fetchall()
        search_ids = [row[0] for row in conn.execute(SEARCH_IDS)]
        started = time.monotonic()
        backup_sh("backup", str(dump), f"--snapshot={exported[0]}")
        backup_s = time.monotonic() - started
        conn.rollback()
    return {"rows": rows, "search_ids": search_ids, "backup_s": backup_s, "dump_bytes": dump.stat().st_size}


def restored(dump: Path) -> dict[str, Any]:
    """Restores ``dump`` into a fresh database, reads its rows and search ids, and drops it."""
    name = f"pessoas_restored_{uuid.uuid4().hex[:8]}"
    try:
        started = time.monotonic()
        backup_sh("restore", str(dump), database_url(name))
        restore_s = time.monotonic() - started
        with psycopg.connect(database_url(name)) as conn:
            rows = conn.execute(ROWS).fetchall()
            search_ids = [row[0] for row in conn.execute(SEARCH_IDS)]
    finally:
        with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return {"rows": rows, "search_ids": search_ids, "restore_s": restore_s}
