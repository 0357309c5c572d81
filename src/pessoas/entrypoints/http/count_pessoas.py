"""GET /contagem-pessoas."""

from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from starlette.responses import PlainTextResponse, Response

from pessoas.application.use_cases import CountPessoas
from pessoas.domain.errors import StorageUnavailable

CountEndpoint = Callable[[], Awaitable[Response]]


def build_endpoint(count: CountPessoas) -> CountEndpoint:
    """The route's handler; FastAPI registers it, and the fast lane calls it directly."""

    async def count_pessoas() -> Response:
        try:
            stored = await count()
        except StorageUnavailable:
            return PlainTextResponse("storage is unavailable; retry later", status_code=503)
        return PlainTextResponse(str(stored))

    return count_pessoas


def build_router(endpoint: CountEndpoint) -> APIRouter:
    router = APIRouter()
    router.add_api_route(
        "/contagem-pessoas",
        endpoint,
        methods=["GET"],
        summary="Count stored pessoas",
        response_class=PlainTextResponse,
        responses={
            200: {"content": {"text/plain": {"example": "46500"}}},
            503: {"description": "storage unavailable"},
        },
    )
    return router
