"""GET /health: the instance is up and serving (used by nginx, compose and the local stack)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import PlainTextResponse

from pessoas.entrypoints.http.contract_route import HeadServingRoute

router = APIRouter(route_class=HeadServingRoute)


@router.get("/health", summary="Liveness", operation_id="health", response_class=PlainTextResponse)
async def health() -> PlainTextResponse:
    return PlainTextResponse("ok")
