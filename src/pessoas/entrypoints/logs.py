"""JSON log lines for the API and the worker: one object per line on stderr, through standard logging.

Standard logging with python-json-logger rather than structlog: uvicorn, Dramatiq, aiormq and
psycopg all log through the standard library already, so one handler on the root logger renders
every line the same way, with no bridge between two logging systems; and call sites keep the
plain ``logger.info(...)`` the code already uses. Each line carries ``timestamp`` (ISO 8601, UTC),
``level``, ``logger``, ``message``, ``process``, the ``request_id`` of the HTTP request being
answered when there is one, whatever ``extra`` fields the call site gave, and ``exc_info`` (the
traceback) for errors.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import IO

from pythonjsonlogger.orjson import OrjsonFormatter

# Set by the HTTP request middleware for the duration of one request (each request runs in its
# own task, so its own copy of the context).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        current = request_id.get()
        if current is not None:
            record.request_id = current
        # uvicorn's terminal-coloured copy of the message: noise in a JSON line.
        record.__dict__.pop("color_message", None)
        return True


def json_formatter() -> logging.Formatter:
    return OrjsonFormatter(
        "{levelname}{name}{message}{process}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,
    )


def configure_logging(level: str = "info", stream: IO[str] | None = None) -> None:
    """Routes every logger of the process, uvicorn's included, to one JSON handler."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(json_formatter())
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's own handlers (plain text) go: its records reach the root handler instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
        named.setLevel(logging.NOTSET)
