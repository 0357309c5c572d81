"""What /ready reports: ready only while this instance would promise a creation."""

import asyncio

import pytest

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.memory_queue import DirectPersistenceQueue
from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.application.readiness import Readiness
from pessoas.application.use_cases import RestoreReservations
from pessoas.domain.errors import StorageUnavailable


class SlowStore(InMemoryPessoaStore):
    async def check(self) -> None:
        await asyncio.sleep(10)


class DownStore(InMemoryPessoaStore):
    up = False

    async def check(self) -> None:
        if not self.up:
            raise StorageUnavailable("storage down")


class BrokenStore(InMemoryPessoaStore):
    async def check(self) -> None:
        raise RuntimeError("a bug in the probe")


def readiness(store: InMemoryPessoaStore, **options: float) -> tuple[Readiness, InMemoryPessoaCache]:
    cache = InMemoryPessoaCache()
    queue = DirectPersistenceQueue(store)
    restore = RestoreReservations(cache, store, queue)
    return Readiness(cache, store, queue, restore, **options), cache


async def test_ready_once_reservations_are_complete_and_storage_answers():
    probe, cache = readiness(InMemoryPessoaStore())
    await cache.mark_ready()
    state = await probe.refresh()
    assert state.ready
    assert state.reasons == ()
    assert state.queue_depth == 0


async def test_missing_reservations_make_it_not_ready_and_start_their_restore():
    probe, cache = readiness(InMemoryPessoaStore())
    state = await probe.refresh()
    assert not state.ready
    assert state.reasons == ("cache: apelido reservations are being restored",)
    await asyncio.sleep(0.05)  # the restore readiness started in the background
    assert await cache.is_ready()
    assert (await probe.refresh()).ready


async def test_storage_down_or_silent_makes_it_not_ready():
    down, cache = readiness(DownStore())
    await cache.mark_ready()
    assert (await down.refresh()).reasons == ("storage: storage down",)
    silent, cache = readiness(SlowStore(), probe_timeout=0.05)
    await cache.mark_ready()
    assert (await silent.refresh()).reasons == ("storage: no answer within 0.05 s",)


async def test_the_background_loop_keeps_checking_and_survives_a_broken_probe():
    probe, cache = readiness(BrokenStore(), interval=0.01)
    await cache.mark_ready()
    probe.start()
    probe.start()  # a second start while running changes nothing
    try:
        await asyncio.sleep(0.05)
        assert not probe.state.ready
        assert probe.state.reasons == ("readiness check failed",)
    finally:
        await probe.stop()
    await probe.stop()  # stopping twice is harmless


@pytest.mark.parametrize("interval", [0.01])
async def test_the_loop_follows_a_change_within_an_interval(interval):
    store = DownStore()
    probe, cache = readiness(store, interval=interval)
    await cache.mark_ready()
    probe.start()
    try:
        await asyncio.sleep(interval * 5)
        assert not probe.state.ready
        store.up = True  # storage answers again
        await asyncio.sleep(interval * 5)
        assert probe.state.ready
    finally:
        await probe.stop()


class DownCache(InMemoryPessoaCache):
    async def is_ready(self) -> bool:
        raise StorageUnavailable("redis down")


class DownQueue(DirectPersistenceQueue):
    up = False

    async def waiting(self) -> int:
        if not self.up:
            raise StorageUnavailable("broker down")
        return 0


async def test_each_part_that_fails_is_named_in_the_reasons():
    store = InMemoryPessoaStore()
    cache, queue = DownCache(), DownQueue(store)
    probe = Readiness(cache, store, queue, RestoreReservations(cache, store, queue))
    state = await probe.refresh()
    assert state.ready is False
    assert state.reasons == ("cache: redis down", "queue: broker down")
    assert state.queue_depth is None


async def test_changes_are_logged_once_each_way(caplog):
    store = DownStore()
    probe, cache = readiness(store)
    await cache.mark_ready()
    store.up = True
    caplog.set_level("WARNING", logger="pessoas.application.readiness")
    await probe.refresh()  # the first check: nothing changed yet
    store.up = False
    await probe.refresh()
    await probe.refresh()  # still down: no second line
    store.up = True
    await probe.refresh()
    lines = [(r.levelname, r.getMessage(), getattr(r, "reasons", None)) for r in caplog.records]
    assert lines == [
        ("WARNING", "not ready: storage: storage down", ["storage: storage down"]),
        ("WARNING", "ready again: this instance accepts creations", None),
    ]


async def test_a_broken_probe_is_logged_as_an_error(caplog):
    probe, cache = readiness(BrokenStore(), interval=0.01)
    await cache.mark_ready()
    caplog.set_level("ERROR", logger="pessoas.application.readiness")
    probe.start()
    try:
        await asyncio.sleep(0.05)
    finally:
        await probe.stop()
    assert probe.state.ready is False
    assert caplog.records
    assert {r.getMessage() for r in caplog.records} == {"readiness check failed"}


async def test_a_silent_part_is_given_two_seconds_by_default():
    probe, cache = readiness(SlowStore())
    await cache.mark_ready()
    assert (await probe.refresh()).reasons == ("storage: no answer within 2 s",)


async def test_several_reasons_are_logged_on_one_line(caplog):
    store = DownStore()
    store.up = True
    queue = DownQueue(store)
    queue.up = True
    cache = InMemoryPessoaCache()
    await cache.mark_ready()
    probe = Readiness(cache, store, queue, RestoreReservations(cache, store, queue))
    await probe.refresh()
    store.up = queue.up = False  # the broker goes away with the storage
    caplog.set_level("WARNING", logger="pessoas.application.readiness")
    await probe.refresh()
    logged = [r.getMessage() for r in caplog.records]
    assert logged == ["not ready: storage: storage down; queue: broker down"]


class UnprovableQueue(DirectPersistenceQueue):
    async def wait_until_stored(self) -> None:
        raise StorageUnavailable("RabbitMQ management API: http://r:15672: ConnectError")


async def test_a_restore_that_cannot_complete_says_why_in_the_reasons():
    store = InMemoryPessoaStore()
    cache = InMemoryPessoaCache()
    queue = UnprovableQueue(store)
    probe = Readiness(cache, store, queue, RestoreReservations(cache, store, queue))
    assert (await probe.refresh()).reasons == ("cache: apelido reservations are being restored",)
    await asyncio.sleep(0.05)  # the restore it started has failed by now
    state = await probe.refresh()
    assert not state.ready
    assert state.reasons == (
        "cache: apelido reservations are being restored (cannot complete: "
        "RabbitMQ management API: http://r:15672: ConnectError)",
    )
