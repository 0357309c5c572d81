"""uvicorn's httptools protocol, sending each response's head and body in one write.

uvicorn writes a response's status line and headers to the socket as soon as the app sends
``http.response.start``, then its body in a second write when ``http.response.body`` comes. Every
write to a socket is a system call, and a profile of the API under load puts that first write
among the most expensive lines of a request (docs/performance.md). Every response of this
service is complete when it starts, so the head can wait the microseconds until its body and
leave with it: one system call per response, and one segment for the proxy in front to read.

Per response, the transport the response cycle writes to is wrapped: the head is held back and
joined to the next write (the body), or written alone when the response ends without a body
write (HEAD, 204, 304) or the connection closes. Nothing else is delayed: a ``100 Continue``
interim answer is written before the response starts and goes out at once, and after the first
body write a streamed response writes straight through.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle


class _HeadWithBody:
    """The transport as one response cycle sees it: the response's head waits for its body."""

    __slots__ = ("_cycle", "_held", "_passed_head", "_transport")

    def __init__(self, cycle: RequestResponseCycle, transport: asyncio.Transport) -> None:
        self._cycle = cycle
        self._transport = transport
        self._held: bytes | None = None
        self._passed_head = False

    def write(self, data: bytes) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held + data)
        elif not self._passed_head and self._cycle.response_started:
            # The first write once the response has started is its head (uvicorn writes the
            # status line and headers in one piece).
            self._passed_head = True
            self._held = data
        else:
            self._transport.write(data)

    def flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        # is_closing, get_extra_info, ...: the real transport's.
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        transport = _HeadWithBody(cycle, cycle.transport)
        cycle.transport = transport  # type: ignore[assignment]
        on_response = cycle.on_response

        def flush_then_complete() -> None:
            # A response that ended without writing a body (HEAD, 204, 304) still has its head.
            transport.flush()
            on_response()

        cycle.on_response = flush_then_complete
        super()._start_asgi_task(cycle, app)
