"""The service's own Prometheus metrics, and the one wrapper that feeds them around the ports' adapters.

The composition root puts :func:`observed` around the chosen adapters when metrics are on, so the
domain and the use cases stay unaware of them and, with metrics off, nothing here runs at all.
:func:`observed` counts the failures of every async method of any port's adapter and hands the
outcome of the methods it is told about to an observer: the commit's size and duration, the
pessoas each indexing path made searchable. Creations by outcome are the one figure a port
cannot see (a refusal is decided by the use case), so :class:`CountedCreations` wraps the use
case itself, by composition.

Every metric is prometheus_client's. In the worker, whose metrics Dramatiq's Prometheus
middleware serves from several processes, prometheus_client runs in its multiprocess mode: the
gauges say there how the processes' values combine (``multiprocess_mode``); elsewhere that
argument is ignored.
"""

from __future__ import annotations

import inspect
import time
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
READY = Gauge(
    "pessoas_ready",
    "1 while this instance's storage answers (what /ready answers), else 0",
    multiprocess_mode="livemax",
)

_COMMITTED = CREATIONS.labels("committed", "")
_INDEXED_ANNOUNCED = INDEXED_ROWS.labels("announced")
_INDEXED_RECONCILED = INDEXED_ROWS.labels("reconciled")
# Most specific first: ApelidoTaken is an InvalidPessoa.
_REFUSALS: tuple[tuple[type[Exception], Counter], ...] = (
    (UnreadablePessoa, CREATIONS.labels("refused", "unreadable")),
    (ApelidoTaken, CREATIONS.labels("refused", "apelido_taken")),
    (InvalidPessoa, CREATIONS.labels("refused", "invalid")),
    (StorageUnavailable, CREATIONS.labels("refused", "storage_unavailable")),
    (StorageUncertain, CREATIONS.labels("refused", "storage_uncertain")),
)
_BACKEND_FAILURES = (StorageUnavailable, StorageUncertain)


#: Told of each successful call of one method: its result, its duration in seconds, then the
#: call's own arguments.
Observer = Callable[..., None]


def observed(inner: _T, component: str, **observers: Observer) -> _T:
    """``inner`` seen through a proxy that counts each failed call of its async methods.

    A failure is a :class:`StorageUnavailable` or :class:`StorageUncertain`, counted in
    ``pessoas_backend_errors{component, operation}`` and raised on unchanged. Each keyword names
    an async method of ``inner`` and the observer told of that method's successful calls.
    """
    for name in observers:
        if not inspect.iscoroutinefunction(getattr(inner, name, None)):
            raise TypeError(f"{type(inner).__name__} has no async method {name!r} to observe")
    return cast(_T, _Observed(inner, component, observers))


class _Observed:
    def __init__(self, inner: Any, component: str, observers: dict[str, Observer]) -> None:
        self._inner = inner
        self._component = component
        self._observers = observers

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(method):
            return method
        failures = BACKEND_ERRORS.labels(self._component, name)
        observer = self._observers.get(name)

        if observer is None:

            async def counted(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await method(*args, **kwargs)
                except _BACKEND_FAILURES:
                    failures.inc()
                    raise

        else:

            async def counted(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    result = await method(*args, **kwargs)
                except _BACKEND_FAILURES:
                    failures.inc()
                    raise
                observer(result, time.perf_counter() - started, *args, **kwargs)
                return result

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


def observe_commit(stored: object, seconds: float, pessoas: Sequence[Pessoa]) -> None:
    """The writer's ``add_many``: pessoas per transaction and the transaction's duration."""
    COMMIT_SECONDS.observe(seconds)
    COMMIT_BATCH_SIZE.observe(len(pessoas))


def observe_announced_indexed(indexed: int, seconds: float, *_ids: object) -> None:
    """The search index's ``index``: pessoas made searchable by the worker's messages."""
    _INDEXED_ANNOUNCED.inc(indexed)


def observe_reconciled_indexed(indexed: int, seconds: float) -> None:
    """The search index's ``index_missing``: pessoas found without an announcement."""
    _INDEXED_RECONCILED.inc(indexed)


def observe_announcement(size: int) -> None:
    ANNOUNCEMENT_SIZE.observe(size)


def observe_readiness(readiness: Readiness) -> Readiness:
    """Exposes the readiness loop's last answer; read at scrape time, so free in between."""
    READY.set_function(lambda: 1.0 if readiness.state.ready else 0.0)
    return readiness
