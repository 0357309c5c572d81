"""Request ids, error logging, the optional access log and the optional request metrics.

Every response carries ``X-Request-ID``: the caller's when it sent a usable one, else a new one.
Log lines written while the request is answered carry it as ``request_id``.

One ASGI middleware does all four, around the whole app, because every layer a request passes
through costs CPU on each of the service's requests (docs/performance-log.md measures it): one look
at the request's headers, one wrapper around ``send``, one clock read at each end when something
needs the duration. A small middleware of our own rather than asgi-correlation-id plus
prometheus-client's instruments: it has to wrap the contract's fast dispatch too (so plain ASGI,
which that library also is), and here a new id is a counter (no random bytes per request) and a
metric is two additions (see ``metrics.py``).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pessoas.entrypoints.http.metrics import UNMATCHED, RequestMetrics
from pessoas.entrypoints.http.responses import error
from pessoas.entrypoints.logs import request_id

logger = logging.getLogger("pessoas.http")
access_logger = logging.getLogger("pessoas.access")

HEADER = b"x-request-id"
# A caller's id is kept when it is short and made of safe characters (no spaces, quotes or
# control characters that could break a log line or a header); anything else gets a new id.
_USABLE_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


class ObservedRequests:
    """The outermost middleware: ids and error logging always; access log and metrics on demand."""

    def __init__(
        self, app: ASGIApp, *, access_log: bool = False, metrics: RequestMetrics | None = None
    ) -> None:
        self.app = app
        self._access_log = access_log
        self._metrics = metrics
        self._timed = access_log or metrics is not None
        # New ids: this process's random prefix and a counter. Unique across processes and
        # restarts without drawing random bytes for every request.
        self._prefix = os.urandom(6).hex()
        self._counter = itertools.count(1)

    def _request_id(self, scope: Scope) -> bytes:
        for name, value in scope["headers"]:
            if name == HEADER:
                if _USABLE_ID.fullmatch(value):
                    return bytes(value)
                break
        return f"{self._prefix}-{next(self._counter):x}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = self._request_id(scope)
        request_id.set(rid.decode())
        started = time.perf_counter() if self._timed else 0.0
        status = 0
        finished = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, finished
            if message["type"] == "http.response.start":
                status = message["status"]
                # The message is the sender's own dict, made for this one send: extended in place.
                message["headers"] = [*message.get("headers", ()), (HEADER, rid)]
            elif not message.get("more_body", False):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # The client went away before its body arrived: nothing to answer, nothing broken.
            logger.info("client disconnected before sending its whole body", extra=_request_fields(scope))
            status = 499
        except Exception:
            logger.exception("unhandled error answering the request", extra=_request_fields(scope))
            # Answered already (FastAPI's own error layer, around its router, sends its 500 and
            # raises on): logged once, here. Begun but unfinished: only closing the connection is
            # left, which the server does.
            if finished:
                return
            if status:
                raise
            status = 500
            await error(500, "internal error")(scope, receive, send_with_id)
        finally:
            if self._timed:
                self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        if self._metrics is not None:
            # A status of 0 here means the app returned without answering: counted as the 500
            # the server then sends.
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self._metrics.observe(scope["method"], route, status or 500, seconds)
        if self._access_log:
            access_logger.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={
                    **_request_fields(scope),
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "client": _client(scope),
                },
            )


def _request_fields(scope: Scope) -> dict[str, str]:
    return {"method": scope["method"], "path": scope["path"]}


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None
