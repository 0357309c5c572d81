"""The work of ``pessoas export`` and ``pessoas import`` (see :mod:`pessoas.entrypoints.transfer_cli`).

Files and pipes are read and written on threads, a page or a batch at a time, so the event loop
only ever waits on storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from tqdm import tqdm

from pessoas.application.transfer import ExportPessoas, ImportPessoas, ImportSummary
from pessoas.container import Container, build_container
from pessoas.domain.errors import StorageUnavailable, StorageUncertain, StorageUnusable
from pessoas.entrypoints.transfer_cli import STDIO
from pessoas.settings import Settings

T = TypeVar("T")


def export(settings: Settings, output: str, page_size: int) -> int:
    """Writes every stored pessoa to ``output`` (a path, or STDIO); returns how many."""
    return _run("export", _export(settings, output, page_size))


def import_lines(settings: Settings, source: str, batch_size: int) -> ImportSummary:
    """Imports the lines of ``source`` (a path, or STDIO), reporting each skipped line on stderr."""
    summary = ImportSummary()
    try:
        _run("import", _import(settings, source, batch_size, summary))
    finally:
        print(
            f"pessoas import: {summary.read} lines read, {summary.imported} imported, "
            f"{summary.already_present} already present, {summary.invalid} invalid, "
            f"{summary.conflicts} conflicts",
            file=sys.stderr,
        )
    return summary


def _run(command: str, work: Awaitable[T]) -> T:
    async def main() -> T:
        return await work

    try:
        return asyncio.run(main())
    except (StorageUnavailable, StorageUncertain, StorageUnusable) as exc:
        sys.exit(f"pessoas {command}: storage failed: {exc}")
    except OSError as exc:
        sys.exit(f"pessoas {command}: {exc}")


@contextlib.asynccontextmanager
async def _storage(settings: Settings) -> AsyncIterator[Container]:
    """The container over storage alone, its schema made and its resources open."""
    # Without the cache's and the queue's URLs the container opens neither (nor a standby):
    # an export or an import needs storage only.
    alone = settings.model_copy(update={"redis_url": None, "amqp_url": None, "database_read_url": None})
    container = build_container(alone)
    await container.storage.prepare()
    await _maybe_await(container.init_resources())
    try:
        yield container
    finally:
        await _maybe_await(container.shutdown_resources())


async def _maybe_await(result: object) -> None:
    # dependency-injector returns an awaitable only when some resource is asynchronous.
    if hasattr(result, "__await__"):
        await result


def _progress(**options: Any) -> tqdm[Any]:
    # Shown only to a person: a pipe or a log file gets the report lines alone.
    return tqdm(file=sys.stderr, disable=not sys.stderr.isatty(), dynamic_ncols=True, **options)


# -- export ----------------------------------------------------------------------------------------


async def _export(settings: Settings, output: str, page_size: int) -> int:
    async with _storage(settings) as container:
        # The primary's store itself (the writer's object), never a standby that could lag.
        store = container.storage.store()
        total = await store.count()  # for the progress bar only: the export reads its own snapshot
        export_pages = ExportPessoas(store, page_size)
        written = 0
        with _destination(output) as out, _progress(total=total, unit=" pessoas") as bar:
            async with contextlib.aclosing(export_pages()) as pages:
                async for lines in pages:
                    await asyncio.to_thread(out.write, b"".join(lines))
                    written += len(lines)
                    bar.update(len(lines))
            await asyncio.to_thread(out.flush)
        return written


@contextlib.contextmanager
def _destination(output: str) -> Iterator[IO[bytes]]:
    """stdout, or a file that appears, complete, only once the export has succeeded.

    The file is readable by its owner only (mkstemp's mode): it holds personal data.
    """
    if output == STDIO:
        yield sys.stdout.buffer
        return
    target = Path(output)
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        Path(partial).replace(target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


# -- import ----------------------------------------------------------------------------------------


async def _import(settings: Settings, source: str, batch_size: int, summary: ImportSummary) -> None:
    async with _storage(settings) as container:
        store = container.storage.store()
        import_batch = ImportPessoas(store, store, container.storage.search_index())
        with (
            _source(source) as lines_in,
            _progress(total=_size_of(lines_in), unit="B", unit_scale=True) as bar,
        ):
            lines = _NumberedLines(lines_in)
            while batch := await asyncio.to_thread(lines.next_batch, batch_size):
                done = await import_batch(batch)
                summary.add(done)
                for skipped in done.skipped:
                    bar.write(
                        f"pessoas import: line {skipped.number}: {skipped.why.value}: {skipped.reason}",
                        file=sys.stderr,
                    )
                bar.update(lines.bytes_read - bar.n)
                bar.set_postfix(imported=summary.imported, skipped=summary.skipped, refresh=False)


@contextlib.contextmanager
def _source(source: str) -> Iterator[IO[bytes]]:
    if source == STDIO:
        yield sys.stdin.buffer
        return
    with Path(source).open("rb") as opened:
        yield opened


def _size_of(lines_in: IO[bytes]) -> int | None:
    """The input's size in bytes when it is a regular file (a pipe's is unknown)."""
    try:
        info = os.fstat(lines_in.fileno())
    except (OSError, ValueError):
        return None
    return info.st_size if info.st_size > 0 else None


class _NumberedLines:
    """The input's non-blank lines with their numbers (the first line is 1), a batch at a time."""

    def __init__(self, lines_in: IO[bytes]) -> None:
        self._lines = lines_in
        self._number = 0
        self.bytes_read = 0

    def next_batch(self, size: int) -> list[tuple[int, bytes]]:
        batch: list[tuple[int, bytes]] = []
        while len(batch) < size:
            line = self._lines.readline()
            if not line:
                break
            self._number += 1
            self.bytes_read += len(line)
            if line.strip():
                batch.append((self._number, line))
        return batch
