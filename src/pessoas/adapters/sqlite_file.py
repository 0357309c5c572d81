"""The SQLite file of pessoas: opened, checked, given its schema, and connected to.

A file is ours when its header carries :data:`APPLICATION_ID`. At start-up an empty or new file
gets the schema; a file of another application, a file that is not a database, or one that fails
SQLite's ``quick_check`` is refused with :class:`StorageUnusable`, never written to.

Every connection runs in WAL mode (readers never wait for the writer) with ``synchronous=FULL``:
each commit is flushed to the disk before it returns, so a committed pessoa survives a process
crash and a power loss alike (given a disk that honours flushes). The search text is what the
FTS5 trigram index covers: each searchable field case-folded as the domain compares (fold_case)
them, joined by a separator (see :mod:`pessoas.adapters.sqlite_store` for how a match is then
checked within one field).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pessoas.domain.errors import StorageUnusable
from pessoas.domain.model import Pessoa, fold_case

# "pess" in ASCII: marks a file as a pessoas database in its header (PRAGMA application_id).
APPLICATION_ID = 0x70657373
SCHEMA_VERSION = 1
SEARCH_SEPARATOR = "\x1f"

_SCHEMA = (
    # rowid is the FTS index's key; id (the UUID as text, lower case) and apelido are the unique
    # keys. stack is a JSON array, NULL when none was given.
    """
    CREATE TABLE pessoas (
        id TEXT NOT NULL UNIQUE,
        apelido TEXT NOT NULL UNIQUE,
        nome TEXT NOT NULL,
        nascimento TEXT NOT NULL,
        stack TEXT,
        search TEXT NOT NULL
    )
    """,
    # External content: the index keeps only trigrams, the text stays in pessoas.search. The text is
    # lower-cased already, so the index compares it exactly (case_sensitive 1). detail=none: each
    # trigram lists only the rows holding it, no positions, since a search checks every candidate
    # with instr() anyway; the index is then about 40 % smaller and cheaper to keep up.
    """
    CREATE VIRTUAL TABLE pessoas_search USING fts5(
        search, content='pessoas', content_rowid='rowid', tokenize='trigram case_sensitive 1',
        detail=none
    )
    """,
    # Fires only for a row really inserted (not one skipped by ON CONFLICT DO NOTHING).
    """
    CREATE TRIGGER pessoas_search_insert AFTER INSERT ON pessoas BEGIN
        INSERT INTO pessoas_search (rowid, search) VALUES (new.rowid, new.search);
    END
    """,
    f"PRAGMA application_id = {APPLICATION_ID}",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)


def search_text(pessoa: Pessoa) -> str:
    # A stack element repeated adds nothing a search could find, so each distinct one goes in once.
    stack = dict.fromkeys(fold_case(item) for item in pessoa.stack or ())
    return SEARCH_SEPARATOR.join([fold_case(pessoa.apelido), fold_case(pessoa.nome), *stack])


class SqliteFile:
    """Where the database lives, and how every connection to it is opened."""

    def __init__(self, path: Path | str, busy_ms: int = 2000) -> None:
        self.path = Path(path)
        self._busy_seconds = busy_ms / 1000

    def prepare(self) -> None:
        """Creates the file and its schema, or checks an existing one; refuses what is not ours."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._open()
        except (OSError, sqlite3.Error) as exc:
            raise self._refusal(f"cannot open it ({exc})") from exc
        try:
            self._check_or_create(conn)
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed", ...
            raise self._refusal(f"it is not a readable SQLite database ({exc})") from exc
        finally:
            conn.close()

    def connect_writer(self) -> sqlite3.Connection:
        """A connection in autocommit mode (transactions are explicit), usable from any one thread."""
        conn = self._open()
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    def connect_reader(self) -> sqlite3.Connection:
        conn = self._open()
        conn.execute("PRAGMA query_only = ON")
        return conn

    def _open(self) -> sqlite3.Connection:
        return sqlite3.connect(
            self.path, timeout=self._busy_seconds, isolation_level=None, check_same_thread=False
        )

    def _check_or_create(self, conn: sqlite3.Connection) -> None:
        if not self._is_ours_or_empty(conn):
            raise self._refusal("it holds another application's database; pessoas will not touch it")
        # Persistent in the file; set before any transaction (it cannot change inside one).
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise self._refusal(f"it cannot be put in WAL mode (journal mode stays {mode!r})")
        conn.execute("BEGIN IMMEDIATE")  # two processes starting at once: one creates, one finds it
        try:
            if conn.execute("PRAGMA application_id").fetchone()[0] == 0:
                for statement in _SCHEMA:
                    conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise self._refusal(f"its schema version is {version}, this pessoas reads {SCHEMA_VERSION}")
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise self._refusal(f"it is corrupt ({'; '.join(problems[:3])})")

    @staticmethod
    def _is_ours_or_empty(conn: sqlite3.Connection) -> bool:
        if conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
            return True
        tables: int = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
        return tables == 0

    def _refusal(self, reason: str) -> StorageUnusable:
        return StorageUnusable(f"refusing the SQLite file {self.path}: {reason}")
