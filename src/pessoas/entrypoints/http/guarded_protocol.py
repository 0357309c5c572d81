"""uvicorn's httptools protocol with the limits a server facing clients directly needs.

uvicorn bounds neither the request head's size nor the time a client takes to send it: a client
trickling a header, or sending megabytes of them, would hold its connection (and memory) for as
long as it likes. This subclass adds, per connection:

- the request line at most ``max_request_line`` bytes, else 414;
- each header line at most ``max_header`` bytes, and the whole head at most ``max_head`` bytes,
  else 431, answered as soon as the limit is passed, without reading the rest;
- the head complete within ``header_timeout`` seconds of its first byte (or of the connection),
  else 408 and the connection closed.

The idle keep-alive timeout and the bound on concurrent connections are uvicorn's own
(``timeout_keep_alive``, ``limit_concurrency``); the CLI sets them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httptools

from pessoas.entrypoints.http.one_write_protocol import OneWriteHttpToolsProtocol

logger = logging.getLogger("pessoas.http.server")

_LINGER_SECONDS = 1.0
_REASONS = {408: b"Request Timeout", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


class HeadLimits:
    """The limits every connection of one server shares (set once by the CLI)."""

    max_request_line = 8 * 1024
    max_header = 8 * 1024
    max_head = 32 * 1024
    header_timeout = 10.0

    @classmethod
    def configure(
        cls, *, max_request_line: int, max_header: int, max_head: int, header_timeout: float
    ) -> None:
        cls.max_request_line = max_request_line
        cls.max_header = max_header
        cls.max_head = max_head
        cls.header_timeout = header_timeout


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request that has been refused."""


class GuardedHttpToolsProtocol(OneWriteHttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading_head = True
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False

    # -- connection ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._reading_head:
            end = data.find(b"\r\n\r\n")
            seen = len(data) if end < 0 else end + 4
            if self._head_bytes + seen > HeadLimits.max_head:
                self._refuse(431, "the request's headers are too large")
                return
            self._head_bytes += seen
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _Refused):
                return
            self._invalid()
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            self._invalid()

    def _invalid(self) -> None:
        msg = "Invalid HTTP request received."
        self.logger.warning(msg)
        self.send_400_response(msg)

    # -- parser callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_head_timer()

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > HeadLimits.max_request_line:
            self._refuse(414, "the request line is too long")
            raise _Refused
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) + len(value) + 4 > HeadLimits.max_header:
            self._refuse(431, "a request header is too large")
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._stop_head_timer()
        self._reading_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # What follows on this connection is the next request's head.
        self._reading_head = True
        self._head_bytes = 0

    # -- refusing --------------------------------------------------------------------------------

    def _start_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HeadLimits.header_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._reading_head or self.transport.is_closing():
            return
        if self._head_bytes:
            self._refuse(408, "the request's headers did not arrive in time")
        else:
            self.transport.close()  # nothing was sent: nobody to answer

    def _refuse(self, status: int, reason: str) -> None:
        self._refused = True
        self._stop_head_timer()
        logger.info(
            "request refused before its head was read: %s",
            reason,
            extra={"status": status, "client": self._peer()},
        )
        body = reason.encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, _REASONS[status], len(body), body)
        )
        # A lingering close: closing while the client still sends would reset the connection,
        # and a reset can destroy the answer before the client reads it. So stop writing, drop
        # whatever still arrives (data_received ignores it), and close after a short grace.
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(_LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def _peer(self) -> str | None:
        return f"{self.client[0]}:{self.client[1]}" if self.client else None
