"""The worker, for dramatiq's own command: ``pessoas worker --processes N --threads M`` runs it.

dramatiq's command imports this module in each worker process it starts. On import it reads the
settings and refuses to go on (non-zero exit, one-line reason) when they could lose pessoas,
switches the process to JSON log lines, builds the container, and makes the container's broker,
with the worker's middleware and the actors declared on it, dramatiq's broker (``broker``
below). ``pessoas worker`` runs dramatiq's command with the service's defaults and prepares what
the command cannot (see :mod:`pessoas.entrypoints.worker_command`); the module also runs under
``dramatiq pessoas.entrypoints.worker`` with metrics not served (``PESSOAS_METRICS_PORT=0``),
its main process then logging plain text.
"""

from __future__ import annotations

import logging
import os

import dramatiq

from pessoas import __version__
from pessoas.container import build_container, describe_adapters
from pessoas.entrypoints.logs import configure_logging
from pessoas.entrypoints.startup import refuse, settings_or_exit
from pessoas.entrypoints.worker_command import refuse_unsafe, serves_metrics
from pessoas.entrypoints.worker_metrics import CommandPrometheus, MessageMetrics, multiprocess_ready
from pessoas.entrypoints.worker_orphans import StopWhenOrphaned
from pessoas.entrypoints.worker_setup import worker_broker

settings = settings_or_exit()
configure_logging(settings.log_level)
refuse_unsafe(settings)
if serves_metrics(settings) and not multiprocess_ready():
    refuse(
        "the worker's metrics are served by `pessoas worker`, which prepares their shared directory;"
        " under dramatiq's command alone, set PESSOAS_METRICS_PORT=0"
    )
container = build_container(settings)
broker = worker_broker(container)
broker.add_middleware(StopWhenOrphaned())
if serves_metrics(settings):
    broker.add_middleware(CommandPrometheus())
if settings.metrics:
    broker.add_middleware(MessageMetrics())
dramatiq.set_broker(broker)

logging.getLogger(__name__).info(
    "pessoas worker starting",
    extra={
        "version": __version__,
        "pid": os.getpid(),
        "adapters": describe_adapters(settings),
        "metrics_address": (
            f"http://{settings.metrics_host}:{settings.metrics_port}/metrics"
            if serves_metrics(settings)
            else None
        ),
    },
)
