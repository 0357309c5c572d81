"""The worker's metrics: Dramatiq's Prometheus middleware, the service's own message metrics, one port.

Dramatiq's :class:`~dramatiq.middleware.prometheus.Prometheus` middleware is made for the way the
worker runs, dramatiq's command with several processes: each worker process writes its metrics
to prometheus_client's multiprocess directory, and one process forked by the command serves
them all. It brings ``dramatiq_*`` metrics by queue and actor (messages, errors, retries,
dead-lettered, in progress, durations). :class:`MessageMetrics` adds the service's own
``pessoas_worker_*`` metrics, which the dashboards and alerts use, and the adapters' metrics
(:mod:`pessoas.adapters.prometheus_metrics`) land in the same directory.

:class:`CommandPrometheus` keeps the middleware and replaces only its exposition process, with
:func:`pessoas.entrypoints.worker_exposition.serve_command_metrics` (its docstring says why).

``pessoas worker`` prepares the environment all of this reads
(:func:`pessoas.entrypoints.worker_command.metrics_environment`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware.prometheus import DB_PATH, Prometheus
from prometheus_client import Counter, Gauge, Histogram

from pessoas.entrypoints.worker_exposition import serve_command_metrics

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
    multiprocess_mode="livemax",  # the most lagging of the command's live processes
)

_STORED = MESSAGES.labels("indexed")
_FAILED = MESSAGES.labels("failed")
_DEAD_LETTERED = MESSAGES.labels("dead_lettered")


class MessageMetrics(dramatiq.Middleware):
    """Messages by outcome (dead-lettered ones included), ids per message, and how old a message was
    when its pessoas were indexed (the worker's share of the search lag)."""

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


class CommandPrometheus(Prometheus):
    """Dramatiq's Prometheus middleware, its metrics served by :func:`serve_command_metrics`."""

    @property
    def forks(self) -> list[Any]:
        return [serve_command_metrics]


def multiprocess_ready() -> bool:
    """Whether this process's metrics reach the command's exposition process.

    True when prometheus_client's multiprocess directory is the one Dramatiq's middleware was
    given: both come from the environment the command was started with.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return directory is not None and Path(directory) == Path(DB_PATH)
