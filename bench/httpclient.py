"""A small asyncio HTTP/1.1 client, written for the load tool's throughput.

Why not aiohttp: its per-request overhead (request/response objects, header multidicts, stream
readers, the connector's bookkeeping) keeps one core below the rate the full-scale load needs
with headroom, and the load tool must never be the bottleneck it measures. A bare Protocol that
writes prebuilt request bytes and parses only what the report needs (status, Location,
Content-Length/chunked, Connection) is several times cheaper. See bench/README.md for figures.

It supports exactly what the bench needs: one request in flight per connection, keep-alive,
Content-Length and chunked bodies, and a deadline covering connect + response.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import cast

TIMEOUT = "timeout"
CONNECTION = "connection"


class RequestFailed(Exception):
    """A KO that is not an HTTP answer: `kind` is TIMEOUT or CONNECTION."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


@dataclass(slots=True)
class Response:
    status: int
    location: str | None
    body: bytes
    keep_alive: bool


_NO_BODY_STATUSES = frozenset({204, 304})


class Connection(asyncio.Protocol):
    """One TCP connection, one request at a time; parses the response incrementally."""

    __slots__ = ("_body_left", "_buf", "_chunked", "_head", "_until_close", "_waiter", "closed",
                 "transport")  # fmt: skip

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._waiter: asyncio.Future[Response] | None = None
        self._buf = bytearray()
        self._head: tuple[int, str | None, bool] | None = None
        self._body_left = -1
        self._chunked = False
        self._until_close = False

    # asyncio.Protocol callbacks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport but implement it.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Small requests must leave at once, not wait for Nagle to batch them.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if self._waiter is not None:
            self._parse()

    def eof_received(self) -> bool:
        return False  # let the transport close; connection_lost settles any waiter

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            return
        if self._until_close and self._head is not None:
            # A body delimited by the end of the connection is complete now.
            status, location, _ = self._head
            waiter.set_result(Response(status, location, bytes(self._buf), False))
        else:
            waiter.set_exception(RequestFailed(CONNECTION, str(exc or "closed by peer")))

    # API ---------------------------------------------------------------------------------

    def send(self, request: bytes, waiter: asyncio.Future[Response]) -> None:
        assert self.transport is not None
        self._waiter = waiter
        self._head = None
        self._body_left = -1
        self._chunked = False
        self._until_close = False
        self.transport.write(request)
        if self._buf:  # unlikely: bytes that arrived before we asked
            self._parse()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # parsing -----------------------------------------------------------------------------

    def _parse(self) -> None:
        buf = self._buf
        if self._head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            try:
                self._parse_head(bytes(buf[:end]))
            except (ValueError, IndexError) as exc:
                self._fail(f"bad response head: {exc}")
                return
            del buf[: end + 4]
        if self._chunked:
            self._parse_chunked()
        elif self._until_close:
            return
        elif len(buf) >= self._body_left:
            body = bytes(buf[: self._body_left])
            del buf[: self._body_left]
            self._finish(body)

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        status = int(lines[0][9:12])
        location = None
        keep_alive = lines[0][:8] != b"HTTP/1.0"
        length = -1
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"location":
                location = value.strip().decode("latin-1")
            elif name == b"transfer-encoding":
                self._chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep_alive = value.strip().lower() != b"close"
        self._head = (status, location, keep_alive)
        if status in _NO_BODY_STATUSES or 100 <= status < 200:
            self._body_left = 0
        elif not self._chunked:
            if length >= 0:
                self._body_left = length
            else:
                self._until_close = True

    def _parse_chunked(self) -> None:
        # Chunks are decoded only once the whole body is here: responses are small.
        buf = self._buf
        pos, body = 0, bytearray()
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return
            size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", eol)
                if trailer_end < 0 and buf[eol : eol + 4] != b"\r\n\r\n":
                    return
                end = eol + 4 if buf[eol : eol + 4] == b"\r\n\r\n" else trailer_end + 4
                del buf[:end]
                self._finish(bytes(body))
                return
            start = eol + 2
            if len(buf) < start + size + 2:
                return
            body += buf[start : start + size]
            pos = start + size + 2

    def _finish(self, body: bytes) -> None:
        assert self._head is not None
        status, location, keep_alive = self._head
        waiter, self._waiter = self._waiter, None
        if not keep_alive:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(Response(status, location, body, keep_alive))

    def _fail(self, detail: str) -> None:
        waiter, self._waiter = self._waiter, None
        self.abort()
        if waiter is not None and not waiter.done():
            waiter.set_exception(RequestFailed(CONNECTION, detail))


class Client:
    """Opens connections to one host and runs requests against a deadline.

    Two ways to use connections, chosen by the load tool:
    - one connection per virtual user (Gatling's default: connections are not shared between
      users), opened by the user's first request and closed when the user ends;
    - a shared keep-alive pool without a size limit (an open model must never queue a request
      behind a busy connection, or the generator's own queue would hide the server's latency).
    """

    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.loop = asyncio.get_running_loop()
        self._idle: list[Connection] = []
        self.opened = 0

    async def connect(self, deadline: float) -> Connection:
        remaining = deadline - self.loop.time()
        try:
            async with asyncio.timeout(remaining):
                _, conn = await self.loop.create_connection(Connection, self.host, self.port)
        except TimeoutError:
            raise RequestFailed(TIMEOUT, "connect") from None
        except OSError as exc:
            raise RequestFailed(CONNECTION, str(exc)) from None
        self.opened += 1
        return conn

    async def request(self, conn: Connection, data: bytes, deadline: float) -> Response:
        """Send `data` on `conn` and wait for the response until `deadline` (loop time)."""
        if conn.closed:
            raise RequestFailed(CONNECTION, "connection closed before the request")
        waiter: asyncio.Future[Response] = self.loop.create_future()
        # One timer per request, cancelled on the answer: cheaper than asyncio.timeout().
        timer = self.loop.call_at(deadline, _expire, waiter, conn)
        conn.send(data, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    # shared pool ---------------------------------------------------------------------------

    async def pooled(self, data: bytes, deadline: float) -> Response:
        conn = None
        while self._idle:
            candidate = self._idle.pop()
            if not candidate.closed:
                conn = candidate
                break
        if conn is None:
            conn = await self.connect(deadline)
        try:
            response = await self.request(conn, data, deadline)
        except BaseException:
            conn.abort()
            raise
        if response.keep_alive and not conn.closed:
            self._idle.append(conn)
        return response

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()


def _expire(waiter: asyncio.Future[Response], conn: Connection) -> None:
    if not waiter.done():
        waiter.set_exception(RequestFailed(TIMEOUT, "no complete response in time"))
        # The late answer must not be read as the answer to a later request.
        conn.abort()
