"""GET /contagem-pessoas."""

from fastapi import APIRouter
from starlette.responses import PlainTextResponse, Response

from pessoas.domain.errors import StorageUnavailable
from pessoas.domain.use_cases import CountPessoas


def build_router(count: CountPessoas) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/contagem-pessoas",
        summary="Count stored pessoas",
        response_class=PlainTextResponse,
        responses={
            200: {"content": {"text/plain": {"example": "46500"}}},
            503: {"description": "storage unavailable"},
        },
    )
    async def count_pessoas() -> Response:
        try:
            stored = await count()
        except StorageUnavailable:
            return PlainTextResponse("storage is unavailable; retry later", status_code=503)
        return PlainTextResponse(str(stored))

    return router
