"""Whether this instance can serve now: what ``/ready`` answers, kept fresh in the background.

An instance is ready while its storage answers: every route needs it (a creation commits there,
and every read can fall back to it). The cache and the queue are not needed by any route, so
their loss does not take an instance out of rotation.

A probe per request would cost a round trip on every poll of every load balancer; instead one
loop per process checks every ``interval`` seconds and the answer is read from memory. A change
either way shows within one interval (plus the probe's timeout).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from pessoas.domain.errors import StorageUnavailable
from pessoas.ports.repository import PessoaReader

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass(frozen=True)
class ReadinessState:
    ready: bool
    # Why not, one phrase per failing part ("storage: ...").
    reasons: tuple[str, ...] = ()
    checked: bool = field(default=True, compare=False)


_NOT_CHECKED = ReadinessState(ready=False, reasons=("not checked yet",), checked=False)


class Readiness:
    def __init__(
        self,
        reader: PessoaReader,
        interval: float = 1.0,
        probe_timeout: float = 2.0,
    ) -> None:
        self._reader = reader
        self._interval = interval
        self._probe_timeout = probe_timeout
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.state = _NOT_CHECKED

    async def refresh(self) -> ReadinessState:
        """Checks storage once and keeps the outcome."""
        storage = await self._probe(self._reader.check())
        reasons = [f"storage: {storage}"] if isinstance(storage, str) else []
        state = ReadinessState(ready=not reasons, reasons=tuple(reasons))
        if state.ready != self.state.ready and self.state.checked:
            if state.ready:
                logger.warning("ready again: storage answers")
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
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Ends the loop and returns once it has ended.

        The loop is cancelled, and also told to stop: on Python 3.11 a cancellation can be lost
        inside a probe (``asyncio.wait_for`` drops it when what it waits for completes at the same
        moment, and the PostgreSQL pool waits for a connection that way), and the loop would then
        run on while this waited for it. Told, it ends at its next turn whatever became of the
        cancellation.
        """
        task = self._task
        if task is not None:
            self._stopping = True
            task.cancel()
            # Waited for, not awaited: its cancellation is not raised here, and one of this
            # caller's own is not mistaken for it (the task is then kept, for a later stop()).
            await asyncio.wait({task})
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.refresh()
            except Exception:
                # A bug in a probe must not stop the loop: the instance would stay as last seen.
                logger.exception("readiness check failed")
                self.state = ReadinessState(ready=False, reasons=("readiness check failed",))
            await asyncio.sleep(self._interval)
