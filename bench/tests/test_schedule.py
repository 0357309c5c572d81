"""Arrival schedules must match what Gatling injects for the simulation's steps."""

from __future__ import annotations

import random
import statistics

from bench.schedule import Constant, Ramp, arrivals, rinha_steps


def test_constant_rate_is_evenly_spaced() -> None:
    times = arrivals([Constant(2, 10)], random.Random(0))
    assert times == [i * 0.5 for i in range(20)]


def test_ramp_injects_the_integral_of_the_rate() -> None:
    rng = random.Random(0)
    assert len(arrivals([Ramp(6, 600, 180)], rng)) == 54_540  # (6 + 600) / 2 * 180
    assert len(arrivals([Ramp(6, 100, 180)], rng)) == 9_540
    assert len(arrivals([Ramp(6, 40, 180)], rng)) == 4_140


def test_ramp_rate_grows_linearly() -> None:
    times = arrivals([Ramp(6, 600, 180)], random.Random(0))
    per_second = [0] * 180
    for t in times:
        per_second[int(t)] += 1
    for second, count in enumerate(per_second):
        expected = 6 + 594 * (second + 0.5) / 180
        assert abs(count - expected) <= 1, (second, count, expected)


def test_poisson_step_has_the_right_mean_and_stays_in_its_window() -> None:
    counts = []
    for seed in range(200):
        times = arrivals([Constant(5, 15, randomized=True)], random.Random(seed))
        assert all(0 < t < 15 for t in times)
        counts.append(len(times))
    assert 72 <= statistics.mean(counts) <= 78  # 75 expected, sd of the mean ~0.6


def test_rinha_scenarios_chain_their_steps() -> None:
    rng = random.Random(1)
    steps = rinha_steps()
    create = arrivals(steps["create"], rng)
    assert create == sorted(create)
    assert create[:20] == [i * 0.5 for i in range(20)]
    # 20 + ~75 Poisson + 54,540: the reference test's "about 54,635 POSTs".
    assert 54_600 <= len(create) <= 54_680
    assert max(create) < 205
    assert len(arrivals(steps["search"], rng)) == 50 + 9_540
    assert len(arrivals(steps["invalid"], rng)) == 50 + 4_140


def test_scale_and_time_knobs() -> None:
    rng = random.Random(1)
    full = len(arrivals(rinha_steps()["search"], rng))
    assert len(arrivals(rinha_steps(scale=2)["search"], rng)) == 2 * full
    tenth = arrivals(rinha_steps(time=0.1)["search"], rng)
    assert abs(len(tenth) - full / 10) <= 2
    assert max(tenth) < 20.5
