"""Reading a JSON request body with the contract's size limit, before any parsing."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

MAX_BODY_BYTES = 64 * 1024
MAX_BODY_TEXT = f"{MAX_BODY_BYTES // 1024} KiB"


class BodyTooLarge(Exception):
    """The body passes :data:`MAX_BODY_BYTES`: refused before it is parsed."""


class BodyNotJson(Exception):
    """The body is not a JSON document."""


async def read_limited_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, or BodyTooLarge as soon as it is known to pass ``limit`` bytes.

    A declared Content-Length is trusted to refuse early; a chunked body is counted as it
    arrives, so an endless stream is cut off instead of filling memory.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_body(request: Request) -> Any:
    """The body decoded from JSON, within the size limit."""
    raw = await read_limited_body(request)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BodyNotJson from None
