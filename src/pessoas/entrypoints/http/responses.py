"""Response helpers shared by the routes: JSON via orjson, errors as one small JSON shape."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class OrjsonResponse(Response):
    """orjson writes dataclasses, UUIDs and dates natively, so a Pessoa needs no conversion."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(status_code: int, detail: str) -> Response:
    return OrjsonResponse({"detail": detail}, status_code=status_code)
