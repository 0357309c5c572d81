"""The rules of group commit, on a recording flush function (no broker, no database)."""

from __future__ import annotations

import asyncio

import pytest

from pessoas.application.group_commit import GroupCommit


class Recorder:
    """Records every flush; while ``gate`` is cleared, flushes wait for it; may fail on demand."""

    def __init__(self) -> None:
        self.flushes: list[list[object]] = []
        self.running = 0
        self.most_running = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_with: BaseException | None = None

    async def __call__(self, items: list[object]) -> None:
        self.flushes.append(items)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.gate.wait()
            if self.fail_with is not None:
                raise self.fail_with
        finally:
            self.running -= 1


async def settle() -> None:
    """Lets every runnable callback and task run (a few turns of the loop)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_calls_already_runnable_share_one_flush_with_a_zero_window():
    recorder = Recorder()
    group = GroupCommit(recorder, window=0)
    await asyncio.gather(*(group.submit(n) for n in range(5)))
    assert recorder.flushes == [[0, 1, 2, 3, 4]]


async def test_nothing_leaves_before_the_window_closes():
    recorder = Recorder()
    group = GroupCommit(recorder, window=60)
    waiters = [asyncio.create_task(group.submit(n)) for n in range(3)]
    await settle()
    assert recorder.flushes == []
    assert not any(w.done() for w in waiters)
    await group.flush()  # sends what is pending whatever the window
    await asyncio.gather(*waiters)
    assert recorder.flushes == [[0, 1, 2]]


async def test_the_window_closing_sends_the_group_and_a_later_call_opens_a_new_one():
    recorder = Recorder()
    group = GroupCommit(recorder, window=0.01)
    await asyncio.gather(group.submit("a"), group.submit("b"))
    await group.submit("c")
    assert recorder.flushes == [["a", "b"], ["c"]]


async def test_a_full_group_leaves_without_waiting_for_the_window():
    recorder = Recorder()
    group = GroupCommit(recorder, window=60, max_size=5)
    await asyncio.wait_for(asyncio.gather(*(group.submit(n) for n in range(10))), 1)
    assert recorder.flushes == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


async def test_an_exception_reaches_every_caller_of_its_flush_and_only_them():
    recorder = Recorder()
    group = GroupCommit(recorder, window=0)
    recorder.fail_with = ConnectionError("down")
    results = await asyncio.gather(*(group.submit(n) for n in range(3)), return_exceptions=True)
    assert all(result is recorder.fail_with for result in results)
    recorder.fail_with = None
    await group.submit(3)
    assert recorder.flushes == [[0, 1, 2], [3]]


async def test_a_cancelled_caller_does_not_cancel_the_flush_the_others_wait_on():
    recorder = Recorder()
    recorder.gate.clear()
    group = GroupCommit(recorder, window=0)
    leaving, staying = (
        asyncio.create_task(group.submit("leaving")),
        asyncio.create_task(group.submit("staying")),
    )
    await settle()
    assert recorder.flushes == [["leaving", "staying"]]
    leaving.cancel()
    await settle()
    assert leaving.cancelled()
    assert not staying.done()
    recorder.gate.set()
    await staying  # released by the flush that went on
    assert recorder.running == 0


async def test_cancelling_a_caller_of_flush_does_not_cancel_the_flushes():
    recorder = Recorder()
    recorder.gate.clear()
    group = GroupCommit(recorder, window=60)
    waiter = asyncio.create_task(group.submit("x"))
    flusher = asyncio.create_task(group.flush())
    await settle()
    flusher.cancel()
    await settle()
    recorder.gate.set()
    await waiter
    assert recorder.flushes == [["x"]]


async def test_one_flush_at_a_time_merges_what_arrives_meanwhile():
    recorder = Recorder()
    recorder.gate.clear()
    group = GroupCommit(recorder, window=0, max_in_flight=1)
    first = asyncio.create_task(group.submit("first"))
    await settle()
    later = [asyncio.create_task(group.submit(n)) for n in range(4)]
    await settle()
    assert recorder.flushes == [["first"]]  # the others wait for the running flush
    recorder.gate.set()
    await asyncio.gather(first, *later)
    assert recorder.flushes == [["first"], [0, 1, 2, 3]]
    assert recorder.most_running == 1


async def test_whole_items_are_never_split_and_an_oversized_one_leaves_alone():
    recorder = Recorder()
    recorder.gate.clear()
    group: GroupCommit[list[int]] = GroupCommit(recorder, window=0, max_size=5, size=len, max_in_flight=1)
    tasks = [asyncio.create_task(group.submit([0]))]
    await settle()  # [0] is being flushed; the rest queue behind it
    for message in ([1, 1, 1], [2, 2, 2], [3], [4] * 7, [5]):
        tasks.append(asyncio.create_task(group.submit(message)))
    await settle()
    recorder.gate.set()
    await asyncio.gather(*tasks)
    assert recorder.flushes == [[[0]], [[1, 1, 1]], [[2, 2, 2], [3]], [[4] * 7], [[5]]]


async def test_uncapped_flushes_run_concurrently():
    recorder = Recorder()
    recorder.gate.clear()
    group = GroupCommit(recorder, window=0, max_size=2)
    tasks = [asyncio.create_task(group.submit(n)) for n in range(6)]
    await settle()
    assert recorder.running == 3
    recorder.gate.set()
    await asyncio.gather(*tasks)


@pytest.mark.parametrize("max_size", [0, -3])
async def test_a_max_size_below_one_means_one(max_size):
    recorder = Recorder()
    group = GroupCommit(recorder, window=60, max_size=max_size)
    await asyncio.wait_for(asyncio.gather(group.submit("a"), group.submit("b")), 1)
    assert recorder.flushes == [["a"], ["b"]]
