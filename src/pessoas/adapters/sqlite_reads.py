"""A small pool of threads, each with its own read-only SQLite connection.

Reads run on these threads so the event loop never waits on the database; in WAL mode they see
the last commit and never wait for the writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

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
