"""The observability middleware the settings ask for, added to the app."""

from __future__ import annotations

from fastapi import FastAPI

from pessoas.entrypoints.http.metrics import MetricsMiddleware
from pessoas.entrypoints.http.request_log import RequestLogMiddleware
from pessoas.settings import Settings


def add_observability(app: FastAPI, settings: Settings) -> None:
    """Request ids and error logging always; the access log and metrics when switched on.

    Added after the fast dispatch, so they wrap the contract routes too. Metrics sit inside the
    request log, so a request that failed counts as the 500 it is answered with.
    """
    if settings.metrics:
        app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestLogMiddleware, access_log=settings.access_log)
