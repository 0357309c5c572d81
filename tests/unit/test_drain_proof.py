"""The rule that decides when the broker's counts prove every promised pessoa stored (drain_proof).

Rounds are built by hand on a fake clock: ``sent`` and ``answered`` are seconds, ``max_age`` is
AGE. Each test breaks one condition of the proof and expects it not to be accepted, so a rule
that drops or loosens a condition fails here.
"""

from __future__ import annotations

import pytest

from pessoas.application.drain_proof import BrokerRound, DrainProof

AGE = 10.0
READ_S = 0.2  # how long one round's requests take


def at(sent: float, waiting: int | None = 0, entries: int = 7) -> BrokerRound:
    return BrokerRound(sent=sent, answered=sent + READ_S, waiting=waiting, delay_entries=entries)


def spaced(start: float, count: int) -> list[float]:
    """Send times each just over AGE after the previous round answered."""
    return [start + i * (READ_S + AGE + 0.05) for i in range(count)]


def run(proof: DrainProof, rounds: list[BrokerRound]) -> list[bool]:
    return [proof.add(read) for read in rounds]


def test_four_empty_rounds_spaced_past_the_age_with_a_still_counter_prove_it():
    proof = DrainProof(fence=0.0, max_age=AGE)
    assert run(proof, [at(t) for t in spaced(100.0, 4)]) == [False, False, False, True]


def test_three_rounds_are_not_enough():
    # Two or three rounds of zeros can all miss a message moving between the two queues.
    proof = DrainProof(fence=0.0, max_age=AGE)
    assert not any(run(proof, [at(t) for t in spaced(100.0, 3)]))


@pytest.mark.parametrize("waiting", [1, None], ids=["one message", "no count yet"])
def test_a_round_that_is_not_empty_starts_the_proof_over(waiting):
    proof = DrainProof(fence=0.0, max_age=AGE)
    times = spaced(100.0, 8)
    rounds = [at(times[0]), at(times[1]), at(times[2]), at(times[3], waiting=waiting)]
    rounds += [at(t) for t in times[4:]]
    assert run(proof, rounds) == [False] * 7 + [True]


def test_a_first_round_with_messages_waiting_proves_nothing_and_the_next_four_do():
    proof = DrainProof(fence=0.0, max_age=AGE)
    times = spaced(100.0, 5)
    assert run(proof, [at(times[0], waiting=3)] + [at(t) for t in times[1:]]) == [False] * 4 + [True]


def test_a_message_entering_the_delay_queue_starts_the_proof_over_from_that_round():
    # The counts were zero each time, but the counter moved: something went round between the
    # queues between two samples.
    proof = DrainProof(fence=0.0, max_age=AGE)
    times = spaced(100.0, 7)
    entries = [7, 7, 7, 8, 8, 8, 8]
    assert run(proof, [at(t, entries=n) for t, n in zip(times, entries, strict=True)]) == [False] * 6 + [True]


def test_rounds_not_more_than_the_age_apart_do_not_count():
    # Exactly AGE after the previous answer: its snapshot may predate that answer. Sent each
    # AGE after the one before answered, only every other round counts: four prove nothing.
    proof = DrainProof(fence=0.0, max_age=AGE)
    first = at(100.0)
    too_soon = [first.answered + AGE + i * (READ_S + AGE) for i in range(4)]
    assert not any(run(proof, [first] + [at(t) for t in too_soon]))
    # ... and a round read too soon neither breaks a proof under way nor shifts its spacing.
    proof = DrainProof(fence=0.0, max_age=AGE)
    r1, r2 = at(100.0), at(100.0 + READ_S + AGE + 0.05)
    early = at(r2.answered + 1.0)
    r3 = at(r2.answered + AGE + 0.05)
    r4 = at(r3.answered + AGE + 0.05)
    assert run(proof, [r1, r2, early, r3, r4]) == [False, False, False, False, True]


def test_the_queue_round_must_be_read_after_the_fence_and_the_age():
    fence = 200.0
    # R1 and R2 may be read during the fence; R3 not before fence + AGE.
    proof = DrainProof(fence=fence, max_age=AGE)
    r1, r2 = at(100.0), at(120.0)
    before = at(fence + AGE - 0.01)
    r3 = at(fence + AGE)
    r4 = at(r3.answered + AGE + 0.05)
    assert run(proof, [r1, r2, before, r3, r4]) == [False, False, False, False, True]
    # Without the round after the fence, nothing is proven.
    proof = DrainProof(fence=fence, max_age=AGE)
    late = at(before.answered + AGE + 0.05)
    assert not any(run(proof, [r1, r2, before, late]))


def test_the_second_round_need_not_wait_for_the_fence():
    proof = DrainProof(fence=150.0, max_age=AGE)
    r1, r2 = at(100.0), at(111.0)  # R2 well before the fence
    r3 = at(160.0)
    r4 = at(171.0)
    assert run(proof, [r1, r2, r3, r4]) == [False, False, False, True]


def test_the_next_read_is_due_just_after_the_age_and_for_the_queue_round_after_the_fence():
    proof = DrainProof(fence=150.0, max_age=AGE)
    assert proof.next_read_at(now=42.0) == 42.0
    r1 = at(100.0)
    proof.add(r1)
    due = proof.next_read_at(now=r1.answered)
    assert r1.answered + AGE < due <= r1.answered + AGE + 0.05
    assert proof.next_read_at(now=500.0) == 500.0  # never in the past
    r2 = at(due)
    proof.add(r2)
    assert proof.next_read_at(now=r2.answered) == 150.0 + AGE
    r3 = at(150.0 + AGE)
    proof.add(r3)
    due = proof.next_read_at(now=r3.answered)
    assert r3.answered + AGE < due <= r3.answered + AGE + 0.05
    assert proof.add(at(due))


def test_reads_at_the_times_it_asks_for_prove_it_at_the_earliest():
    # What the adapter does: sleep until next_read_at, read, add.
    fence = 30.0
    proof = DrainProof(fence=fence, max_age=AGE)
    now = 0.0
    while True:
        now = proof.next_read_at(now)
        read = at(now)
        now = read.answered
        if proof.add(read):
            break
    # R3 at fence + AGE, then one more age: the restore's cost stated in docs/faults.md.
    assert fence + 2 * AGE < now < fence + 2 * AGE + 1.0
