"""Serves this process's Prometheus metrics on a port of its own, never through the public API port."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

from pessoas.settings import Settings

logger = logging.getLogger(__name__)


def serve_metrics(settings: Settings, role: str, port_offset: int = 0) -> str | None:
    """Starts the exposition server (a daemon thread); returns its URL, or None when not served.

    A port already taken is logged as an error and the process goes on without exposition: losing
    the metrics must not take the service down.
    """
    if not settings.metrics or not settings.metrics_port:
        return None
    port = settings.metrics_port + port_offset
    try:
        start_http_server(port, addr=settings.metrics_host)
    except OSError as exc:
        logger.error(
            "%s metrics not served: cannot listen on %s:%d: %s", role, settings.metrics_host, port, exc
        )
        return None
    return f"http://{settings.metrics_host}:{port}/metrics"
