"""Serves this process's Prometheus metrics on a port of its own, never through the public API port."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

from pessoas.settings import Settings

logger = logging.getLogger(__name__)


def serve_metrics(settings: Settings, role: str, tries: int = 1) -> str | None:
    """Starts the exposition server (a daemon thread); returns its URL, or None when not served.

    ``tries`` > 1 takes the first free port from the setting's on (the processes of one worker
    command share its settings). No free port is logged as an error and the process goes on
    without exposition: losing the metrics must not take the service down.
    """
    if not settings.metrics or not settings.metrics_port:
        return None
    error: OSError | None = None
    for port in range(settings.metrics_port, settings.metrics_port + max(tries, 1)):
        try:
            start_http_server(port, addr=settings.metrics_host)
        except OSError as exc:
            error = exc
            continue
        return f"http://{settings.metrics_host}:{port}/metrics"
    logger.error(
        "%s metrics not served: no free port from %s:%d: %s",
        role,
        settings.metrics_host,
        settings.metrics_port,
        error,
    )
    return None
