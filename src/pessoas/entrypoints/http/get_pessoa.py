"""GET /pessoas/{id}."""

import uuid

from fastapi import APIRouter
from starlette.responses import Response

from pessoas.domain.errors import StorageUnavailable
from pessoas.domain.use_cases import GetPessoa
from pessoas.entrypoints.http.responses import OrjsonResponse, error
from pessoas.entrypoints.http.schemas import ErrorOut, PessoaOut


def build_router(get: GetPessoa) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/pessoas/{pessoa_id}",
        summary="Read a pessoa by id",
        response_model=PessoaOut,
        responses={
            404: {"model": ErrorOut, "description": "no such pessoa, or not a UUID"},
            503: {"model": ErrorOut, "description": "storage unavailable"},
        },
    )
    async def get_pessoa(
        pessoa_id: str,
    ) -> Response:
        try:
            wanted = uuid.UUID(pessoa_id)
        except ValueError:
            return error(404, "no such pessoa")
        try:
            pessoa = await get(wanted)
        except StorageUnavailable:
            return error(503, "storage is unavailable; retry later")
        if pessoa is None:
            return error(404, "no such pessoa")
        return OrjsonResponse(pessoa)

    return router
