"""The one thread that writes to the SQLite file, committing concurrent writes together.

Callers on the event loop hand pessoas over with :meth:`SqliteWriter.write` and await the
outcome; the loop itself never touches the database. The thread takes every write waiting when
it becomes free, stores them all in one transaction, commits, and only then answers each
caller: writes that arrive while a commit is being flushed share the next one (group commit),
so the cost of a flush is spread over every creation of a busy moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pessoas.adapters.sqlite_file import search_text
from pessoas.domain.errors import StorageUnavailable, StorageUncertain
from pessoas.domain.model import Pessoa

logger = logging.getLogger(__name__)

# The whole transaction's rows travel as one JSON array and go in with one statement: the thread
# then gives up and retakes the GIL a few times per transaction, not once per row (each retake
# can wait for the busy event loop). OR IGNORE skips a row whose id or apelido is stored (or came
# earlier in the array); _LANDED then tells the two apart, only when some row was skipped.
_INSERT = """
INSERT OR IGNORE INTO pessoas (id, apelido, nome, nascimento, stack, search)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 FROM json_each(?)
"""
_LANDED = "SELECT id, rowid > ? FROM pessoas WHERE id IN (SELECT value FROM json_each(?))"

# Failures after which SQLite has certainly stored nothing of the transaction: the disk or the
# file refuses writes, or another process holds the lock. After any other failure of COMMIT
# itself (an I/O error while flushing, say) the transaction may survive in the log.
_NOTHING_WRITTEN = frozenset(
    {"SQLITE_FULL", "SQLITE_READONLY", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_PERM"}
)


class Outcome(enum.Enum):
    STORED = "stored"
    ALREADY_STORED = "already stored"  # the same id: a write repeated
    APELIDO_TAKEN = "apelido taken"  # another stored pessoa holds the apelido


@dataclass
class _Write:
    pessoas: Sequence[Pessoa]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[Outcome]] = field(init=False)

    def __post_init__(self) -> None:
        self.future = self.loop.create_future()


class SqliteWriter:
    def __init__(self, connect: Callable[[], sqlite3.Connection], batch_max: int = 1000) -> None:
        self._connect = connect
        self._batch_max = batch_max
        self._waiting: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        conn = self._connect()  # here, so that a file that cannot be opened fails the start
        self._thread = threading.Thread(target=self._run, args=(conn,), name="sqlite-writer", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Finishes the writes already handed over, then closes the connection."""
        if self._thread is None:
            return
        self._waiting.put(None)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    async def write(self, pessoas: Sequence[Pessoa]) -> list[Outcome]:
        """Stores the pessoas and returns, once committed, what became of each.

        Raises StorageUnavailable when nothing was stored, StorageUncertain when the commit
        failed in a way that may still have stored them. An empty write returns once every
        earlier write is settled.
        """
        if self._thread is None:
            raise StorageUnavailable("the SQLite writer is not running")
        write = _Write(pessoas, asyncio.get_running_loop())
        self._waiting.put(write)
        return await write.future

    def _run(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                batch, stopping = self._next_batch()
                if batch:
                    self._settle(batch, self._commit(conn, batch))
                if stopping:
                    return
        finally:
            conn.close()

    def _next_batch(self) -> tuple[list[_Write], bool]:
        """Blocks for one write, then takes every other one already waiting (up to the cap)."""
        first = self._waiting.get()
        if first is None:
            return [], True
        batch, size = [first], len(first.pessoas)
        while size < self._batch_max:
            try:
                following = self._waiting.get_nowait()
            except queue.Empty:
                break
            if following is None:
                return batch, True
            batch.append(following)
            size += len(following.pessoas)
        return batch, False

    def _commit(self, conn: sqlite3.Connection, batch: list[_Write]) -> list[list[Outcome]] | Exception:
        if not any(write.pessoas for write in batch):
            return [[] for _ in batch]
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            return StorageUnavailable(f"SQLite cannot start a write: {exc}")
        try:
            outcomes = _insert(conn, [write.pessoas for write in batch])
        except Exception as exc:  # uncommitted, so certainly not stored, whatever went wrong
            _rollback(conn)
            return StorageUnavailable(f"SQLite refused the write: {exc}")
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            if getattr(exc, "sqlite_errorname", None) in _NOTHING_WRITTEN:
                return StorageUnavailable(f"SQLite could not commit: {exc}")
            logger.error("SQLite commit failed; its pessoas may or may not be stored: %s", exc)
            return StorageUncertain(f"SQLite could not confirm the commit: {exc}")
        return outcomes

    @staticmethod
    def _settle(batch: list[_Write], result: list[list[Outcome]] | Exception) -> None:
        """Answers every write of the batch, with one wake-up of each event loop involved."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Write, list[Outcome] | Exception]]] = {}
        for index, write in enumerate(batch):
            answer = result if isinstance(result, Exception) else result[index]
            by_loop.setdefault(write.loop, []).append((write, answer))
        for loop, answers in by_loop.items():
            # RuntimeError: that loop has closed, so nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, answers)


def _resolve(answers: list[tuple[_Write, list[Outcome] | Exception]]) -> None:
    for write, answer in answers:
        if write.future.done():  # the caller was cancelled
            continue
        if isinstance(answer, Exception):
            write.future.set_exception(answer)
        else:
            write.future.set_result(answer)


def _insert(conn: sqlite3.Connection, writes: list[Sequence[Pessoa]]) -> list[list[Outcome]]:
    pessoas = [pessoa for write in writes for pessoa in write]
    ids = {str(pessoa.id) for pessoa in pessoas}
    last_rowid = conn.execute("SELECT coalesce(max(rowid), 0) FROM pessoas").fetchone()[0]
    rows = json.dumps([_row(pessoa) for pessoa in pessoas], ensure_ascii=False)
    stored = conn.execute(_INSERT, (rows,)).rowcount
    if stored == len(ids):
        landed = dict.fromkeys(ids, True)
    else:
        landed = dict(conn.execute(_LANDED, (last_rowid, json.dumps(list(ids)))).fetchall())
    outcomes: list[list[Outcome]] = []
    seen: set[str] = set()
    for write in writes:
        outcomes.append([])
        for pessoa in write:
            pessoa_id = str(pessoa.id)
            if pessoa_id not in landed:
                outcomes[-1].append(Outcome.APELIDO_TAKEN)
            elif landed[pessoa_id] and pessoa_id not in seen:
                outcomes[-1].append(Outcome.STORED)
            else:
                outcomes[-1].append(Outcome.ALREADY_STORED)
            seen.add(pessoa_id)
    return outcomes


def _row(pessoa: Pessoa) -> list[str | None]:
    return [
        str(pessoa.id),
        pessoa.apelido,
        pessoa.nome,
        pessoa.nascimento.isoformat(),
        json.dumps(pessoa.stack, ensure_ascii=False) if pessoa.stack is not None else None,
        search_text(pessoa),
    ]


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        logger.exception("SQLite rollback failed")
