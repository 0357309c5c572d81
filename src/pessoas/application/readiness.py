"""Whether this instance would accept creations now: what ``/ready`` answers, kept fresh in the background.

A probe per request would cost a round trip to each backing service on every poll of every load
balancer; instead one loop per process checks them every ``interval`` seconds and the answer is
read from memory. A change either way shows within one interval (plus the probe's timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from pessoas.application.use_cases import RestoreReservations
from pessoas.domain.errors import StorageUnavailable
from pessoas.ports.cache import PessoaCache
from pessoas.ports.queue import PersistenceQueue
from pessoas.ports.repository import PessoaReader

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass(frozen=True)
class ReadinessState:
    ready: bool
    # Why not, one phrase per failing part ("cache: ...", "storage: ...", "queue: ...").
    reasons: tuple[str, ...] = ()
    # Messages waiting for the worker, when the last check could read it.
    queue_depth: int | None = None
    checked: bool = field(default=True, compare=False)


_NOT_CHECKED = ReadinessState(ready=False, reasons=("not checked yet",), checked=False)


class Readiness:
    def __init__(
        self,
        cache: PessoaCache,
        reader: PessoaReader,
        queue: PersistenceQueue,
        restore: RestoreReservations,
        interval: float = 1.0,
        probe_timeout: float = 2.0,
    ) -> None:
        self._cache = cache
        self._reader = reader
        self._queue = queue
        self._restore = restore
        self._interval = interval
        self._probe_timeout = probe_timeout
        self._task: asyncio.Task[None] | None = None
        self.state = _NOT_CHECKED

    async def refresh(self) -> ReadinessState:
        """Checks the cache, storage and queue once, concurrently, and keeps the outcome."""
        reservations, storage, depth = await asyncio.gather(
            self._probe(self._cache.is_ready()),
            self._probe(self._reader.check()),
            self._probe(self._queue.waiting()),
        )
        reasons: list[str] = []
        if isinstance(reservations, str):
            reasons.append(f"cache: {reservations}")
        elif not reservations:
            problem = self._restore.problem
            reasons.append(
                "cache: apelido reservations are being restored"
                + (f" (cannot complete: {problem})" if problem else "")
            )
            # Out of rotation, this instance would receive no creation to start the restore
            # with: so readiness starts it.
            self._restore.start()
        if isinstance(storage, str):
            reasons.append(f"storage: {storage}")
        if isinstance(depth, str):
            reasons.append(f"queue: {depth}")
        state = ReadinessState(
            ready=not reasons,
            reasons=tuple(reasons),
            queue_depth=depth if isinstance(depth, int) else None,
        )
        if state.ready != self.state.ready and self.state.checked:
            if state.ready:
                logger.warning("ready again: this instance accepts creations")
            else:
                logger.warning("not ready: %s", "; ".join(reasons), extra={"reasons": list(reasons)})
        self.state = state
        return state

    async def _probe(self, check: Awaitable[_T]) -> _T | str:
        """The check's result, or why it failed as a short phrase."""
        try:
            async with asyncio.timeout(self._probe_timeout):
                return await check
        except TimeoutError:
            return f"no answer within {self._probe_timeout:g} s"
        except StorageUnavailable as exc:
            return str(exc)

    def start(self) -> None:
        """Checks now and then every interval, in the background, until :meth:`stop`."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                # A bug in a probe must not stop the loop: the instance would stay as last seen.
                logger.exception("readiness check failed")
                self.state = ReadinessState(ready=False, reasons=("readiness check failed",))
            await asyncio.sleep(self._interval)
