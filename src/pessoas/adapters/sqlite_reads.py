"""A small pool of threads, each with its own read-only SQLite connection.

Reads run on these threads so the event loop never waits on the database; in WAL mode they see
the last commit and never wait for the writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pessoas.domain.errors import StorageUnavailable

T = TypeVar("T")


class SqliteReadPool:
    def __init__(self, connect: Callable[[], sqlite3.Connection], threads: int = 4) -> None:
        self._connect = connect
        self._threads = threads
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="sqlite-read")

    async def stop(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True)
        with self._opened_lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()

    async def run(self, read: Callable[[sqlite3.Connection], T]) -> T:
        """Runs ``read`` with this thread's connection; any SQLite failure is StorageUnavailable."""
        if self._executor is None:
            raise StorageUnavailable("the SQLite readers are not running")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, read)

    async def stream(self, query: str, size: int) -> AsyncGenerator[list[tuple[Any, ...]], None]:
        """The rows of ``query``, ``size`` at a time, all of them from one snapshot of the file.

        The query runs on a connection of its own, in one read transaction, and each page is
        fetched on a thread as the caller asks for it, so a long read holds one page in memory
        and no thread of the pool. Closing the iterator ends the transaction.
        """
        if self._executor is None:
            raise StorageUnavailable("the SQLite readers are not running")
        conn = await asyncio.to_thread(_guarded, self._connect)
        try:
            cursor = await asyncio.to_thread(_guarded, lambda: _begin_and_run(conn, query))
            while rows := await asyncio.to_thread(_guarded, lambda: cursor.fetchmany(size)):
                yield rows
        finally:
            await asyncio.to_thread(conn.close)  # a read transaction left open is rolled back

    def _call(self, read: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return read(self._connection())
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"SQLite cannot answer: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._opened_lock:
                self._opened.append(conn)
        return conn


def _begin_and_run(conn: sqlite3.Connection, query: str) -> sqlite3.Cursor:
    conn.execute("BEGIN")  # the snapshot is taken by the query's first read, and kept until the end
    return conn.execute(query)


def _guarded(step: Callable[[], T]) -> T:
    try:
        return step()
    except sqlite3.Error as exc:
        raise StorageUnavailable(f"SQLite cannot answer: {exc}") from exc
