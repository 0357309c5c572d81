"""Request ids, error logging and the optional access log, as ASGI middleware around the whole app.

Every response carries ``X-Request-ID``: the caller's when it sent a usable one, else a new one.
Log lines written while the request is answered carry it as ``request_id``.

A small middleware of our own rather than asgi-correlation-id: the id must be set around the
contract's fast dispatch too (so the wrapper has to be plain ASGI, which that library also is),
and this one adds only what is needed per request: one scan of the headers, a counter for new ids
(no random bytes per request) and one extra header on the response.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pessoas.entrypoints.http.responses import error
from pessoas.entrypoints.logs import request_id

logger = logging.getLogger("pessoas.http")
access_logger = logging.getLogger("pessoas.access")

HEADER = b"x-request-id"
# A caller's id is kept when it is short and made of safe characters (no spaces, quotes or
# control characters that could break a log line or a header); anything else gets a new id.
_USABLE_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp, access_log: bool = False) -> None:
        self.app = app
        self._access_log = access_log
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
        started = time.perf_counter() if self._access_log else 0.0
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), (HEADER, rid)]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # The client went away before its body arrived: nothing to answer, nothing broken.
            logger.info("client disconnected before sending its whole body", extra=_request_fields(scope))
            status = 499
        except Exception:
            logger.exception("unhandled error answering the request", extra=_request_fields(scope))
            if status:
                raise  # the response has begun: only closing the connection is left (uvicorn does)
            status = 500
            await error(500, "internal error")(scope, receive, send_with_id)
        finally:
            if self._access_log:
                access_logger.info(
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        **_request_fields(scope),
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                        "client": _client(scope),
                    },
                )


def _request_fields(scope: Scope) -> dict[str, str]:
    return {"method": scope["method"], "path": scope["path"]}


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None
