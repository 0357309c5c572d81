"""GET /pessoas/{id}."""

import uuid
from typing import Annotated

from dependency_injector.wiring import Provide, inject
from fastapi import APIRouter, Depends
from starlette.responses import Response

from pessoas.container import Container
from pessoas.domain.use_cases import GetPessoa
from pessoas.entrypoints.http.responses import OrjsonResponse, error
from pessoas.entrypoints.http.schemas import ErrorOut, PessoaOut

router = APIRouter()


@router.get(
    "/pessoas/{pessoa_id}",
    summary="Read a pessoa by id",
    response_model=PessoaOut,
    responses={404: {"model": ErrorOut, "description": "no such pessoa, or not a UUID"}},
)
@inject
async def get_pessoa(
    pessoa_id: str,
    get: Annotated[GetPessoa, Depends(Provide[Container.get_pessoa])],
) -> Response:
    try:
        wanted = uuid.UUID(pessoa_id)
    except ValueError:
        return error(404, "no such pessoa")
    pessoa = await get(wanted)
    if pessoa is None:
        return error(404, "no such pessoa")
    return OrjsonResponse(pessoa)
