"""A consistent copy of the SQLite file, taken while the service runs (SQLite's online backup)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pessoas.adapters.sqlite_file import SqliteFile
from pessoas.domain.errors import StorageUnusable


def backup_to(source: SqliteFile, destination: Path | str) -> int:
    """Copies the database, as of one moment, into ``destination``; returns the pessoas copied.

    The copy reads one snapshot, so the writer goes on committing meanwhile (WAL mode). An
    existing destination is overwritten. The copy is a complete database file of its own: serve
    it by pointing PESSOAS_SQLITE_PATH at it.
    """
    if not source.path.exists():
        raise StorageUnusable(f"there is no SQLite file at {source.path} to back up")
    source.prepare()  # refuses a file that is not a pessoas database
    destination = Path(destination)
    if destination.resolve() == source.path.resolve():
        raise StorageUnusable("the backup must go to another file than the database itself")
    destination.parent.mkdir(parents=True, exist_ok=True)
    src = source.connect_reader()
    try:
        dest = sqlite3.connect(destination)
        try:
            src.backup(dest)
            return int(dest.execute("SELECT count(*) FROM pessoas").fetchone()[0])
        finally:
            dest.close()
    finally:
        src.close()
