"""``pessoas worker``: a Dramatiq worker that stores the queued pessoas.

Every message carries a list of pessoas (the API's group commit). The actor is async, so it runs on
the event loop of Dramatiq's AsyncIO middleware, where the container's async store lives. A message
is acknowledged only after its actor returned, that is after its rows were committed; a failure is
retried by Dramatiq without limit (a 201 is a promise), and the store skips ids already stored, so
a redelivered or retried message stores nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import dramatiq
from dependency_injector import providers
from dramatiq.asyncio import get_event_loop_thread

from pessoas import __version__
from pessoas.container import Container, build_container, describe_adapters
from pessoas.domain.model import Pessoa
from pessoas.entrypoints.logs import configure_logging
from pessoas.entrypoints.metrics_server import serve_metrics
from pessoas.entrypoints.worker_metrics import MessageMetrics
from pessoas.settings import Settings

logger = logging.getLogger(__name__)

StoreFn = Callable[[Sequence[Pessoa]], Awaitable[int]]

# Long enough for a batch in progress to commit on SIGTERM; the message of a batch cut short is
# not acked, so RabbitMQ redelivers it.
_STOP_TIMEOUT_MS = 30_000

# Acks are sent by the consumer thread between polls, so Dramatiq's default prefetch (two
# messages per thread) starves while acks wait; 64 keeps RabbitMQ delivering. Measured: 3,000
# pessoas at 600/s, one thread, in-memory store: stored 0 ms after the last confirm with 64,
# 53 s later with the default.
_QUEUE_PREFETCH = 64
# How long the consumer blocks in a read: bounds the ack delay and the reaction to a stop.
_POLL_MS = 100


class MergingStore:
    """Merges the batches of messages that are processed at the same time into one transaction.

    No timer: the first batch is stored at once, and the batches that arrive while a transaction
    is running wait for it and go together in the next one. With one worker thread there is never
    a second batch waiting, so this only matters with several threads (and their prefetch).
    """

    def __init__(self, store: StoreFn, batch_max: int) -> None:
        self._store = store
        self._batch_max = max(batch_max, 1)
        self._waiting: list[tuple[list[Pessoa], asyncio.Future[None]]] = []
        self._draining = False

    async def __call__(self, pessoas: list[Pessoa]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((pessoas, done))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        await done

    async def _drain(self) -> None:
        try:
            while self._waiting:
                taken, size = 0, 0
                # Whole messages only, and always at least one, so a message is never split.
                while taken < len(self._waiting) and (
                    taken == 0 or size + len(self._waiting[taken][0]) <= self._batch_max
                ):
                    size += len(self._waiting[taken][0])
                    taken += 1
                group, self._waiting = self._waiting[:taken], self._waiting[taken:]
                try:
                    await self._store([pessoa for pessoas, _ in group for pessoa in pessoas])
                except Exception as exc:
                    # Every message of the failed transaction is retried on its own.
                    for _, done in group:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for _, done in group:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._draining = False


class _StorageResources(dramatiq.Middleware):
    """Opens the storage group's resources (the PostgreSQL pool) on the worker's event loop.

    Only the storage group: the worker needs no publisher. The pool must live on the loop of the
    AsyncIO middleware, which exists from its ``before_worker_boot`` on (it runs before this one),
    and goes with its ``after_worker_shutdown`` (run after this one: "after" hooks run in reverse).
    """

    def __init__(self, container: Container) -> None:
        self._resources = list(container.storage.traverse(types=[providers.Resource]))

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        get_event_loop_thread().run_coroutine(self._each("init"))  # type: ignore[union-attr]

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        get_event_loop_thread().run_coroutine(self._each("shutdown"))  # type: ignore[union-attr]

    async def _each(self, method: str) -> None:
        resources = self._resources if method == "init" else reversed(self._resources)
        for resource in resources:
            result = getattr(resource, method)()
            if hasattr(result, "__await__"):
                await result


def declare_store_actor(container: Container) -> dramatiq.Actor[Any, Any]:
    """Registers the actor the API's messages are addressed to on the container's broker."""
    settings = container.settings()
    broker = container.queue.broker()
    store = MergingStore(container.store_pessoas(), settings.worker_batch_max)
    decode = container.queue.decode_pessoa()

    async def store_pessoas(pessoas: list[dict[str, Any]]) -> None:
        await store([decode(data) for data in pessoas])

    decorate = dramatiq.actor(
        broker=broker, actor_name=container.queue.actor_name(), queue_name=_queue_name(container)
    )
    return decorate(store_pessoas)


def _queue_name(container: Container) -> str:
    return dramatiq.common.q_name(container.settings().queue_name)


def build_worker(container: Container, threads: int) -> dramatiq.Worker:
    """A worker for this process, not started: its broker, actor and resources come from ``container``."""
    broker = container.queue.broker()
    broker.add_middleware(_StorageResources(container))
    if container.settings().metrics:
        broker.add_middleware(MessageMetrics())
    declare_store_actor(container)
    worker = dramatiq.Worker(broker, worker_threads=max(threads, 1), worker_timeout=_POLL_MS)
    worker.queue_prefetch = max(_QUEUE_PREFETCH, 2 * threads)
    return worker


def _serve(threads: int, index: int = 0, metrics_port: int | None = None) -> None:
    settings = Settings()
    if metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    container = build_container(settings)
    configure_logging(settings.log_level)
    if not settings.amqp_url:
        raise SystemExit("pessoas worker needs PESSOAS_AMQP_URL")
    worker = build_worker(container, threads)
    logger.info(
        "pessoas worker starting on queue %s",
        settings.queue_name,
        extra={
            "version": __version__,
            "adapters": describe_adapters(settings),
            "threads": threads,
            # Each worker process serves its metrics on the next port after the previous one's.
            "metrics_address": serve_metrics(settings, "worker", port_offset=index),
        },
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    worker.start()
    try:
        stop.wait()
    finally:
        # Worker threads finish the message in hand (its transaction commits, then it is acked);
        # prefetched messages go back to the queue.
        worker.stop(timeout=_STOP_TIMEOUT_MS)
        container.queue.broker().close()


def run_worker(processes: int, threads: int, metrics_port: int | None = None) -> None:
    if processes <= 1:
        _serve(threads, 0, metrics_port)
        return
    configure_logging(Settings().log_level)
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_serve, args=(threads, index, metrics_port), daemon=False)
        for index in range(processes)
    ]
    for child in children:
        child.start()

    def forward(signum: int, frame: object) -> None:
        for child in children:
            if child.pid is not None and child.is_alive():
                child.terminate()  # SIGTERM: each child stops gracefully

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        child.join()
