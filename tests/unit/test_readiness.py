"""What /ready reports: ready exactly while this instance's storage answers."""

import asyncio

import pytest

from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.application.readiness import Readiness
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


async def test_not_ready_before_the_first_check():
    probe = Readiness(InMemoryPessoaStore())
    assert probe.state.ready is False
    assert probe.state.reasons == ("not checked yet",)


async def test_ready_while_storage_answers():
    probe = Readiness(InMemoryPessoaStore())
    state = await probe.refresh()
    assert state.ready is True
    assert state.reasons == ()
    assert probe.state == state


async def test_storage_down_makes_it_not_ready_and_names_storage():
    store = DownStore()
    probe = Readiness(store)
    state = await probe.refresh()
    assert state.ready is False
    assert state.reasons == ("storage: storage down",)
    store.up = True
    assert (await probe.refresh()).ready is True


async def test_storage_that_does_not_answer_in_time_is_a_reason():
    probe = Readiness(SlowStore(), probe_timeout=0.05)
    state = await asyncio.wait_for(probe.refresh(), 1)
    assert state.ready is False
    assert state.reasons == ("storage: no answer within 0.05 s",)


async def test_a_silent_storage_is_given_two_seconds_by_default():
    probe = Readiness(SlowStore())
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await probe.refresh()).reasons == ("storage: no answer within 2 s",)
    assert 1.9 <= loop.time() - started < 5


async def test_the_background_loop_keeps_checking_and_survives_a_broken_probe():
    probe = Readiness(BrokenStore(), interval=0.01)
    probe.start()
    probe.start()  # a second start while running changes nothing
    try:
        await asyncio.sleep(0.05)
        assert not probe.state.ready
        assert probe.state.reasons == ("readiness check failed",)
    finally:
        await probe.stop()
    await probe.stop()  # stopping twice is harmless


class CancellationSwallowingStore(InMemoryPessoaStore):
    """A probe that loses the first cancellation it receives and answers anyway, as Python 3.11's
    ``asyncio.wait_for`` does when what it waits for completes at the moment it is cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.probing = asyncio.Event()
        self.swallowed = 0

    async def check(self) -> None:
        self.probing.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed += 1


async def test_stop_ends_the_loop_even_when_a_probe_loses_the_cancellation():
    store = CancellationSwallowingStore()
    probe = Readiness(store, interval=0.05)
    probe.start()
    await store.probing.wait()
    # A shutdown must not wait on the loop for ever (the server's lifespan would time out).
    stopping = asyncio.create_task(probe.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    assert stopping in done, "stop() still waiting for the loop after 5 s"
    assert store.swallowed == 1


async def test_stop_passes_on_its_own_cancellation():
    probe = Readiness(SlowStore(), interval=0.05)
    probe.start()
    await asyncio.sleep(0.01)
    stopping = asyncio.create_task(probe.stop())
    await asyncio.sleep(0)
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    await probe.stop()  # a later stop() still waits for the loop to end


@pytest.mark.parametrize("interval", [0.01])
async def test_the_loop_follows_a_change_within_an_interval(interval):
    store = DownStore()
    probe = Readiness(store, interval=interval)
    probe.start()
    try:
        await asyncio.sleep(interval * 5)
        assert not probe.state.ready
        store.up = True  # storage answers again
        await asyncio.sleep(interval * 5)
        assert probe.state.ready
        store.up = False
        await asyncio.sleep(interval * 5)
        assert not probe.state.ready
    finally:
        await probe.stop()


async def test_the_loop_checks_every_second_by_default():
    class CountingStore(InMemoryPessoaStore):
        checks = 0

        async def check(self) -> None:
            self.checks += 1

    store = CountingStore()
    probe = Readiness(store)
    probe.start()
    try:
        async with asyncio.timeout(1):
            while store.checks == 0:  # the first check at once...
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        assert store.checks == 1  # ...and the next a second later
    finally:
        await probe.stop()


async def test_changes_are_logged_once_each_way(caplog):
    store = DownStore()
    probe = Readiness(store)
    store.up = True
    caplog.set_level("WARNING", logger="pessoas.application.readiness")
    await probe.refresh()  # the first check: nothing changed yet
    store.up = False
    await probe.refresh()
    await probe.refresh()  # still down: no second line
    store.up = True
    await probe.refresh()
    await probe.refresh()  # still up: no second line
    lines = [(r.levelname, r.getMessage(), getattr(r, "reasons", None)) for r in caplog.records]
    assert lines == [
        ("WARNING", "not ready: storage: storage down", ["storage: storage down"]),
        ("WARNING", "ready again: storage answers", None),
    ]


async def test_the_first_check_is_not_a_change(caplog):
    caplog.set_level("WARNING", logger="pessoas.application.readiness")
    await Readiness(DownStore()).refresh()
    await Readiness(InMemoryPessoaStore()).refresh()
    assert caplog.records == []


async def test_a_broken_probe_is_logged_as_an_error(caplog):
    probe = Readiness(BrokenStore(), interval=0.01)
    caplog.set_level("ERROR", logger="pessoas.application.readiness")
    probe.start()
    try:
        await asyncio.sleep(0.05)
    finally:
        await probe.stop()
    assert probe.state.ready is False
    assert caplog.records
    assert {r.getMessage() for r in caplog.records} == {"readiness check failed"}
