"""The Dramatiq middleware a worker process runs with, beyond the broker's own (AsyncIO, Retries)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import dramatiq
from dependency_injector import providers
from dramatiq.asyncio import get_event_loop_thread

logger = logging.getLogger(__name__)

# Acks are sent by the consumer thread between polls, so Dramatiq's default prefetch (two
# messages per thread) starves while acks wait: a deep prefetch keeps RabbitMQ delivering
# (docs/performance-log.md has the measurement).
QUEUE_PREFETCH = 64
# How long the consumer blocks in a read: bounds the ack delay and the reaction to a stop.
POLL_MS = 100


class ConsumerTuning(dramatiq.Middleware):
    """Sets the worker's prefetch and poll timeout, which dramatiq's command does not expose.

    ``before_worker_boot`` runs before the worker creates its consumer and worker threads, which
    read both values when they are created.
    """

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        worker.queue_prefetch = max(QUEUE_PREFETCH, 2 * worker.worker_threads)
        worker.worker_timeout = POLL_MS


class StorageResources(dramatiq.Middleware):
    """Opens the storage group's resources (the PostgreSQL pool) on the worker's event loop.

    Only the storage group: the worker needs no publisher. The pool must live on the loop of the
    AsyncIO middleware, which exists from its ``before_worker_boot`` on (it runs before this one),
    and goes with its ``after_worker_shutdown`` (run after this one: "after" hooks run in reverse).
    """

    def __init__(self, storage: providers.Provider[Any]) -> None:
        self._resources = list(storage.traverse(types=[providers.Resource]))

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._on_loop(self._each("init"))

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._on_loop(self._each("shutdown"))

    @staticmethod
    def _on_loop(coroutine: Any) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            coroutine.close()
            raise RuntimeError("the AsyncIO middleware must come before StorageResources")
        loop_thread.run_coroutine(coroutine)

    async def _each(self, method: str) -> None:
        resources = self._resources if method == "init" else reversed(self._resources)
        for resource in resources:
            result = getattr(resource, method)()
            if hasattr(result, "__await__"):
                await result


class Reconciler(dramatiq.Middleware):
    """Runs the reconciler every ``interval`` seconds on the worker's event loop, from boot to shutdown.

    It indexes the committed pessoas whose announcement never arrived (RabbitMQ down, the queue
    purged, a message dead-lettered). It needs only PostgreSQL, so it goes on while RabbitMQ is
    away. The first pass runs at boot and looks at every stored pessoa. It stops in
    ``before_worker_shutdown``, before :class:`StorageResources` closes the pool.
    """

    def __init__(self, reconcile: Callable[[], Awaitable[int]], interval: float) -> None:
        self._reconcile = reconcile
        self._interval = interval
        self._stopping: asyncio.Event | None = None
        self._running: concurrent.futures.Future[None] | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            raise RuntimeError("the AsyncIO middleware must come before the Reconciler")
        self._stopping = asyncio.Event()
        self._running = asyncio.run_coroutine_threadsafe(self._run(self._stopping), loop_thread.loop)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = get_event_loop_thread()
        if self._running is None or self._stopping is None or loop_thread is None:
            return
        loop_thread.loop.call_soon_threadsafe(self._stopping.set)
        with contextlib.suppress(Exception):
            self._running.result(timeout=self._interval + 10)

    async def _run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self._reconcile()
            except Exception:
                # PostgreSQL down, among others: the next pass tries again.
                logger.warning("reconciler pass failed; retrying in %g s", self._interval, exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self._interval)
