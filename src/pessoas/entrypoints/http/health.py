"""GET /health: the instance is up and serving (used by nginx, compose and the local stack)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import PlainTextResponse

router = APIRouter()


@router.get("/health", summary="Liveness", response_class=PlainTextResponse)
async def health() -> PlainTextResponse:
    return PlainTextResponse("ok")
