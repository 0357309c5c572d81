"""The embedded SQLite group: storage, cache and queue at once, in one process.

The writer thread commits each creation, and the table's UNIQUE index decides apelidos. The
file indexes for search in the same transaction, so there is nothing to announce, and reads
are local, so there is nothing to cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from dependency_injector import containers, providers

from pessoas.adapters.indexed_on_commit import IndexedOnCommit
from pessoas.adapters.memory_setup import nothing_to_prepare
from pessoas.adapters.no_cache import NoCache
from pessoas.adapters.sqlite_backup import backup_to
from pessoas.adapters.sqlite_file import SqliteFile
from pessoas.adapters.sqlite_reads import SqliteReadPool
from pessoas.adapters.sqlite_store import SqlitePessoaStore
from pessoas.adapters.sqlite_writer import SqliteWriter
from pessoas.settings import Settings


async def _run_threads(file: SqliteFile, writer: SqliteWriter, reads: SqliteReadPool) -> AsyncIterator[None]:
    # The file is checked (or created) before anything is served; a file that is not ours stops
    # the start-up here.
    await asyncio.to_thread(file.prepare)
    writer.start()
    reads.start()
    try:
        yield None
    finally:
        await writer.stop()  # finishes the writes already handed over
        await reads.stop()


async def _prepare(file: SqliteFile) -> None:
    await asyncio.to_thread(file.prepare)


class SqliteEmbedded(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    file = providers.Singleton(
        SqliteFile, path=settings.provided.sqlite_path, busy_ms=settings.provided.sqlite_busy_ms
    )
    writer_thread = providers.Singleton(
        SqliteWriter, connect=file.provided.connect_writer, batch_max=settings.provided.sqlite_batch_max
    )
    reads = providers.Singleton(
        SqliteReadPool, connect=file.provided.connect_reader, threads=settings.provided.sqlite_readers
    )
    # Lifecycle only, as PostgresStorage.pool_lifecycle: nothing depends on it.
    lifecycle = providers.Resource(_run_threads, file, writer_thread, reads)

    store = providers.Singleton(SqlitePessoaStore, writer=writer_thread, reads=reads)
    writer = store
    reader = store
    search_index = store
    cache = providers.Singleton(NoCache)
    queue = providers.Singleton(IndexedOnCommit)
    at_start = providers.Callable(nothing_to_prepare)

    prepare = providers.Callable(_prepare, file)
    backup = providers.Callable(backup_to, file)
