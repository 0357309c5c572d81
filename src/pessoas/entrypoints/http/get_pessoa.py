"""GET /pessoas/{pessoa_id}."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from pessoas.application.use_cases import GetPessoa
from pessoas.entrypoints.http.contract_route import STORAGE_UNAVAILABLE, ContractRoute, ErrorOutcome
from pessoas.entrypoints.http.responses import OrjsonResponse
from pessoas.entrypoints.http.schemas import Pessoa


class NoSuchPessoa(Exception):
    """No pessoa has this id, or the id is not a UUID."""


def get_pessoa_route(get: GetPessoa) -> ContractRoute:
    async def handle(request: Request) -> Response:
        try:
            wanted = uuid.UUID(request.path_params["pessoa_id"])
        except ValueError:
            raise NoSuchPessoa from None
        pessoa = await get(wanted)
        if pessoa is None:
            raise NoSuchPessoa
        return OrjsonResponse(pessoa)

    return ContractRoute(
        method="GET",
        path="/pessoas/{pessoa_id}",
        name="getPessoa",
        summary="Read a pessoa by id",
        handle=handle,
        errors=(
            ErrorOutcome(NoSuchPessoa, 404, "no such pessoa, or the id is not a UUID", "no such pessoa"),
            STORAGE_UNAVAILABLE,
        ),
        success_doc={"model": Pessoa, "description": "the pessoa"},
        openapi_extra={
            "parameters": [
                {
                    "name": "pessoa_id",
                    "in": "path",
                    "required": True,
                    "description": "the id from the Location of its creation",
                    "schema": {"type": "string", "format": "uuid"},
                }
            ]
        },
    )
