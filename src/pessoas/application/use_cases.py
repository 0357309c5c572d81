"""The service's use cases, one class each, written against the ports only."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence

from pessoas.domain.errors import ApelidoTaken, InvalidSearchTerm, ReservationsLost, StorageUnavailable
from pessoas.domain.model import SEARCH_LIMIT, Pessoa, new_pessoa
from pessoas.ports.cache import PessoaCache
from pessoas.ports.queue import PersistenceQueue
from pessoas.ports.repository import PessoaReader, PessoaWriter

logger = logging.getLogger(__name__)


class RestoreReservations:
    """Rebuilds the apelido reservations after the cache lost them, then reopens creations.

    While the cache is not ready it refuses every reservation, so no new pessoa is promised. The
    restore first waits until the pessoas promised before the loss have reached storage, then
    takes every stored apelido back, and only then marks the cache ready: from that moment the
    reservations are complete again. Concurrent callers in one process share one run; runs in
    several processes at once are harmless (restoring is idempotent).

    It fails closed: when the queue cannot prove that the promised pessoas are stored, the run
    fails, the cache stays not ready (creations are refused), :attr:`problem` says why, and the
    next creation or readiness check starts another run.
    """

    def __init__(self, cache: PessoaCache, reader: PessoaReader, queue: PersistenceQueue) -> None:
        self._cache = cache
        self._reader = reader
        self._queue = queue
        self._running: asyncio.Task[None] | None = None
        #: Why the last run could not complete, until a run completes.
        self.problem: str | None = None

    async def __call__(self) -> None:
        # Shielded: a caller that goes away must not cancel the run others wait on.
        await asyncio.shield(self._run())

    def start(self) -> None:
        """Starts a run in the background, if none is under way; failures are retried later."""
        self._run()

    def _run(self) -> asyncio.Task[None]:
        """The run under way, or a new one: one run at a time in this process."""
        if self._running is None or self._running.done():
            self._running = asyncio.get_running_loop().create_task(self._restore())
            self._running.add_done_callback(_consume_failure)
        return self._running

    async def _restore(self) -> None:
        if await self._cache.is_ready():
            return
        try:
            await self._queue.wait_until_stored()
        except StorageUnavailable as exc:
            # One line when the reason appears or changes, not one per retry.
            if str(exc) != self.problem:
                logger.warning("the apelido reservations cannot be restored yet, retrying: %s", exc)
            self.problem = str(exc)
            raise
        await self._cache.restore_apelidos(await self._reader.apelidos())
        await self._cache.mark_ready()
        self.problem = None


def _consume_failure(task: asyncio.Task[None]) -> None:
    # Awaiting callers get the failure through the shield; with none (a background start) it is
    # not lost either: the next creation starts another run.
    if not task.cancelled():
        task.exception()


class CreatePessoa:
    """Validates a body, takes its apelido and hands the pessoa over for storage.

    When this returns, the pessoa is a promise: readable by id on every instance, its apelido
    taken everywhere, and its storage confirmed by the queue.
    """

    def __init__(
        self, cache: PessoaCache, queue: PersistenceQueue, restore: RestoreReservations | None = None
    ) -> None:
        self._cache = cache
        self._queue = queue
        self._restore = restore

    async def __call__(self, body: object) -> Pessoa:
        pessoa = new_pessoa(body)
        # Before the reservation: the queue bounds its work from this moment, which is what
        # lets a restore know when no creation begun before a cache loss can still be stored.
        since = time.monotonic()
        try:
            reserved = await self._cache.reserve(pessoa)
        except ReservationsLost:
            # Answer now (nothing promised) and let the restore run; creations resume after it.
            if self._restore is not None:
                self._restore.start()
            raise
        if not reserved:
            raise ApelidoTaken(f"apelido {pessoa.apelido!r} is already taken")
        try:
            await self._queue.put(pessoa, since)
        except StorageUnavailable:
            # The queue says for certain that nothing was handed over: free the apelido again.
            # Any other failure (StorageUncertain included) leaves the reservation in place,
            # since the pessoa may yet be stored, and a held apelido is safer than a doubled one.
            await self._cache.release(pessoa)
            raise
        return pessoa


class GetPessoa:
    """Reads a pessoa by id: the shared cache first (it knows every pessoa not yet stored), then storage."""

    def __init__(self, cache: PessoaCache, reader: PessoaReader) -> None:
        self._cache = cache
        self._reader = reader

    async def __call__(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        try:
            pessoa = await self._cache.get(pessoa_id)
        except StorageUnavailable:
            # The cache is down, restarting or saturated: storage still answers for the pessoas
            # already stored. One it lacks may be acknowledged but not stored yet, so "not found"
            # cannot be promised then: that is StorageUnavailable (503), never a false 404.
            stored = await self._reader.get(pessoa_id)
            if stored is None:
                raise
            return stored
        if pessoa is not None:
            return pessoa
        return await self._reader.get(pessoa_id)


class SearchPessoas:
    def __init__(self, reader: PessoaReader) -> None:
        self._reader = reader

    async def __call__(self, term: str | None) -> list[Pessoa]:
        if not term:
            raise InvalidSearchTerm("the query parameter t is required and must not be empty")
        return await self._reader.search(term, SEARCH_LIMIT)


class CountPessoas:
    def __init__(self, reader: PessoaReader) -> None:
        self._reader = reader

    async def __call__(self) -> int:
        return await self._reader.count()


class StorePessoas:
    """The worker's use case: stores a batch handed over by the queue, idempotently."""

    def __init__(self, writer: PessoaWriter) -> None:
        self._writer = writer

    async def __call__(self, pessoas: Sequence[Pessoa]) -> int:
        return await self._writer.add_many(pessoas)
