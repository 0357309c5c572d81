"""Serves this process's Prometheus metrics on a port of its own, never through the public API port."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

from pessoas.settings import Settings

logger = logging.getLogger(__name__)


def serve_metrics(settings: Settings, role: str) -> str | None:
    """Starts the exposition server (a daemon thread); returns its URL, or None when not served.

    A busy port is logged as an error and the process goes on without exposition: losing the
    metrics must not take the service down. (The worker's processes share one exposition
    process instead: :mod:`pessoas.entrypoints.worker_metrics`.)
    """
    if not settings.metrics or not settings.metrics_port:
        return None
    try:
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
    except OSError as exc:
        logger.error(
            "%s metrics not served on %s:%d: %s", role, settings.metrics_host, settings.metrics_port, exc
        )
        return None
    return f"http://{settings.metrics_host}:{settings.metrics_port}/metrics"
