"""RabbitMQ fixtures: a unique queue per test, deleted afterwards, and helpers to look inside it.

No skipping: when RabbitMQ is unreachable these fixtures raise, so the tests fail.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
import uuid
from collections.abc import AsyncIterator, Sequence

import aiormq
import dramatiq
import orjson
import pytest

from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.adapters.rabbitmq_message import INDEX_ACTOR_NAME, QueueNames
from pessoas.container import Container, build_container
from pessoas.container.memory import MemoryStorage
from pessoas.domain.errors import StorageUnavailable
from pessoas.domain.model import Pessoa, new_pessoa
from pessoas.entrypoints.worker_setup import worker_broker
from pessoas.settings import Settings

AMQP_URL = os.environ.get("PESSOAS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def make_pessoa(n: int) -> Pessoa:
    return new_pessoa(
        {
            "apelido": f"ap{n}-{uuid.uuid4().hex[:8]}",
            "nome": f"Nome {n}",
            "nascimento": "2000-01-01",
            "stack": ["Python"] if n % 2 else None,
        }
    )


@pytest.fixture
async def queue_name() -> AsyncIterator[str]:
    name = f"test-pessoas-{uuid.uuid4().hex[:12]}"
    yield name
    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        names = QueueNames.of(name)
        for queue in (names.canonical, names.delay, names.dead_letter):
            await channel.queue_delete(queue)
    finally:
        await connection.close()


@pytest.fixture
async def amqp_channel() -> AsyncIterator[aiormq.abc.AbstractChannel]:
    connection = await aiormq.connect(AMQP_URL)
    try:
        yield await connection.channel()
    finally:
        await connection.close()


def make_settings(queue_name: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "storage": "memory",
        "amqp_url": AMQP_URL,
        "queue_name": queue_name,
        "database_url": None,
        "redis_url": None,
        **overrides,
    }
    # Built without validation: a queue without a database is refused in service, but these tests
    # replace the storage group by the in-memory one (make_container), so no database is needed.
    return Settings.model_construct(**values)


def make_container(settings: Settings, store: InMemoryPessoaStore | None = None) -> Container:
    """The real composition root, with its storage group replaced by the in-memory one."""
    container = build_container(settings)
    storage = MemoryStorage()
    if store is not None:
        storage.store.override(store)
    container.storage.override(storage)
    return container


async def drain(channel: aiormq.abc.AbstractChannel, name: str) -> list[aiormq.abc.DeliveredMessage]:
    """Takes every message now in the queue (acking them)."""
    messages = []
    while True:
        message = await channel.basic_get(name, no_ack=True)
        if message.delivery_tag is None:
            return messages
        messages.append(message)


async def queue_depth(channel: aiormq.abc.AbstractChannel, name: str) -> int:
    ok = await channel.queue_declare(name, passive=True)
    return int(ok.message_count or 0)


async def wait_until_searchable(
    store: InMemoryPessoaStore, pessoas: Sequence[Pessoa], timeout: float = 10.0
) -> None:
    """Waits until search finds each pessoa (its apelido is unique, so search by it finds it alone)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        missing = [p for p in pessoas if await store.search(p.apelido, 1) != [p]]
        if not missing:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"{len(missing)} of {len(pessoas)} pessoas were not searchable in {timeout} s"
            )
        await asyncio.sleep(0.02)


async def wait_for_depth(
    channel: aiormq.abc.AbstractChannel, name: str, depth: int, timeout: float = 5.0
) -> None:
    """Waits until the queue holds ``depth`` messages (publishes are not confirmed: they land soon)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (found := await queue_depth(channel, name)) != depth:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"queue {name} holds {found} messages, not {depth}, after {timeout} s")
        await asyncio.sleep(0.02)


async def take(
    channel: aiormq.abc.AbstractChannel, name: str, count: int, timeout: float = 5.0
) -> list[aiormq.abc.DeliveredMessage]:
    """Takes ``count`` messages from the queue as they arrive (acking them)."""
    await wait_for_depth(channel, name, count, timeout)
    return await drain(channel, name)


async def publish_raw(channel: aiormq.abc.AbstractChannel, queue_name: str, body: bytes) -> None:
    """Publishes a body as it is, to the queue the worker consumes (what a stray publisher might send)."""
    await channel.basic_publish(body, routing_key=QueueNames.of(queue_name).canonical)


def message_for_the_index_actor(queue_name: str, *args: object, actor: str = INDEX_ACTOR_NAME) -> bytes:
    """A well-formed Dramatiq message for the worker's actor (or ``actor``), with whatever arguments."""
    return orjson.dumps(
        {
            "queue_name": QueueNames.of(queue_name).canonical,
            "actor_name": actor,
            "args": list(args),
            "kwargs": {},
            "options": {},
            "message_id": str(uuid.uuid4()),
            "message_timestamp": int(time.time() * 1000),
        }
    )


class FlakyStore(InMemoryPessoaStore):
    """Fails its first ``failures`` index calls, like a PostgreSQL that is briefly down.

    Its reconciler finds nothing, so that only the messages (and their retries) index.
    """

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.calls = 0

    async def index(self, ids: Sequence[uuid.UUID]) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise StorageUnavailable("storage is down")
        return await super().index(ids)

    async def index_missing(self) -> int:
        return 0


class RunningWorker:
    """A Dramatiq worker running in this process's threads, built as dramatiq's command builds it."""

    def __init__(self, worker: dramatiq.Worker, broker: dramatiq.Broker) -> None:
        self.worker = worker
        self.broker = broker

    def stop(self) -> None:
        self.worker.stop(timeout=10_000)
        self.broker.close()


def start_worker(container: Container, threads: int = 2) -> RunningWorker:
    # The broker module the command imports, pessoas.entrypoints.worker, reads the process's
    # settings; tests build the same broker from their own container instead.
    broker = worker_broker(container)
    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()
    return RunningWorker(worker, broker)


RETRY_DELAY_BOUND = dt.timedelta(seconds=15)
