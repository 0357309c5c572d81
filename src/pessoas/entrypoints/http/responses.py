"""Response helpers shared by the routes: JSON via orjson, errors as one small JSON shape."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class OrjsonResponse(JSONResponse):
    """orjson writes dataclasses, UUIDs and dates natively, so a Pessoa needs no conversion.

    A JSONResponse, so FastAPI documents its body by the route's model alone.
    """

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(status_code: int, detail: str) -> OrjsonResponse:
    return OrjsonResponse({"detail": detail}, status_code=status_code)
