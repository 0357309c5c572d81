"""Group commit: the items of concurrent callers share one flush, and each caller gets its result.

Storage pays per transaction rather than per row, and the worker per message: so callers hand
their item to a :class:`GroupCommit` and wait; the items gathered meanwhile leave together, and
every caller of a flush is released with its own result (the flush returns one per item, in
order), or with the flush's exception.

The rules:

- The first item of a group opens a window of ``window`` seconds; the group leaves when the
  window closes or once it holds ``max_size`` (counted by ``size``), whichever comes first. A zero
  window still waits for the next turn of the event loop, so callers already runnable join in.
- Items are never split: a group takes whole items up to ``max_size``, and always at least one.
- At most ``max_in_flight`` flushes run at once (``None``: no limit). Items arriving while every
  slot is busy wait, and leave together as soon as a flush ends.
- A caller that is cancelled stops waiting, but its item stays in its group and the flush goes on:
  the other callers of that flush depend on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[list[T]], Awaitable[Sequence[R]]]


def _one(item: object) -> int:
    return 1


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        flush: Flush[T, R],
        *,
        window: float = 0.0,
        max_size: int = 256,
        size: Callable[[T], int] = _one,
        max_in_flight: int | None = None,
    ) -> None:
        self._flush = flush
        self._window = max(window, 0.0)
        self._max_size = max(max_size, 1)
        self._size = size
        self._max_in_flight = max(max_in_flight, 1) if max_in_flight is not None else None
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._pending_size = 0
        self._due = False
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        """Returns ``item``'s result once its flush succeeded; raises what that flush raised."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, done))
        self._pending_size += self._size(item)
        if self._pending_size >= self._max_size:
            self._due = True
            self._start_flushes()
        elif self._timer is None and not self._due:
            if self._window > 0:
                self._timer = loop.call_later(self._window, self._window_closed)
            else:
                self._timer = loop.call_soon(self._window_closed)
        # The flush runs in a task of its own: cancelling this caller cancels only its own future.
        return await done

    async def flush(self) -> None:
        """Sends what is pending now, whatever the window, and waits until no flush is running."""
        while self._pending or self._in_flight:
            if self._pending:
                self._due = True
                self._start_flushes()
            # asyncio.wait, not gather: cancelling this caller must not cancel the flushes.
            await asyncio.wait(set(self._in_flight))

    def _window_closed(self) -> None:
        self._timer = None
        self._due = True
        self._start_flushes()

    def _start_flushes(self) -> None:
        while self._due and self._pending and self._has_free_slot():
            self._start_one()
        if not self._pending:
            self._due = False
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _has_free_slot(self) -> bool:
        return self._max_in_flight is None or len(self._in_flight) < self._max_in_flight

    def _start_one(self) -> None:
        taken, size = 0, 0
        while taken < len(self._pending):
            item_size = self._size(self._pending[taken][0])
            if taken and size + item_size > self._max_size:
                break
            size += item_size
            taken += 1
        group, self._pending = self._pending[:taken], self._pending[taken:]
        self._pending_size -= size
        # What is left over is already late (its window closed or the group was full) only if
        # it fills a group of its own; otherwise it waits for its own window.
        self._due = self._pending_size >= self._max_size or self._timer is None
        task = asyncio.get_running_loop().create_task(self._run(group))
        self._in_flight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._start_flushes()

    async def _run(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._flush([item for item, _ in group])
            if len(results) != len(group):
                raise RuntimeError(f"a flush of {len(group)} items returned {len(results)} results")
        except BaseException as exc:
            for _, done in group:
                if not done.done():
                    done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for (_, done), result in zip(group, results, strict=True):
                if not done.done():
                    done.set_result(result)
