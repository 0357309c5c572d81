"""The worker, for dramatiq's own command: ``dramatiq pessoas.entrypoints.worker --processes N --threads M``.

dramatiq's command imports this module in each worker process it starts. On import it reads the
settings and refuses to go on (non-zero exit, one-line reason) when they could lose pessoas,
builds the container, and makes the container's broker, with the worker's middleware and the
store actor declared on it, dramatiq's broker (``broker`` below). ``pessoas worker`` runs this
very command with the service's defaults (see :mod:`pessoas.entrypoints.worker_command`).
"""

from __future__ import annotations

import dramatiq

from pessoas.container import build_container
from pessoas.entrypoints.startup import settings_or_exit
from pessoas.entrypoints.worker_command import refuse_unsafe
from pessoas.entrypoints.worker_middleware import StopWhenOrphaned
from pessoas.entrypoints.worker_setup import worker_broker

settings = settings_or_exit()
refuse_unsafe(settings)
container = build_container(settings)
broker = worker_broker(container)
broker.add_middleware(StopWhenOrphaned())
dramatiq.set_broker(broker)
