"""POST /pessoas."""

from collections.abc import Awaitable, Callable

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from pessoas.application.use_cases import CreatePessoa
from pessoas.domain.errors import InvalidPessoa, StorageUnavailable, StorageUncertain, UnreadablePessoa
from pessoas.entrypoints.http.body import BodyTooLarge, read_limited_body
from pessoas.entrypoints.http.responses import OrjsonResponse, error
from pessoas.entrypoints.http.schemas import ErrorOut, NewPessoa, PessoaOut

CreateEndpoint = Callable[[Request], Awaitable[Response]]


def build_endpoint(create: CreatePessoa) -> CreateEndpoint:
    """The route's handler; FastAPI registers it, and the fast lane calls it directly."""

    async def create_pessoa(
        request: Request,
    ) -> Response:
        try:
            raw = await read_limited_body(request)
        except BodyTooLarge:
            return error(413, "the body must not exceed 64 KiB")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return error(400, "the body is not valid JSON")
        try:
            pessoa = await create(body)
        except UnreadablePessoa as exc:
            return error(400, str(exc))
        except InvalidPessoa as exc:  # ApelidoTaken included
            return error(422, str(exc))
        except StorageUnavailable:
            return error(503, "storage is unavailable; the pessoa was not created, retry later")
        except StorageUncertain:
            return error(503, "storage did not confirm the pessoa; its apelido stays taken")
        return OrjsonResponse(pessoa, status_code=201, headers={"Location": f"/pessoas/{pessoa.id}"})

    return create_pessoa


def build_router(endpoint: CreateEndpoint) -> APIRouter:
    router = APIRouter()
    router.add_api_route(
        "/pessoas",
        endpoint,
        methods=["POST"],
        status_code=201,
        summary="Create a pessoa",
        response_model=PessoaOut,
        responses={
            400: {
                "model": ErrorOut,
                "description": "not JSON, not an object, or a field of the wrong type",
            },
            413: {"model": ErrorOut, "description": "body over 64 KiB"},
            422: {"model": ErrorOut, "description": "a rule broken, or the apelido already taken"},
            503: {"model": ErrorOut, "description": "storage cannot take the pessoa now; retry"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": NewPessoa.model_json_schema()}},
            }
        },
    )
    return router
