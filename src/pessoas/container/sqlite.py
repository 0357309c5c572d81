"""The embedded SQLite group: storage, in-flight reservations and a committing queue, one process.

It stands for all three groups at once (storage, cache and queue), since they share the writer
thread: a creation reserves its apelido in memory, the writer commits it, and the table's UNIQUE
index is the arbiter from then on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from dependency_injector import containers, providers

from pessoas.adapters.in_flight_reservations import InFlightReservations
from pessoas.adapters.sqlite_backup import backup_to
from pessoas.adapters.sqlite_file import SqliteFile
from pessoas.adapters.sqlite_queue import SqlitePersistenceQueue
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
    cache = providers.Singleton(InFlightReservations)
    queue = providers.Singleton(SqlitePersistenceQueue, writer=writer_thread, reservations=cache)

    prepare = providers.Callable(_prepare, file)
    backup = providers.Callable(backup_to, file)
