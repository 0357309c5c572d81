"""Arrival schedules: when each virtual user starts, computed the way Gatling computes them.

The Rinha simulation injects users with three Gatling open-model steps. What Gatling (3.5 and
later, `io.gatling.core.controller.inject.open`) does with them, and so what we do:

- constantUsersPerSec(r).during(d): round(r * d) users, sharded evenly over the seconds of d
  (second s ends with ceil(users * (s + 1) / d) users injected), and each second's users sharded
  evenly over its 1,000 milliseconds. So the arrivals are evenly spaced, not random.
- constantUsersPerSec(r).during(d).randomized: a Poisson process of rate r over d (exponential
  inter-arrival times, Lewis and Shedler's thinning, which keeps every point at a constant rate).
  The number of users is random; Gatling seeds it from the clock, we seed it from --seed.
- rampUsersPerSec(r0).to(r1).during(d): a linear ramp of the rate. Second s gets the integral of
  the rate over [s, s + 1] plus the fraction carried from the previous second, truncated to an
  integer (the remainder is carried), then those users are spread evenly over its milliseconds.

Gatling works in whole seconds; --time can make a step last a fractional number of seconds, so
the last, partial second of a step gets the share of users (and of milliseconds) its length
calls for. For whole-second durations this is exactly Gatling's schedule.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Constant:
    rate: float  # users per second
    duration: float  # seconds
    randomized: bool = False


@dataclass(frozen=True)
class Ramp:
    start: float
    end: float
    duration: float


Step = Constant | Ramp


def _cumulative(total: int, buckets: int, index: int) -> int:
    """Users injected by the end of bucket `index` when `total` are sharded over `buckets`.

    Gatling's Shard.sumFromZero: the ceiling puts a user in the very first bucket, and the last
    bucket takes whatever rounding left over.
    """
    if index < 0:
        return 0
    if index >= buckets - 1:
        return total
    return math.ceil(total / buckets * (index + 1))


def _spread_over_second(users: int, second_start: float, length: float) -> list[float]:
    """Arrival times of `users` spread over one second (or a partial one) at 1 ms resolution."""
    millis = max(1, round(length * 1000))
    times: list[float] = []
    previous = 0
    for ms in range(millis):
        upto = _cumulative(users, millis, ms)
        times.extend([second_start + ms / 1000] * (upto - previous))
        previous = upto
    return times


def _seconds(duration: float) -> list[tuple[float, float]]:
    """(start, length) of each second of a step; the last one may be partial."""
    whole = math.floor(duration + 1e-9)
    parts = [(float(s), 1.0) for s in range(whole)]
    rest = duration - whole
    if rest > 1e-9:
        parts.append((float(whole), rest))
    return parts


def _constant(step: Constant) -> list[float]:
    users = round(step.rate * step.duration)
    times: list[float] = []
    previous = 0
    for start, length in _seconds(step.duration):
        # The cumulative share at the end of this second, prorated for a partial last second.
        upto = min(users, math.ceil(users * (start + length) / step.duration - 1e-9))
        times.extend(_spread_over_second(upto - previous, start, length))
        previous = upto
    return times


def _poisson(step: Constant, rng: random.Random) -> list[float]:
    times: list[float] = []
    t = 0.0
    while True:
        # 1 - random() is in (0, 1], so the logarithm is always defined.
        t += -math.log(1.0 - rng.random()) / step.rate
        if t >= step.duration:
            return times
        times.append(t)


def _ramp(step: Ramp) -> list[float]:
    slope = (step.end - step.start) / step.duration
    pending = 0.0
    times: list[float] = []
    for start, length in _seconds(step.duration):
        # Integral of the linear rate over [start, start + length], plus the carried fraction.
        exact = length * (step.start + slope * (start + length / 2)) + pending
        # Gatling rounds to 10 decimals before truncating, so 2.9999999999 counts as 3.
        users = int(round(exact, 10))
        pending = exact - users
        times.extend(_spread_over_second(users, start, length))
    return times


def arrivals(steps: list[Step], rng: random.Random) -> list[float]:
    """Arrival times (seconds from the start of the load) of a scenario's injection steps."""
    out: list[float] = []
    offset = 0.0
    for step in steps:
        if isinstance(step, Ramp):
            times = _ramp(step)
        elif step.randomized:
            times = _poisson(step, rng)
        else:
            times = _constant(step)
        out.extend(offset + t for t in times)
        offset += step.duration
    return out


def rinha_steps(scale: float = 1.0, time: float = 1.0) -> dict[str, list[Step]]:
    """The three scenarios of the reference test, rates multiplied by `scale` and durations by `time`."""
    return {
        "create": [
            Constant(2 * scale, 10 * time),
            Constant(5 * scale, 15 * time, randomized=True),
            Ramp(6 * scale, 600 * scale, 180 * time),
        ],
        "search": [Constant(2 * scale, 25 * time), Ramp(6 * scale, 100 * scale, 180 * time)],
        "invalid": [Constant(2 * scale, 25 * time), Ramp(6 * scale, 40 * scale, 180 * time)],
    }
