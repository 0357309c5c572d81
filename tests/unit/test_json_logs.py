"""Log lines are JSON objects with the agreed fields; a request's lines carry its request id."""

import io
import logging

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from dependency_injector import providers

from pessoas.container import build_container
from pessoas.entrypoints.http.app import create_app
from pessoas.entrypoints.logs import configure_logging
from pessoas.settings import Settings


@pytest.fixture
def log_lines():
    """Routes every logger to a JSON handler on a buffer; yields a function returning the lines."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("info", stream)
    yield lambda: [orjson.loads(line) for line in stream.getvalue().splitlines()]
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def test_a_line_has_timestamp_level_logger_message_process_and_extras(log_lines):
    logging.getLogger("pessoas.test").warning("hello %s", "world", extra={"answer": 42})
    (line,) = log_lines()
    assert line["message"] == "hello world"
    assert line["level"] == "WARNING"
    assert line["logger"] == "pessoas.test"
    assert isinstance(line["process"], int)
    assert line["timestamp"].endswith("+00:00")
    assert line["answer"] == 42
    assert "request_id" not in line


def test_an_error_carries_its_traceback(log_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("pessoas.test").exception("failed")
    (line,) = log_lines()
    assert line["level"] == "ERROR"
    assert "ValueError: boom" in line["exc_info"]


def test_uvicorns_loggers_write_json_too(log_lines):
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running", extra={"color_message": "\x1b[1mUvicorn\x1b[0m"}
    )
    (line,) = log_lines()
    assert line["logger"] == "uvicorn.error"
    assert "color_message" not in line


async def _app_client(search=None, **settings):
    container = build_container(
        Settings(storage="memory", database_url=None, redis_url=None, amqp_url=None, **settings)
    )
    if search is not None:
        container.search_pessoas.override(providers.Object(search))
    app = create_app(container)
    manager = LifespanManager(app)
    await manager.__aenter__()
    transport = httpx.ASGITransport(app=manager.app)
    return manager, httpx.AsyncClient(transport=transport, base_url="http://pessoas")


async def test_the_access_log_is_off_by_default_and_carries_the_request_id_when_on(log_lines):
    for access_log in (False, True):
        manager, http = await _app_client(access_log=access_log)
        async with http:
            await http.get("/contagem-pessoas", headers={"X-Request-ID": f"req-{access_log}"})
        await manager.__aexit__(None, None, None)
    access = [line for line in log_lines() if line["logger"] == "pessoas.access"]
    assert len(access) == 1
    assert access[0]["request_id"] == "req-True"
    assert access[0]["status"] == 200
    assert access[0]["path"] == "/contagem-pessoas"
    assert access[0]["duration_ms"] >= 0


async def test_a_client_leaving_mid_body_is_an_info_line_not_an_error(log_lines):
    manager, http = await _app_client()
    app = manager.app
    await http.aclose()

    messages = iter(
        [{"type": "http.request", "body": b'{"apelido": ', "more_body": True}, {"type": "http.disconnect"}]
    )
    sent = []

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/pessoas",
        "raw_path": b"/pessoas",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"x-request-id", b"leaver")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 9999),
        "scheme": "http",
        "http_version": "1.1",
        "root_path": "",
    }
    await app(scope, receive, send)
    await manager.__aexit__(None, None, None)
    lines = log_lines()
    assert not [line for line in lines if line["level"] in ("ERROR", "CRITICAL")]
    (left,) = [line for line in lines if "disconnected" in line["message"]]
    assert left["level"] == "INFO"
    assert left["request_id"] == "leaver"
    assert "exc_info" not in left


async def test_an_unhandled_error_is_logged_with_its_request_id_and_answered_500(log_lines):
    async def broken(term):
        raise RuntimeError("a bug")

    # The search use case raises something unexpected.
    manager, http = await _app_client(search=broken)
    async with http:
        response = await http.get("/pessoas?t=x", headers={"X-Request-ID": "bug-1"})
    await manager.__aexit__(None, None, None)
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "bug-1"
    (error,) = [line for line in log_lines() if line["level"] == "ERROR"]
    assert error["request_id"] == "bug-1"
    assert "RuntimeError: a bug" in error["exc_info"]


async def test_an_error_in_a_route_fastapi_dispatches_is_answered_500_and_logged_once(log_lines):
    container = build_container(Settings(storage="memory", database_url=None, redis_url=None, amqp_url=None))
    app = create_app(container)

    async def boom() -> None:
        raise RuntimeError("a bug in a FastAPI route")

    app.add_api_route("/boom", boom)
    async with LifespanManager(app) as manager:
        # The transport raises what escapes the app: nothing may, once the 500 is sent.
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pessoas") as http:
            response = await http.get("/boom", headers={"X-Request-ID": "bug-2"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "bug-2"
    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == "bug-2"
    assert "a bug in a FastAPI route" in errors[0]["exc_info"]


def test_dramatiqs_command_logs_through_the_json_handler(log_lines):
    # pessoas worker sets the JSON handler, then runs dramatiq's command told not to configure
    # logging; the logger dramatiq's main process then uses writes JSON (its children inherit it).
    from dramatiq import cli

    from pessoas.entrypoints.worker_command import dramatiq_arguments

    arguments = cli.make_argument_parser().parse_args(dramatiq_arguments(processes=2, threads=1))
    assert arguments.skip_logging
    plain = io.StringIO()
    logger = cli.setup_parent_logging(arguments, stream=plain)
    logger.info("Dramatiq is booting up.")
    logger.critical("Worker with PID 1 exited unexpectedly (code 1). Shutting down...")
    first, second = log_lines()
    assert (first["logger"], first["message"]) == ("dramatiq.MainProcess", "Dramatiq is booting up.")
    assert second["level"] == "CRITICAL"
    assert plain.getvalue() == ""  # no plain-text handler of dramatiq's own
