"""The service's use cases, one class each, written against the ports only.

A creation is a promise only once storage has committed it: the cache and the queue are told
afterwards, and either may lose what it was told without breaking a promise.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from pessoas.application.group_commit import GroupCommit
from pessoas.domain.errors import ApelidoTaken, InvalidSearchTerm, StorageUnavailable
from pessoas.domain.model import SEARCH_LIMIT, Pessoa, new_pessoa
from pessoas.ports.cache import PessoaCache
from pessoas.ports.queue import IndexQueue
from pessoas.ports.repository import PessoaReader, PessoaWriter, SearchIndex

logger = logging.getLogger(__name__)


class CreatePessoa:
    """Validates a body and commits the pessoa: a 201 means storage has committed it.

    1. The domain validates the body (nothing else happens when it is refused).
    2. The cache is asked whether the apelido is known to be taken: a hit refuses at once,
       sparing storage; a miss, or a cache that does not answer, proves nothing.
    3. Storage commits the pessoa, and its unique apelido decides. Concurrent creations share
       one transaction (:class:`GroupCommit`): the first goes at once (or after ``window``
       seconds), those that arrive while up to ``commits_in_flight`` transactions run leave
       together in the next one.
    4. After the commit, the cache remembers the pessoas and the queue announces them for
       search: in the background, once per transaction, and failures only cost speed.

    When storage turns out unavailable, creations are refused at once for ``pause_after_outage``
    seconds, those already waiting for a transaction included: otherwise, while each attempt
    waits out its connection timeout, creations would pile up behind it for the whole outage.
    After the pause, the next transaction tries storage again. The pause only ever refuses.
    """

    def __init__(
        self,
        writer: PessoaWriter,
        cache: PessoaCache,
        queue: IndexQueue,
        *,
        batch_max: int = 256,
        commits_in_flight: int = 2,
        window: float = 0.0,
        pause_after_outage: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pause_after_outage = pause_after_outage
        self._clock = clock
        self._refuse_until = -float("inf")
        self._writer = writer
        self._cache = cache
        self._queue = queue
        self._commits: GroupCommit[Pessoa, bool] = GroupCommit(
            self._commit, window=window, max_size=batch_max, max_in_flight=commits_in_flight
        )
        # Strong references to the after-commit tasks, which the event loop only holds weakly.
        self._after_commit: set[asyncio.Task[None]] = set()

    async def __call__(self, body: object) -> Pessoa:
        pessoa = new_pessoa(body)
        if await self._apelido_known(pessoa.apelido):
            raise ApelidoTaken(f"apelido {pessoa.apelido!r} is already taken")
        self._refuse_while_paused()
        if not await self._commits.submit(pessoa):
            raise ApelidoTaken(f"apelido {pessoa.apelido!r} is already taken")
        return pessoa

    async def _apelido_known(self, apelido: str) -> bool:
        try:
            return await self._cache.holds_apelido(apelido)
        except StorageUnavailable:
            return False  # the cache is down: storage will decide

    def _refuse_while_paused(self) -> None:
        if self._clock() < self._refuse_until:
            raise StorageUnavailable("storage was unavailable moments ago; not tried again yet")

    async def _commit(self, pessoas: list[Pessoa]) -> list[bool]:
        self._refuse_while_paused()
        try:
            stored_ids = await self._writer.add_many(pessoas)
        except StorageUnavailable:
            self._refuse_until = self._clock() + self._pause_after_outage
            raise
        stored = [pessoa for pessoa in pessoas if pessoa.id in stored_ids]
        if stored:
            task = asyncio.get_running_loop().create_task(self._tell_others(stored))
            self._after_commit.add(task)
            task.add_done_callback(self._after_commit.discard)
        # A pessoa of the batch whose id came back is this caller's; any other lost its apelido.
        return [pessoa.id in stored_ids for pessoa in pessoas]

    async def _tell_others(self, stored: list[Pessoa]) -> None:
        # One after the other in this one task: the cache first (a read by id may follow at
        # once), then the queue, whose message may wait for others to share it.
        await self._tell("cache", self._cache.remember(stored), len(stored))
        await self._tell("queue", self._queue.announce([pessoa.id for pessoa in stored]), len(stored))

    @staticmethod
    async def _tell(what: str, telling: Awaitable[None], count: int) -> None:
        try:
            await telling
        except StorageUnavailable as exc:
            # Expected while that service is down: the reads fall back to storage, and the
            # reconciler indexes what was not announced.
            logger.debug("%s not told of %d committed pessoas: %s", what, count, exc)
        except Exception:
            logger.exception("%s not told of %d committed pessoas", what, count)

    async def settle(self) -> None:
        """Waits for the transactions under way and the after-commit work (at shutdown, in tests)."""
        await self._commits.flush()
        while self._after_commit:
            await asyncio.wait(set(self._after_commit))


class GetPessoa:
    """Reads a pessoa by id: the cache first, then storage, which holds every committed pessoa."""

    def __init__(self, cache: PessoaCache, reader: PessoaReader) -> None:
        self._cache = cache
        self._reader = reader

    async def __call__(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        try:
            pessoa = await self._cache.get(pessoa_id)
        except StorageUnavailable:
            pessoa = None  # the cache is down: storage answers on its own
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


class IndexPessoas:
    """The worker's use case: makes the announced pessoas searchable, idempotently.

    The announcements of concurrent messages share one statement: the first goes at once, those
    that arrive meanwhile leave together in the next.
    """

    def __init__(self, index: SearchIndex, batch_max: int = 1000) -> None:
        self._index = index
        self._batches: GroupCommit[Sequence[uuid.UUID], int] = GroupCommit(
            self._index_merged, max_size=batch_max, size=len, max_in_flight=1
        )

    async def __call__(self, ids: Sequence[uuid.UUID]) -> int:
        return await self._batches.submit(ids)

    async def _index_merged(self, announcements: list[Sequence[uuid.UUID]]) -> list[int]:
        indexed = await self._index.index([pessoa_id for ids in announcements for pessoa_id in ids])
        # The count is the statement's; each message gets it whole, as the merged answer.
        return [indexed] * len(announcements)


class ReconcileIndex:
    """Indexes every committed pessoa whose announcement was lost (purged, dead-lettered, never sent)."""

    def __init__(self, index: SearchIndex) -> None:
        self._index = index

    async def __call__(self) -> int:
        found = await self._index.index_missing()
        if found:
            logger.info("indexed %d committed pessoas that no announcement had brought", found)
        return found


class StoreQueuedPessoas:
    """Stores, then indexes, the pessoas the previous version promised and queued for its worker.

    Before this version, a 201 was sent once a pessoa sat in RabbitMQ, and the worker stored it
    later. A queue left over by an upgrade may still hold such messages: their pessoas were
    promised, so the worker stores them (idempotently, by id) rather than dead-lettering them.
    One whose apelido another pessoa took meanwhile cannot be stored: it is reported by name
    (docs/operations.md says how an upgrade avoids that).
    """

    def __init__(self, writer: PessoaWriter, reader: PessoaReader, index: SearchIndex) -> None:
        self._writer = writer
        self._reader = reader
        self._index = index

    async def __call__(self, pessoas: Sequence[Pessoa]) -> int:
        stored = await self._writer.add_many(pessoas)
        for pessoa in pessoas:
            # Not stored now: either stored by an earlier delivery (fine), or its apelido is taken.
            if pessoa.id not in stored and await self._reader.get(pessoa.id) is None:
                logger.error(
                    "pessoa %s, queued by the previous version, cannot be stored: its apelido %r "
                    "is held by another pessoa",
                    pessoa.id,
                    pessoa.apelido,
                )
        await self._index.index([pessoa.id for pessoa in pessoas])
        return len(stored)
