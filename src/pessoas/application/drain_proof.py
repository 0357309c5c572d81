"""When a broker's statistics prove that every pessoa promised before a cache loss is stored.

The restore after a cache loss may read the stored apelidos only once every promised pessoa is
stored (docs/faults.md, "The restore after a cache loss"). The broker's statistics (RabbitMQ's
management API) count, for each queue, the messages ready and the messages delivered but not yet
acknowledged, and how many messages ever entered the delay queue. Each count is a snapshot: true
at some instant no older than ``max_age`` before the request that read it, and the two queues'
snapshots are taken at different instants. This module decides, from a sequence of such reads
("rounds"), when the proof below holds. It knows no broker: the adapter reads, this decides.

The assumptions (what the adapter and the deployment guarantee):

A. From the ``fence`` on, every pessoa promised before the loss is in the broker (ready or
   unacknowledged, in the queue or the delay queue) or stored: its publish was confirmed, and
   any publish not confirmed by then can no longer reach a queue.
B. The worker acknowledges a message only after its transaction committed; a retry publishes the
   copy to the delay queue (confirmed) before it acknowledges the original, and a message leaves
   the delay queue only into the queue. So an unstored promised pessoa is, at every instant, in
   the queue or in the delay queue, and it can enter the delay queue only by a publish.
C. A count read by a request sent at ``t`` was true at an instant after ``t - max_age``, and so
   was the delay queue's entry counter, which never decreases. The counter and the counts are
   sampled separately (the counter comes from the publishing channels' statistics), so the
   proof never assumes that they describe the same instant.

The proof: four rounds R1..R4 read zero waiting messages in both queues, each sent more than
``max_age`` after the previous one answered, R3 sent no earlier than ``fence + max_age``, and the
delay queue's entry counter is the same in all four. Call c1 the instant of R1's counter, d2 that
of R2's delay-queue count, q3 that of R3's queue count and c4 that of R4's counter. By C and the
spacing, c1 < d2 < q3 < c4, and q3 is after the fence. The delay queue was empty at d2 and
nothing entered it between c1 and c4 (the counter did not move), so it was still empty at q3,
when the queue was empty too. By B an unstored promised pessoa would have been in one of the two
at q3, and by A it had reached the broker by then: so every pessoa promised before the loss was
stored at q3, before R4 answered, and storage read after that holds all of them.

Why not two rounds of zeros: a message going round between the queue and the delay queue (a
worker whose store fails, retried) can sit in the delay queue when the queue's snapshot is taken
and in the queue when the delay queue's is, in every round. The entry counter rules that out,
and the spacing orders the snapshots that the argument compares.
"""

from __future__ import annotations

from dataclasses import dataclass

# Reads are spaced strictly more than max_age apart: this is the "strictly".
_MARGIN = 0.01
# R1..R4 of the proof; R3 (index 2) is the round whose queue count must postdate the fence.
_ROUNDS = 4
_QUEUE_ROUND = 2


@dataclass(frozen=True, slots=True)
class BrokerRound:
    """One read of the broker's statistics for the queue and its delay queue."""

    sent: float  # the clock when the first request left
    answered: float  # the clock when the last answer arrived
    # Messages ready plus unacknowledged in both queues; None when the broker shows no count yet
    # (a queue's statistics appear some seconds after it is declared).
    waiting: int | None
    delay_entries: int  # messages that ever entered the delay queue (a counter that only grows)


class DrainProof:
    """Collects rounds; :meth:`add` answers True once they prove every promised pessoa stored."""

    def __init__(self, fence: float, max_age: float) -> None:
        self._fence = fence
        self._max_age = max_age
        self._chain: list[BrokerRound] = []

    def next_read_at(self, now: float) -> float:
        """The earliest clock at which a round can extend the proof (now, if any will do)."""
        if len(self._chain) == 0:
            return now
        after = self._chain[-1].answered + self._max_age + _MARGIN
        if len(self._chain) == _QUEUE_ROUND:
            after = max(after, self._fence + self._max_age)
        return max(after, now)

    def add(self, read: BrokerRound) -> bool:
        if read.waiting is None or read.waiting > 0:
            # Something waits (or cannot be seen yet): start over from the next empty round.
            self._chain.clear()
            return False
        if not self._chain or read.delay_entries != self._chain[0].delay_entries:
            # A message entered the delay queue since the chain began: this round begins a new one.
            self._chain = [read]
            return False
        if read.sent > self._chain[-1].answered + self._max_age and (
            len(self._chain) != _QUEUE_ROUND or read.sent >= self._fence + self._max_age
        ):
            self._chain.append(read)
        # A round read too soon proves nothing more, and nothing less: it is left out.
        return len(self._chain) >= _ROUNDS
