"""The server's own limits, as `pessoas serve` sets stock uvicorn: a huge request head is refused
on a TCP port (h11), while other clients are answered meanwhile."""

import argparse
import socket
import threading
import time

import pytest
import uvicorn

from pessoas.container import build_container
from pessoas.entrypoints.cli import server_limits
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings

SETTINGS = Settings(storage="memory", database_url=None, redis_url=None, amqp_url=None)


def _args(uds=None, http=None):
    return argparse.Namespace(uds=uds, http=http)


def test_httptools_by_default_and_h11_bounding_the_head_when_chosen():
    limits = server_limits(_args(), SETTINGS)
    assert limits["http"] == "httptools"
    assert limits["h11_max_incomplete_event_size"] == SETTINGS.max_head_bytes
    assert limits["timeout_keep_alive"] == SETTINGS.keepalive_timeout
    assert limits["limit_concurrency"] == SETTINGS.max_connections
    assert server_limits(_args(uds="/run/api1.sock"), SETTINGS)["http"] == "httptools"
    assert server_limits(_args(http="h11"), SETTINGS)["http"] == "h11"


def test_the_parser_setting_chooses_unless_the_command_line_does():
    chosen = SETTINGS.model_copy(update={"http_parser": "h11"})
    assert server_limits(_args(), chosen)["http"] == "h11"
    assert server_limits(_args(http="httptools"), chosen)["http"] == "httptools"


@pytest.fixture(params=["httptools", "h11"])
def parser(request):
    return request.param


@pytest.fixture
def port(parser):
    limits = server_limits(_args(http=parser), SETTINGS)
    limits.pop("loop")  # the event loop of this thread's server: asyncio's is enough here
    server = uvicorn.Server(uvicorn.Config(create_app(build_container(SETTINGS)), log_config=None, **limits))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(10)
    sock.close()


def _answer(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_head_past_the_limit_is_refused_and_closed_while_others_are_answered(port):
    huge = socket.create_connection(("127.0.0.1", port), timeout=10)
    big_header = b"x-big: " + b"a" * (SETTINGS.max_head_bytes + 1024) + b"\r\n"
    huge.sendall(b"GET /contagem-pessoas HTTP/1.1\r\nhost: x\r\n" + big_header + b"\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as other:
        other.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        assert _answer(other).startswith(b"HTTP/1.1 200")
    answer = _answer(huge)  # the server closes the connection after its answer
    huge.close()
    assert answer.startswith(b"HTTP/1.1 431")
    assert b'"detail"' in answer


# Only h11 bounds a head while it arrives (docs/operations.md, "HTTP limits").
@pytest.mark.parametrize("parser", ["h11"])
def test_h11_cuts_off_a_head_that_keeps_growing(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        # No end of head: the server must not wait for one past the limit.
        client.sendall(
            b"GET /health HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * (SETTINGS.max_head_bytes + 1024)
        )
        assert _answer(client).startswith(b"HTTP/1.1 400")


def test_a_head_at_the_limit_is_served(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        request = b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n"
        filler = SETTINGS.max_head_bytes - len(request) - 200
        client.sendall(request + b"x-fill: " + b"a" * filler + b"\r\n\r\n")
        assert _answer(client).startswith(b"HTTP/1.1 200")
