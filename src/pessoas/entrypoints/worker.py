"""The worker, for dramatiq's own command: ``dramatiq pessoas.entrypoints.worker --processes N --threads M``.

dramatiq's command imports this module in each worker process it starts. On import it reads the
settings and refuses to go on (non-zero exit, one-line reason) when they could lose pessoas,
switches the process to JSON log lines, builds the container, and makes the container's broker,
with the worker's middleware and the store actor declared on it, dramatiq's broker (``broker``
below). ``pessoas worker`` runs this very command with the service's defaults (see
:mod:`pessoas.entrypoints.worker_command`).
"""

from __future__ import annotations

import logging
import os

import dramatiq

from pessoas import __version__
from pessoas.container import build_container, describe_adapters
from pessoas.entrypoints.logs import configure_logging
from pessoas.entrypoints.metrics_server import serve_metrics
from pessoas.entrypoints.startup import settings_or_exit
from pessoas.entrypoints.worker_command import refuse_unsafe
from pessoas.entrypoints.worker_metrics import MessageMetrics
from pessoas.entrypoints.worker_middleware import StopWhenOrphaned
from pessoas.entrypoints.worker_setup import worker_broker

#: Worker processes of one command serve their metrics on consecutive ports from the setting's.
METRICS_PORTS_PER_COMMAND = 16

settings = settings_or_exit()
configure_logging(settings.log_level)
refuse_unsafe(settings)
container = build_container(settings)
broker = worker_broker(container)
broker.add_middleware(StopWhenOrphaned())
if settings.metrics:
    broker.add_middleware(MessageMetrics())
dramatiq.set_broker(broker)

logging.getLogger(__name__).info(
    "pessoas worker starting",
    extra={
        "version": __version__,
        "pid": os.getpid(),
        "adapters": describe_adapters(settings),
        "metrics_address": serve_metrics(settings, "worker", tries=METRICS_PORTS_PER_COMMAND),
    },
)
