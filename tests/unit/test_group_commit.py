"""The rules of group commit, on a recording flush function (no broker, no database)."""

from __future__ import annotations

import asyncio
import gc

import pytest

from pessoas.application.group_commit import GroupCommit


class Recorder:
    """Records every flush; while ``gate`` is cleared, flushes wait for it; may fail on demand.

    Each item's result is ``("done", item)``, unless ``results`` is set: then the flush returns it.
    """

    def __init__(self) -> None:
        self.flushes: list[list[object]] = []
        self.running = 0
        self.most_running = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_with: BaseException | None = None
        self.results: list[object] | None = None

    async def __call__(self, items: list[object]) -> list[object]:
        self.flushes.append(items)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.gate.wait()
            if self.fail_with is not None:
                raise self.fail_with
            if self.results is not None:
                return self.results
            return [("done", item) for item in items]
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


async def test_each_caller_gets_the_result_of_its_own_item():
    recorder = Recorder()
    group = GroupCommit(recorder, window=0)
    results = await asyncio.gather(*(group.submit(n) for n in range(5)))
    assert len(recorder.flushes) == 1
    assert results == [("done", n) for n in range(5)]


async def test_results_are_matched_to_items_by_position_not_by_value():
    recorder = Recorder()
    recorder.results = [True, False, True]  # what the flush decided for each item, in order
    group = GroupCommit(recorder, window=0)
    results = await asyncio.gather(group.submit("x"), group.submit("x"), group.submit("y"))
    assert results == [True, False, True]


async def test_callers_of_separate_flushes_get_their_own_results():
    recorder = Recorder()
    recorder.gate.clear()
    group = GroupCommit(recorder, window=0, max_size=2, max_in_flight=1)
    submits = [asyncio.ensure_future(group.submit(n)) for n in range(5)]
    await settle()
    recorder.gate.set()
    assert await asyncio.gather(*submits) == [("done", n) for n in range(5)]
    assert recorder.flushes == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("results", [[], [1, 2], [1, 2, 3, 4]], ids=["none", "too few", "too many"])
async def test_a_flush_returning_the_wrong_number_of_results_fails_every_caller(results):
    recorder = Recorder()
    recorder.results = results
    group = GroupCommit(recorder, window=0)
    outcomes = await asyncio.gather(*(group.submit(n) for n in range(3)), return_exceptions=True)
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes), outcomes
    assert "3 items" in str(outcomes[0]) and f"{len(results)} results" in str(outcomes[0])
    recorder.results = None
    assert await group.submit(3) == ("done", 3)  # and the next flush works as before


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
    group: GroupCommit[list[int], object] = GroupCommit(
        recorder, window=0, max_size=5, size=len, max_in_flight=1
    )
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


async def test_with_no_window_a_lone_item_is_flushed_at_once():
    recorder = Recorder()
    batches = GroupCommit(recorder)
    async with asyncio.timeout(0.5):
        await batches.submit("a")
    assert recorder.flushes == [["a"]]


async def test_the_default_group_holds_256_items():
    recorder = Recorder()
    batches = GroupCommit(recorder, window=10.0)
    submits = [asyncio.ensure_future(batches.submit(n)) for n in range(257 + 256)]
    await settle()
    async with asyncio.timeout(2):
        await batches.flush()  # the last item alone would wait for its window
        await asyncio.gather(*submits)
    assert [len(group) for group in recorder.flushes] == [256, 256, 1]


async def test_a_window_gathers_items_that_arrive_within_it():
    recorder = Recorder()
    batches = GroupCommit(recorder, window=0.2)
    first = asyncio.ensure_future(batches.submit("a"))
    await asyncio.sleep(0.05)
    await asyncio.gather(first, batches.submit("b"))
    assert recorder.flushes == [["a", "b"]]


async def test_an_item_waits_its_own_full_window_after_an_earlier_flush():
    loop = asyncio.get_running_loop()
    recorder = Recorder()
    batches = GroupCommit(recorder, window=0.2)
    first = asyncio.ensure_future(batches.submit("a"))
    await asyncio.sleep(0.1)
    await asyncio.gather(first, batches.submit("b"))  # flushed together when a's window closes
    submitted = loop.time()
    await batches.submit("c")
    assert loop.time() - submitted >= 0.15, "c left before its window closed"
    assert recorder.flushes == [["a", "b"], ["c"]]


async def test_full_groups_waiting_for_a_slot_leave_without_waiting_for_a_window():
    recorder = Recorder()
    recorder.gate.clear()
    batches = GroupCommit(recorder, window=10.0, max_size=2, max_in_flight=1)
    submits = [asyncio.ensure_future(batches.submit(n)) for n in range(6)]
    await settle()
    recorder.gate.set()
    async with asyncio.timeout(1):  # far shorter than the window
        await asyncio.gather(*submits)
    assert recorder.flushes == [[0, 1], [2, 3], [4, 5]]


async def test_a_failed_flush_leaves_no_unretrieved_task_exception():
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        recorder = Recorder()
        recorder.fail_with = RuntimeError("storage down")
        batches = GroupCommit(recorder)
        with pytest.raises(RuntimeError):
            await batches.submit("a")
        await settle()
        gc.collect()
        await settle()
    finally:
        loop.set_exception_handler(None)
    assert reported == []
