"""The service's own Prometheus metrics, and the wrappers that feed them around the ports' adapters.

The composition root puts these wrappers around the chosen adapters when metrics are on, so the
domain and the use cases stay unaware of them and, with metrics off, nothing here runs at all.
:func:`counting` is the one generic wrapper: it counts the failures of every async method of any
port's adapter. The few figures a generic wrapper cannot see (transaction sizes, rows indexed
by which path, creations by outcome) have small wrappers of their own, each by composition.
"""

from __future__ import annotations

import inspect
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

from prometheus_client import Counter, Gauge, Histogram

from pessoas.application.readiness import Readiness
from pessoas.domain.errors import (
    ApelidoTaken,
    InvalidPessoa,
    StorageUnavailable,
    StorageUncertain,
    UnreadablePessoa,
)
from pessoas.domain.model import Pessoa
from pessoas.ports.repository import PessoaWriter, SearchIndex

_T = TypeVar("_T")

CREATIONS = Counter(
    "pessoas_creations",
    "Creations answered by the use case: committed (201) or refused, by reason",
    ["outcome", "reason"],
)
COMMIT_BATCH_SIZE = Histogram(
    "pessoas_commit_batch_size",
    "Pessoas per transaction of creations",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
COMMIT_SECONDS = Histogram(
    "pessoas_commit_seconds",
    "Duration of one transaction of creations, from the statement to the commit's answer",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
ANNOUNCEMENT_SIZE = Histogram(
    "pessoas_announcement_size",
    "Ids per announcement message published to the worker's queue",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000),
)
INDEXED_ROWS = Counter(
    "pessoas_indexed",
    "Pessoas made searchable, by path: announced (the worker's messages) or reconciled (found "
    "without an announcement: announcements are being lost when this grows)",
    ["path"],
)
BACKEND_ERRORS = Counter(
    "pessoas_backend_errors",
    "Calls to a backing service that failed (unavailable or unconfirmed), by component and operation",
    ["component", "operation"],
)
READY = Gauge("pessoas_ready", "1 while this instance's storage answers (what /ready answers), else 0")

_COMMITTED = CREATIONS.labels("committed", "")
# Most specific first: ApelidoTaken is an InvalidPessoa.
_REFUSALS: tuple[tuple[type[Exception], Counter], ...] = (
    (UnreadablePessoa, CREATIONS.labels("refused", "unreadable")),
    (ApelidoTaken, CREATIONS.labels("refused", "apelido_taken")),
    (InvalidPessoa, CREATIONS.labels("refused", "invalid")),
    (StorageUnavailable, CREATIONS.labels("refused", "storage_unavailable")),
    (StorageUncertain, CREATIONS.labels("refused", "storage_uncertain")),
)
_BACKEND_FAILURES = (StorageUnavailable, StorageUncertain)


def counting(inner: _T, component: str) -> _T:
    """``inner`` seen through a proxy that counts each failed call of its async methods.

    A failure is a :class:`StorageUnavailable` or :class:`StorageUncertain`, counted in
    ``pessoas_backend_errors{component, operation}`` and raised on unchanged.
    """
    return cast(_T, _Counting(inner, component))


class _Counting:
    def __init__(self, inner: Any, component: str) -> None:
        self._inner = inner
        self._component = component

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(method):
            return method
        failures = BACKEND_ERRORS.labels(self._component, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            try:
                return await method(*args, **kwargs)
            except _BACKEND_FAILURES:
                failures.inc()
                raise

        # Kept on the proxy: later calls find it directly, without coming back here.
        setattr(self, name, counted)
        return counted


class CountedCreations:
    """A creation use case (any async callable of a body) that counts each outcome."""

    def __init__(self, create: Callable[[object], Awaitable[Pessoa]]) -> None:
        self._create = create

    async def __call__(self, body: object) -> Pessoa:
        try:
            pessoa = await self._create(body)
        except Exception as exc:
            for kind, counter in _REFUSALS:
                if isinstance(exc, kind):
                    counter.inc()
                    break
            raise
        _COMMITTED.inc()
        return pessoa

    def __getattr__(self, name: str) -> Any:
        return getattr(self._create, name)  # settle(), for a shutdown


class TimedWriter:
    """The creations' writer: pessoas per transaction and each transaction's duration."""

    def __init__(self, inner: PessoaWriter, clock: Callable[[], float] = time.perf_counter) -> None:
        self._inner = inner
        self._clock = clock

    async def add_many(self, pessoas: Sequence[Pessoa]) -> set[uuid.UUID]:
        started = self._clock()
        stored = await self._inner.add_many(pessoas)
        COMMIT_SECONDS.observe(self._clock() - started)
        COMMIT_BATCH_SIZE.observe(len(pessoas))
        return stored


class CountedSearchIndex:
    """The worker's search index: how many pessoas each path made searchable."""

    def __init__(self, inner: SearchIndex) -> None:
        self._inner = inner
        self._announced = INDEXED_ROWS.labels("announced")
        self._reconciled = INDEXED_ROWS.labels("reconciled")

    async def index(self, ids: Sequence[uuid.UUID]) -> int:
        indexed = await self._inner.index(ids)
        self._announced.inc(indexed)
        return indexed

    async def index_missing(self) -> int:
        indexed = await self._inner.index_missing()
        self._reconciled.inc(indexed)
        return indexed


def observe_announcement(size: int) -> None:
    ANNOUNCEMENT_SIZE.observe(size)


def observe_readiness(readiness: Readiness) -> Readiness:
    """Exposes the readiness loop's last answer; read at scrape time, so free in between."""
    READY.set_function(lambda: 1.0 if readiness.state.ready else 0.0)
    return readiness
