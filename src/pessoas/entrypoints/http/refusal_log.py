"""Why a request was refused with a 5xx, told to the operator once per reason and interval.

The client's body only says "retry later"; the cause (Redis refusing connections, RabbitMQ
unreachable, a publish past its deadline) is what the operator needs. An outage refuses thousands
of requests for the same reason, so each kind of reason (its chain of error types: the texts
carry message ids and counts that differ every time) is logged at most once per interval, with
the latest text and how many refusals the line stands for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

logger = logging.getLogger("pessoas.refusals")


class RefusalLog:
    def __init__(self, interval: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        # kind of reason -> (when it was last logged, refusals since then not yet logged)
        self._seen: dict[tuple[object, ...], tuple[float, int]] = {}

    def refused(self, status: int, exc: BaseException) -> None:
        chain = _chain(exc)
        key = (status, *(type(e) for e in chain))
        now = self._clock()
        last, unlogged = self._seen.get(key, (-float("inf"), 0))
        if now - last < self._interval:
            self._seen[key] = (last, unlogged + 1)
            return
        self._seen[key] = (now, 0)
        logger.warning(
            "answered %d: %s%s",
            status,
            " <- ".join(f"{type(e).__name__}: {e}" for e in chain),
            f" ({unlogged} more since the last such line)" if unlogged else "",
            extra={"status": status, "refusals": unlogged + 1},
        )


def _chain(exc: BaseException, limit: int = 4) -> list[BaseException]:
    """The error and what caused it, outermost first, at most ``limit`` deep."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < limit:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


#: The process's one log of refusals (the routes share it, so one outage is one line per reason).
REFUSALS = RefusalLog()
