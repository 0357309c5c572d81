"""RabbitMQ fixtures: a unique queue per test, deleted afterwards, and helpers to look inside it.

No skipping: when RabbitMQ is unreachable these fixtures raise, so the tests fail.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator, Sequence

import aiormq
import dramatiq
import pytest

from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.adapters.rabbitmq_message import QueueNames
from pessoas.container import Container, build_container
from pessoas.container.memory import MemoryStorage
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


async def wait_until_stored(
    store: InMemoryPessoaStore, pessoas: Sequence[Pessoa], timeout: float = 10.0
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        missing = [p for p in pessoas if await store.get(p.id) is None]
        if not missing:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{len(missing)} of {len(pessoas)} pessoas were not stored in {timeout} s")
        await asyncio.sleep(0.02)


class FlakyStore(InMemoryPessoaStore):
    """Fails its first ``failures`` writes, like a PostgreSQL that is briefly down."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.calls = 0

    async def add_many(self, pessoas: Sequence[Pessoa]) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("storage is down")
        return await super().add_many(pessoas)


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
