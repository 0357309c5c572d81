"""Refuses a request whose head (request line and headers) is larger than the service accepts.

httptools, the parser the service runs by default (h11 costs a third more CPU at the reference
load, docs/performance.md), bounds nothing of a request's head; h11 bounds it only when chosen.
This plain ASGI middleware gives every parser the same answer to an oversized head, once the
server has parsed it: 431 with the JSON error body, before any route runs. It cannot bound a
head that never ends, nor a client that trickles one: that takes a proxy in front
(docs/operations.md, "HTTP limits").
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from pessoas.entrypoints.http.responses import error

#: What a request line and a header line add to their parts: spaces, ": " and CRLFs.
_LINE_OVERHEAD = 4


class HeadLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and head_size(scope) > self.max_bytes:
            response = error(431, f"the request's head is over {self.max_bytes} bytes")
            response.headers["connection"] = "close"
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def head_size(scope: Scope) -> int:
    """The bytes of the request line and headers as the client sent them, give or take spacing."""
    target = scope.get("raw_path") or scope["path"].encode()
    size = len(scope["method"]) + len(target) + len(scope.get("query_string", b"")) + 1 + 9 + _LINE_OVERHEAD
    for name, value in scope["headers"]:
        size += len(name) + len(value) + _LINE_OVERHEAD
    return size
