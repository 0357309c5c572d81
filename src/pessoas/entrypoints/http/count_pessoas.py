"""GET /contagem-pessoas."""

from fastapi import APIRouter
from starlette.responses import PlainTextResponse

from pessoas.domain.use_cases import CountPessoas


def build_router(count: CountPessoas) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/contagem-pessoas",
        summary="Count stored pessoas",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"example": "46500"}}}},
    )
    async def count_pessoas() -> PlainTextResponse:
        return PlainTextResponse(str(await count()))

    return router
