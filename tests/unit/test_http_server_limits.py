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


def test_a_tcp_port_gets_h11_with_the_head_bounded_and_a_unix_socket_httptools():
    tcp = server_limits(_args(), SETTINGS)
    assert tcp["http"] == "h11"
    assert tcp["h11_max_incomplete_event_size"] == SETTINGS.max_head_bytes
    assert tcp["timeout_keep_alive"] == SETTINGS.keepalive_timeout
    assert tcp["limit_concurrency"] == SETTINGS.max_connections
    assert server_limits(_args(uds="/run/api1.sock"), SETTINGS)["http"] == "httptools"
    assert server_limits(_args(http="httptools"), SETTINGS)["http"] == "httptools"


def test_the_parser_setting_chooses_unless_the_command_line_does():
    chosen = SETTINGS.model_copy(update={"http_parser": "httptools"})
    assert server_limits(_args(), chosen)["http"] == "httptools"
    assert server_limits(_args(http="h11"), chosen)["http"] == "h11"
    assert (
        server_limits(_args(uds="/run/api1.sock"), SETTINGS.model_copy(update={"http_parser": "h11"}))["http"]
        == "h11"
    )


@pytest.fixture
def port():
    limits = server_limits(_args(), SETTINGS)
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
    huge.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * (SETTINGS.max_head_bytes + 1024))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as other:
        other.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        assert _answer(other).startswith(b"HTTP/1.1 200")
    assert _answer(huge).startswith(b"HTTP/1.1 400")
    huge.close()
