"""GET /contagem-pessoas."""

from typing import Annotated

from dependency_injector.wiring import Provide, inject
from fastapi import APIRouter, Depends
from starlette.responses import PlainTextResponse

from pessoas.container import Container
from pessoas.domain.use_cases import CountPessoas

router = APIRouter()


@router.get(
    "/contagem-pessoas",
    summary="Count stored pessoas",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"example": "46500"}}}},
)
@inject
async def count_pessoas(
    count: Annotated[CountPessoas, Depends(Provide[Container.count_pessoas])],
) -> PlainTextResponse:
    return PlainTextResponse(str(await count()))
