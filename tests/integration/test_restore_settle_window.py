"""The restore after a cache loss against a worker transaction longer than any window (docs/faults.md).

After Redis loses its reservations, RestoreReservations waits for ``wait_until_stored`` and then
rebuilds the reservations from storage. A message the worker has taken but not yet committed is
unacknowledged: AMQP shows a client nothing of it, so a restore that watched the ready count alone
(the settle window this file was first written against) read storage while a promised pessoa was
not in it. The restore now asks RabbitMQ's management API, which counts unacknowledged messages
too, and waits for the proof of pessoas.application.drain_proof. These tests run it against the
machine's broker and its management plugin (127.0.0.1:15672), and check that it fails closed
when the management API cannot be read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Sequence

import pytest

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.adapters.rabbitmq_management import ManagementApi
from pessoas.application.drain_proof import BrokerRound
from pessoas.application.readiness import Readiness
from pessoas.application.use_cases import RestoreReservations
from pessoas.domain.errors import ReservationsLost, StorageUnavailable
from pessoas.domain.model import Pessoa
from tests.integration.rabbitmq_fixtures import (
    amqp_channel,
    make_container,
    make_pessoa,
    make_settings,
    queue_depth,
    queue_name,
    start_worker,
)

pytestmark = pytest.mark.integration

__all__ = ["amqp_channel", "queue_name"]  # fixtures, re-exported for pytest

TRANSACTION_S = 3.0  # the worker's transaction: longer than the old settle window
# ... and it goes on until the broker's counts have shown it to the restore, at most this long:
# longer than the restore's shortest run, so that a restore blind to unacknowledged messages
# would read storage while it is still going on.
HELD_AT_MOST_S = 75.0
PUBLISH_DEADLINE_S = 1.0  # short, so that the test is not dominated by the fence


class SlowStore(InMemoryPessoaStore):
    """A store whose transaction takes TRANSACTION_S, and more until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.release = threading.Event()  # set from the test's loop; the worker runs its own

    async def add_many(self, pessoas: Sequence[Pessoa]) -> int:
        self.started.set()
        await asyncio.sleep(TRANSACTION_S)
        await asyncio.to_thread(self.release.wait, HELD_AT_MOST_S)
        return await super().add_many(pessoas)


class SeenRounds:
    """The queue's management API, remembering what each round read."""

    def __init__(self, inner: ManagementApi, saw_waiting: threading.Event) -> None:
        self._inner = inner
        self._saw_waiting = saw_waiting
        self.rounds: list[BrokerRound] = []

    async def read_round(self) -> BrokerRound:
        read = await self._inner.read_round()
        self.rounds.append(read)
        if read.waiting:
            self._saw_waiting.set()
        return read


class WatchedReader:
    """The restore's reader: records which apelidos storage held when the restore read them."""

    def __init__(self, store: InMemoryPessoaStore) -> None:
        self._store = store
        self.read: list[str] | None = None

    async def apelidos(self) -> list[str]:
        self.read = await self._store.apelidos()
        return self.read

    async def check(self) -> None:
        return None


async def test_the_restore_reads_storage_only_once_every_confirmed_pessoa_is_stored(queue_name, amqp_channel):
    store = SlowStore()
    settings = make_settings(queue_name, publish_deadline=PUBLISH_DEADLINE_S)
    container = make_container(settings, store)
    queue = container.queue.queue()
    seen = SeenRounds(container.queue.management(), store.release)
    queue._management = seen
    await queue.open()
    worker = start_worker(container, threads=1)
    promised = make_pessoa(1)
    cache = InMemoryPessoaCache()  # as Redis after a restart: empty, not ready
    reader = WatchedReader(store)
    restore = RestoreReservations(cache, reader, queue)
    try:
        await queue.put(promised)  # confirmed: this is what a 201 promises
        # The worker has the message (unacknowledged): the queue shows nothing ready.
        for _ in range(100):
            if store.started.is_set() and await queue_depth(amqp_channel, queue_name) == 0:
                break
            await asyncio.sleep(0.05)
        assert store.started.is_set()
        assert await queue_depth(amqp_channel, queue_name) == 0
        assert await store.get(promised.id) is None  # not stored yet: the case the window missed
        started = time.monotonic()
        await asyncio.wait_for(restore(), timeout=HELD_AT_MOST_S + 120)
        took = time.monotonic() - started
    finally:
        store.release.set()
        await queue.close()
        await asyncio.to_thread(worker.stop)
    assert reader.read is not None
    assert promised.apelido in reader.read
    # The broker showed the message the worker held unacknowledged, and the restore waited for it.
    assert any(read.waiting for read in seen.rounds)
    assert await cache.is_ready()
    # Taken back from storage: another pessoa with the promised apelido is refused.
    assert not await cache.reserve(dataclasses.replace(make_pessoa(2), apelido=promised.apelido))
    # Its cost, as docs/faults.md states it: at least the fence and two ages of the statistics.
    assert took >= queue.fence_delay + 2 * (2 * settings.rabbitmq_stats_interval)


@pytest.mark.parametrize(
    "management_url",
    [
        pytest.param("http://guest:guest@127.0.0.1:1/", id="unreachable"),
        pytest.param("http://guest:not-the-password@127.0.0.1:15672/", id="refused"),
    ],
)
async def test_without_the_management_api_the_restore_fails_closed(queue_name, management_url, caplog):
    store = InMemoryPessoaStore()
    settings = make_settings(queue_name, rabbitmq_management_url=management_url)
    container = make_container(settings, store)
    queue = container.queue.queue()
    await queue.open()
    cache = InMemoryPessoaCache()
    restore = RestoreReservations(cache, store, queue)
    readiness = Readiness(cache, store, queue, restore)
    try:
        for _ in range(2):
            with pytest.raises(StorageUnavailable, match="management API"):
                await asyncio.wait_for(restore(), timeout=30)
        state = await readiness.refresh()
    finally:
        await queue.close()
    assert not await cache.is_ready()
    with pytest.raises(ReservationsLost):
        await cache.reserve(make_pessoa(4))
    assert not state.ready
    assert any("cannot complete" in reason and "management API" in reason for reason in state.reasons)
    # One clear line for the two failed runs, not one per retry.
    lines = [r for r in caplog.records if "cannot be restored yet" in r.getMessage()]
    assert len(lines) == 1
    assert "not-the-password" not in lines[0].getMessage()
