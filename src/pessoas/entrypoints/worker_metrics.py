"""The worker's message metrics, as a Dramatiq middleware.

Not Dramatiq's own Prometheus middleware: that one expects the ``dramatiq`` command's process
model (a multiprocess metrics directory set before import, and an exposition server it forks),
while ``pessoas worker`` runs its Worker itself. What is wanted here is small: messages by
outcome (dead-lettered ones included), ids per message, and how old a message was when its
pessoas were indexed (the worker's share of the search lag).
"""

from __future__ import annotations

import time
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("pessoas_worker_messages", "Messages the worker finished, by outcome", ["outcome"])
MESSAGE_SIZE = Histogram(
    "pessoas_worker_message_pessoas",
    "Pessoas announced by one indexed message",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000),
)
MESSAGE_AGE = Histogram(
    "pessoas_worker_message_age_seconds",
    "From a message's publish to the commit of its pessoas' search rows",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
LAST_AGE = Gauge(
    "pessoas_worker_last_message_age_seconds",
    "Age at indexing of the oldest message among the last second's indexed messages: the worker's lag",
)

_STORED = MESSAGES.labels("indexed")
_FAILED = MESSAGES.labels("failed")
_DEAD_LETTERED = MESSAGES.labels("dead_lettered")


class MessageMetrics(dramatiq.Middleware):
    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self._window_started = 0.0
        self._window_oldest = 0.0

    def after_nack(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        # A nack sends the message to the dead-letter queue: its retries are exhausted, it could
        # not be read, or its retry could not be sent.
        _DEAD_LETTERED.inc()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is not None:
            _FAILED.inc()
            return
        now = self._clock()
        age = max(now - message.message_timestamp / 1000, 0.0)
        _STORED.inc()
        MESSAGE_AGE.observe(age)
        if message.args:
            MESSAGE_SIZE.observe(len(message.args[0]))
        # The gauge keeps the oldest age seen over about a second, so that a scrape does not
        # show only whichever message happened to finish last.
        if now - self._window_started >= 1.0:
            self._window_started, self._window_oldest = now, age
        else:
            self._window_oldest = max(self._window_oldest, age)
        LAST_AGE.set(self._window_oldest)
