"""The observability middleware the settings ask for, added to the app."""

from __future__ import annotations

from fastapi import FastAPI

from pessoas.entrypoints.http.head_limit import HeadLimit
from pessoas.entrypoints.http.metrics import REQUEST_METRICS
from pessoas.entrypoints.http.request_log import ObservedRequests
from pessoas.settings import Settings


def add_observability(app: FastAPI, settings: Settings) -> None:
    """Request ids and error logging always; the access log and metrics when switched on.

    The head limit is added first, so it runs inside them: an oversized head is logged and
    counted like any other refusal.
    """
    app.add_middleware(HeadLimit, max_bytes=settings.max_head_bytes)
    app.add_middleware(
        ObservedRequests,
        access_log=settings.access_log,
        metrics=REQUEST_METRICS if settings.metrics else None,
    )
