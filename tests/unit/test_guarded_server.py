"""The bare server protects itself: a real uvicorn with the guarded protocol, on an ephemeral port."""

import asyncio
import contextlib
import socket

import orjson
import pytest
import uvicorn

from pessoas.container import build_container
from pessoas.entrypoints.http.app import create_app
from pessoas.entrypoints.http.guarded_protocol import GuardedHttpToolsProtocol, HeadLimits
from pessoas.settings import Settings

# Not a performance bound: only how long a test waits before calling the server hung.
HANG = 10.0


@pytest.fixture
async def server(request):
    """Serves the embedded app; yields its port. ``limit_concurrency`` via indirect parametrize."""
    saved = (
        HeadLimits.max_request_line,
        HeadLimits.max_header,
        HeadLimits.max_head,
        HeadLimits.header_timeout,
    )
    HeadLimits.configure(
        max_request_line=8 * 1024, max_header=8 * 1024, max_head=32 * 1024, header_timeout=10.0
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = create_app(
        build_container(Settings(storage="memory", database_url=None, redis_url=None, amqp_url=None))
    )
    config = uvicorn.Config(
        app,
        http=GuardedHttpToolsProtocol,
        loop="none",
        lifespan="on",
        log_config=None,
        limit_concurrency=getattr(request, "param", None),
    )
    uvi = uvicorn.Server(config)
    task = asyncio.create_task(uvi.serve(sockets=[sock]))
    while not uvi.started:
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        uvi.should_exit = True
        await asyncio.wait_for(task, HANG)
        HeadLimits.configure(
            max_request_line=saved[0], max_header=saved[1], max_head=saved[2], header_timeout=saved[3]
        )


async def _connect(port):
    return await asyncio.open_connection("127.0.0.1", port)


async def _status(reader) -> int:
    line = await asyncio.wait_for(reader.readline(), HANG)
    return int(line.split()[1])


async def _get_health(port) -> int:
    reader, writer = await _connect(port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    await writer.drain()
    try:
        return await _status(reader)
    finally:
        writer.close()


async def test_a_100_kb_header_is_refused_before_it_is_read_while_others_are_served(server):
    reader, writer = await _connect(server)
    writer.write(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Huge: ")
    # One header of 100 kB, in pieces. Another client is answered while this one is sending.
    for _ in range(2):
        writer.write(b"a" * 4096)
        await writer.drain()
    assert await _get_health(server) == 200
    # Past the 32 KiB limit, the answer comes without the head being finished (nor the 100 kB
    # sent): the server stops reading there, whatever the rest would have been.
    for _ in range(7):
        writer.write(b"a" * 4096)
        await writer.drain()
    assert await _status(reader) == 431
    with contextlib.suppress(ConnectionError):
        writer.write(b"a" * (100 * 1024 - 9 * 4096))
        await writer.drain()
    await asyncio.wait_for(reader.read(), HANG)  # and the connection ends
    assert reader.at_eof()
    assert await _get_health(server) == 200
    writer.close()


async def test_a_single_header_over_its_limit_is_431(server):
    reader, writer = await _connect(server)
    writer.write(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Long: " + b"b" * (9 * 1024) + b"\r\n\r\n")
    await writer.drain()
    assert await _status(reader) == 431
    writer.close()


async def test_a_request_line_over_its_limit_is_414(server):
    reader, writer = await _connect(server)
    writer.write(b"GET /pessoas?t=" + b"c" * (9 * 1024) + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    await writer.drain()
    assert await _status(reader) == 414
    writer.close()


async def test_a_client_that_never_finishes_its_head_is_dropped_with_408(server):
    HeadLimits.header_timeout = 0.2
    reader, writer = await _connect(server)
    writer.write(b"GET /health HTTP/1.1\r\nHost: t\r\n")  # and then nothing
    await writer.drain()
    assert await _status(reader) == 408
    await asyncio.wait_for(reader.read(), HANG)
    assert reader.at_eof()
    writer.close()


async def test_a_silent_connection_is_closed_after_the_header_timeout(server):
    HeadLimits.header_timeout = 0.2
    reader, writer = await _connect(server)
    assert await asyncio.wait_for(reader.read(), HANG) == b""
    writer.close()


async def test_keep_alive_requests_and_a_large_body_pass_the_head_limits(server):
    reader, writer = await _connect(server)
    body = orjson.dumps(
        {"apelido": "big", "nome": "n" * 100, "nascimento": "2000-01-01", "stack": ["x" * 32] * 1500}
    )
    assert 32 * 1024 < len(body) < 64 * 1024  # larger than the head limit, within the body limit
    head = (
        b"POST /pessoas HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    )
    for _ in range(3):  # the same connection, head and body in one write each time
        writer.write(head % len(body) + body)
        await writer.drain()
        status = await _status(reader)
        assert status in (201, 422)  # 422 after the first: the apelido is taken
        headers = {}
        while (line := await asyncio.wait_for(reader.readline(), HANG)) != b"\r\n":
            name, _, value = line.decode().partition(":")
            headers[name.lower()] = value.strip()
        await reader.readexactly(int(headers["content-length"]))
    writer.close()


@pytest.mark.parametrize("server", [2], indirect=True)
async def test_connections_beyond_the_bound_are_refused_with_503(server):
    held = [await _connect(server) for _ in range(2)]
    await asyncio.sleep(0.05)
    assert await _get_health(server) == 503
    for _, writer in held:
        writer.close()
