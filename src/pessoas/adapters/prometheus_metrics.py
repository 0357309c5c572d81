"""The service's own Prometheus metrics, and the wrappers that feed them around the ports' adapters.

The composition root puts these wrappers around the chosen adapters when metrics are on, so the
domain and the use cases stay unaware of them and, with metrics off, nothing here runs at all.
Each wrapper adds one ``inc``/``observe`` on a pre-bound child (no label lookup) to a call.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from prometheus_client import Counter, Gauge, Histogram

from pessoas.application.readiness import Readiness
from pessoas.application.use_cases import CreatePessoa
from pessoas.domain.errors import (
    ApelidoTaken,
    InvalidPessoa,
    ReservationsLost,
    StorageUnavailable,
    StorageUncertain,
    UnreadablePessoa,
)
from pessoas.domain.model import Pessoa
from pessoas.ports.cache import PessoaCache
from pessoas.ports.queue import PersistenceQueue
from pessoas.ports.repository import PessoaReader, PessoaWriter

CREATIONS = Counter(
    "pessoas_creations",
    "Creations answered by the use case: promised (201) or refused, by reason",
    ["outcome", "reason"],
)
PUBLISH_BATCH_SIZE = Histogram(
    "pessoas_publish_batch_size",
    "Pessoas per confirmed message published to the queue",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
PUBLISH_CONFIRM_SECONDS = Histogram(
    "pessoas_publish_confirm_seconds",
    "From a message's first publish to the broker's confirm",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RESERVATION_RESTORES = Counter(
    "pessoas_reservation_restores", "Times this process rebuilt the apelido reservations from storage"
)
BACKEND_ERRORS = Counter(
    "pessoas_backend_errors",
    "Calls to a backing service that failed (unavailable or unconfirmed), by component and operation",
    ["component", "operation"],
)
READY = Gauge("pessoas_ready", "1 while this instance accepts creations (what /ready answers), else 0")
QUEUE_DEPTH = Gauge(
    "pessoas_queue_depth", "Messages waiting for the worker, as last read by this instance's readiness check"
)
STORED_ROWS = Counter("pessoas_worker_stored_rows", "Pessoas newly stored in PostgreSQL by this worker")
STORE_BATCH_SIZE = Histogram(
    "pessoas_worker_batch_size",
    "Pessoas per storage transaction",
    buckets=(1, 4, 16, 64, 128, 256, 512, 1000, 2000, 5000),
)
STORE_SECONDS = Histogram(
    "pessoas_worker_store_seconds",
    "Duration of one storage transaction",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_PROMISED = CREATIONS.labels("promised", "")
# Most specific first: ApelidoTaken is an InvalidPessoa, ReservationsLost a StorageUnavailable.
_REFUSALS: tuple[tuple[type[Exception], Counter], ...] = (
    (UnreadablePessoa, CREATIONS.labels("refused", "unreadable")),
    (ApelidoTaken, CREATIONS.labels("refused", "apelido_taken")),
    (InvalidPessoa, CREATIONS.labels("refused", "invalid")),
    (ReservationsLost, CREATIONS.labels("refused", "reservations_lost")),
    (StorageUnavailable, CREATIONS.labels("refused", "storage_unavailable")),
    (StorageUncertain, CREATIONS.labels("refused", "storage_uncertain")),
)
_BACKEND_FAILURES = (StorageUnavailable, StorageUncertain)
_T = TypeVar("_T")


class CountedCreatePessoa(CreatePessoa):
    """CreatePessoa that counts each outcome."""

    async def __call__(self, body: object) -> Pessoa:
        try:
            pessoa = await super().__call__(body)
        except Exception as exc:
            for kind, counter in _REFUSALS:
                if isinstance(exc, kind):
                    counter.inc()
                    break
            raise
        _PROMISED.inc()
        return pessoa


def observe_publish(size: int, seconds: float) -> None:
    PUBLISH_BATCH_SIZE.observe(size)
    PUBLISH_CONFIRM_SECONDS.observe(seconds)


def observe_readiness(readiness: Readiness) -> Readiness:
    """Exposes the readiness loop's last answer; read at scrape time, so free in between."""
    READY.set_function(lambda: 1.0 if readiness.state.ready else 0.0)
    QUEUE_DEPTH.set_function(
        lambda: float("nan") if readiness.state.queue_depth is None else float(readiness.state.queue_depth)
    )
    return readiness


class _Failures:
    """Counts the failures of one component's operations, with the children bound once."""

    def __init__(self, component: str, operations: Iterable[str]) -> None:
        self._by_operation = {name: BACKEND_ERRORS.labels(component, name) for name in operations}

    async def watch(self, operation: str, call: Awaitable[_T]) -> _T:
        """The call's result; a failure of the backing service is counted, then raised on."""
        try:
            return await call
        except ReservationsLost:
            raise  # not a failure of the service: the reservations are being rebuilt
        except _BACKEND_FAILURES:
            self._by_operation[operation].inc()
            raise


class CountingCache:
    def __init__(self, inner: PessoaCache) -> None:
        self._inner = inner
        self._failures = _Failures(
            "cache", ("reserve", "is_ready", "mark_ready", "release", "get", "restore")
        )

    async def reserve(self, pessoa: Pessoa) -> bool:
        return await self._failures.watch("reserve", self._inner.reserve(pessoa))

    async def is_ready(self) -> bool:
        return await self._failures.watch("is_ready", self._inner.is_ready())

    async def mark_ready(self) -> None:
        await self._failures.watch("mark_ready", self._inner.mark_ready())

    async def release(self, pessoa: Pessoa) -> None:
        await self._failures.watch("release", self._inner.release(pessoa))

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        return await self._failures.watch("get", self._inner.get(pessoa_id))

    async def restore_apelidos(self, apelidos: Iterable[str]) -> None:
        await self._failures.watch("restore", self._inner.restore_apelidos(apelidos))
        RESERVATION_RESTORES.inc()


class CountingReader:
    def __init__(self, inner: PessoaReader) -> None:
        self._inner = inner
        self._failures = _Failures("storage", ("get", "search", "count", "apelidos", "check"))

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        return await self._failures.watch("get", self._inner.get(pessoa_id))

    async def search(self, term: str, limit: int) -> list[Pessoa]:
        return await self._failures.watch("search", self._inner.search(term, limit))

    async def count(self) -> int:
        return await self._failures.watch("count", self._inner.count())

    async def apelidos(self) -> list[str]:
        return await self._failures.watch("apelidos", self._inner.apelidos())

    async def check(self) -> None:
        await self._failures.watch("check", self._inner.check())


class CountingWriter:
    """The worker's writer: rows stored, transaction sizes and durations, failures."""

    def __init__(self, inner: PessoaWriter, clock: Callable[[], float]) -> None:
        self._inner = inner
        self._clock = clock
        self._failures = _Failures("storage", ("add_many",))

    async def add_many(self, pessoas: Sequence[Pessoa]) -> int:
        started = self._clock()
        stored = await self._failures.watch("add_many", self._inner.add_many(pessoas))
        STORE_SECONDS.observe(self._clock() - started)
        STORE_BATCH_SIZE.observe(len(pessoas))
        STORED_ROWS.inc(stored)
        return stored


class CountingQueue:
    def __init__(self, inner: PersistenceQueue) -> None:
        self._inner = inner
        self._failures = _Failures("queue", ("put", "wait_until_stored", "waiting"))

    async def put(self, pessoa: Pessoa, since: float | None = None) -> None:
        await self._failures.watch("put", self._inner.put(pessoa, since))

    async def wait_until_stored(self) -> None:
        await self._failures.watch("wait_until_stored", self._inner.wait_until_stored())

    async def waiting(self) -> int:
        return await self._failures.watch("waiting", self._inner.waiting())
