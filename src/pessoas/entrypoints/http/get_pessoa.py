"""GET /pessoas/{id}."""

import uuid
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from starlette.responses import Response

from pessoas.application.use_cases import GetPessoa
from pessoas.domain.errors import StorageUnavailable
from pessoas.entrypoints.http.responses import OrjsonResponse, error
from pessoas.entrypoints.http.schemas import ErrorOut, PessoaOut

GetEndpoint = Callable[[str], Awaitable[Response]]


def build_endpoint(get: GetPessoa) -> GetEndpoint:
    """The route's handler; FastAPI registers it, and the fast lane calls it directly."""

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

    return get_pessoa


def build_router(endpoint: GetEndpoint) -> APIRouter:
    router = APIRouter()
    router.add_api_route(
        "/pessoas/{pessoa_id}",
        endpoint,
        methods=["GET"],
        summary="Read a pessoa by id",
        response_model=PessoaOut,
        responses={
            404: {"model": ErrorOut, "description": "no such pessoa, or not a UUID"},
            503: {"model": ErrorOut, "description": "storage unavailable"},
        },
    )
    return router
