"""The service's own Prometheus metrics, and the wrappers that feed them around the ports' adapters.

The composition root puts these wrappers around the chosen adapters when metrics are on, so the
domain and the use cases stay unaware of them and, with metrics off, nothing here runs at all.
On the way through, a wrapper costs a call a try block (free in CPython 3.11 while nothing
fails); a failure costs one ``inc`` on a pre-bound child (no label lookup).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence

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

    def count(self, operation: str, failure: Exception) -> None:
        """Counts ``failure`` of ``operation``, unless it is not the service's failure."""
        # ReservationsLost is a StorageUnavailable, but no failure: the reservations are being
        # rebuilt and the refusal is by design.
        if not isinstance(failure, ReservationsLost):
            self._by_operation[operation].inc()


class CountingCache:
    def __init__(self, inner: PessoaCache) -> None:
        self._inner = inner
        self._failures = _Failures(
            "cache", ("reserve", "is_ready", "mark_ready", "release", "get", "restore")
        )

    async def reserve(self, pessoa: Pessoa) -> bool:
        try:
            return await self._inner.reserve(pessoa)
        except _BACKEND_FAILURES as failure:
            self._failures.count("reserve", failure)
            raise

    async def is_ready(self) -> bool:
        try:
            return await self._inner.is_ready()
        except _BACKEND_FAILURES as failure:
            self._failures.count("is_ready", failure)
            raise

    async def mark_ready(self) -> None:
        try:
            await self._inner.mark_ready()
        except _BACKEND_FAILURES as failure:
            self._failures.count("mark_ready", failure)
            raise

    async def release(self, pessoa: Pessoa) -> None:
        try:
            await self._inner.release(pessoa)
        except _BACKEND_FAILURES as failure:
            self._failures.count("release", failure)
            raise

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        try:
            return await self._inner.get(pessoa_id)
        except _BACKEND_FAILURES as failure:
            self._failures.count("get", failure)
            raise

    async def restore_apelidos(self, apelidos: Iterable[str]) -> None:
        try:
            await self._inner.restore_apelidos(apelidos)
        except _BACKEND_FAILURES as failure:
            self._failures.count("restore", failure)
            raise
        RESERVATION_RESTORES.inc()


class CountingReader:
    def __init__(self, inner: PessoaReader) -> None:
        self._inner = inner
        self._failures = _Failures("storage", ("get", "search", "count", "apelidos", "check"))

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        try:
            return await self._inner.get(pessoa_id)
        except _BACKEND_FAILURES as failure:
            self._failures.count("get", failure)
            raise

    async def search(self, term: str, limit: int) -> list[Pessoa]:
        try:
            return await self._inner.search(term, limit)
        except _BACKEND_FAILURES as failure:
            self._failures.count("search", failure)
            raise

    async def count(self) -> int:
        try:
            return await self._inner.count()
        except _BACKEND_FAILURES as failure:
            self._failures.count("count", failure)
            raise

    async def apelidos(self) -> list[str]:
        try:
            return await self._inner.apelidos()
        except _BACKEND_FAILURES as failure:
            self._failures.count("apelidos", failure)
            raise

    async def check(self) -> None:
        try:
            await self._inner.check()
        except _BACKEND_FAILURES as failure:
            self._failures.count("check", failure)
            raise


class CountingWriter:
    """The worker's writer: rows stored, transaction sizes and durations, failures."""

    def __init__(self, inner: PessoaWriter, clock: Callable[[], float]) -> None:
        self._inner = inner
        self._clock = clock
        self._failures = _Failures("storage", ("add_many",))

    async def add_many(self, pessoas: Sequence[Pessoa]) -> int:
        started = self._clock()
        try:
            stored = await self._inner.add_many(pessoas)
        except _BACKEND_FAILURES as failure:
            self._failures.count("add_many", failure)
            raise
        STORE_SECONDS.observe(self._clock() - started)
        STORE_BATCH_SIZE.observe(len(pessoas))
        STORED_ROWS.inc(stored)
        return stored


class CountingQueue:
    def __init__(self, inner: PersistenceQueue) -> None:
        self._inner = inner
        self._failures = _Failures("queue", ("put", "wait_until_stored", "waiting"))

    async def put(self, pessoa: Pessoa, since: float | None = None) -> None:
        try:
            await self._inner.put(pessoa, since)
        except _BACKEND_FAILURES as failure:
            self._failures.count("put", failure)
            raise

    async def wait_until_stored(self) -> None:
        try:
            await self._inner.wait_until_stored()
        except _BACKEND_FAILURES as failure:
            self._failures.count("wait_until_stored", failure)
            raise

    async def waiting(self) -> int:
        try:
            return await self._inner.waiting()
        except _BACKEND_FAILURES as failure:
            self._failures.count("waiting", failure)
            raise
