"""The server protocol sends each response in one write: head and body together, nothing lost or reordered."""

import asyncio

import pytest
import uvicorn
from uvicorn.server import ServerState

from pessoas.entrypoints.http.one_write_protocol import OneWriteHttpToolsProtocol

HANG = 10.0  # how long a test waits before calling the protocol hung; not a performance bound


class RecordingTransport(asyncio.Transport):
    """Keeps every write, as the socket would receive it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:  # type: ignore[override]
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 9999), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/echo":
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        payload = body
    else:
        payload = b'{"ok":true}'
    if scope["path"] == "/empty":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    headers = [(b"content-type", b"application/json")]
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await send({"type": "http.response.body", "body": b"second"})
        return
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if scope["path"] == "/broken":
        raise RuntimeError("failed after the response began")
    await send({"type": "http.response.body", "body": payload})


@pytest.fixture
async def connection():
    config = uvicorn.Config(app, loop="none", lifespan="off", log_config=None, access_log=False)
    protocol = OneWriteHttpToolsProtocol(config, ServerState(), app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    yield protocol, transport
    protocol.connection_lost(None)


async def _until(condition) -> None:
    async with asyncio.timeout(HANG):
        while not condition():
            await asyncio.sleep(0)


def _requests_answered(protocol) -> int:
    return protocol.server_state.total_requests


async def test_a_response_leaves_in_one_write_with_its_head_and_body(connection):
    protocol, transport = connection
    protocol.data_received(b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n")
    await _until(lambda: _requests_answered(protocol) == 1)
    assert len(transport.writes) == 1
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 11" in head
    assert body == b'{"ok":true}'


async def test_keep_alive_responses_each_leave_in_one_write_in_order(connection):
    protocol, transport = connection
    for n in range(3):
        body = b"body-%d" % n
        protocol.data_received(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await _until(lambda n=n: _requests_answered(protocol) == n + 1)
    assert [write.partition(b"\r\n\r\n")[2] for write in transport.writes] == [
        b"body-0",
        b"body-1",
        b"body-2",
    ]


async def test_a_head_request_still_gets_its_head(connection):
    protocol, transport = connection
    protocol.data_received(b"HEAD /json HTTP/1.1\r\nHost: t\r\n\r\n")
    await _until(lambda: _requests_answered(protocol) == 1)
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[0].endswith(b"\r\n\r\n")


async def test_a_response_without_a_body_still_gets_its_head(connection):
    protocol, transport = connection
    protocol.data_received(b"GET /empty HTTP/1.1\r\nHost: t\r\n\r\n")
    await _until(lambda: _requests_answered(protocol) == 1)
    assert b"".join(transport.writes).startswith(b"HTTP/1.1 204 No Content\r\n")


async def test_a_streamed_response_keeps_every_part_in_order(connection):
    protocol, transport = connection
    protocol.data_received(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
    await _until(lambda: _requests_answered(protocol) == 1)
    sent = b"".join(transport.writes)
    head, _, body = sent.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head
    assert body == b"5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n"


async def test_a_connection_close_request_gets_its_response_before_the_close(connection):
    protocol, transport = connection
    protocol.data_received(b"GET /json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    await _until(lambda: transport.closed)
    assert len(transport.writes) == 1
    assert transport.writes[0].endswith(b'{"ok":true}')


async def test_an_app_failing_after_its_head_sends_the_head_then_closes(connection):
    protocol, transport = connection
    protocol.data_received(b"GET /broken HTTP/1.1\r\nHost: t\r\n\r\n")
    await _until(lambda: transport.closed)
    assert b"".join(transport.writes).startswith(b"HTTP/1.1 200 OK\r\n")


async def test_100_continue_is_not_held_back(connection):
    protocol, transport = connection
    protocol.data_received(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    )
    # The app waits for the body; the client waits for the interim answer before sending it.
    await _until(lambda: transport.writes)
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    protocol.data_received(b"hi")
    await _until(lambda: _requests_answered(protocol) == 1)
    assert transport.writes[1].endswith(b"\r\n\r\nhi")
