"""Wraps the whole ASGI app in the observability middleware the settings ask for."""

from __future__ import annotations

from starlette.types import ASGIApp

from pessoas.entrypoints.http.metrics import MetricsMiddleware
from pessoas.entrypoints.http.request_log import RequestLogMiddleware
from pessoas.settings import Settings


def observed(app: ASGIApp, settings: Settings) -> ASGIApp:
    """Request ids and error logging always; the access log and metrics when switched on.

    Metrics sit inside the request log, so a request that failed counts as the 500 it is answered with.
    """
    if settings.metrics:
        app = MetricsMiddleware(app)
    return RequestLogMiddleware(app, access_log=settings.access_log)
