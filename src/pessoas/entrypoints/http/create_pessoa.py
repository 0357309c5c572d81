"""POST /pessoas."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pessoas.application.use_cases import CreatePessoa
from pessoas.domain.errors import InvalidPessoa, StorageUnavailable, StorageUncertain, UnreadablePessoa
from pessoas.entrypoints.http.body import MAX_BODY_TEXT, BodyNotJson, BodyTooLarge, read_json_body
from pessoas.entrypoints.http.contract_route import ContractRoute, ErrorOutcome
from pessoas.entrypoints.http.responses import OrjsonResponse
from pessoas.entrypoints.http.schemas import Pessoa


def create_pessoa_route(create: CreatePessoa) -> ContractRoute:
    async def handle(request: Request) -> Response:
        pessoa = await create(await read_json_body(request))
        return OrjsonResponse(pessoa, status_code=201, headers={"Location": f"/pessoas/{pessoa.id}"})

    return ContractRoute(
        method="POST",
        path="/pessoas",
        name="createPessoa",
        summary="Create a pessoa",
        handle=handle,
        errors=(
            ErrorOutcome(
                BodyTooLarge,
                413,
                f"the body is over {MAX_BODY_TEXT}",
                f"the body must not exceed {MAX_BODY_TEXT}",
            ),
            ErrorOutcome(BodyNotJson, 400, "the body is not JSON", "the body is not valid JSON"),
            ErrorOutcome(UnreadablePessoa, 400, "not a JSON object, or a field of the wrong JSON type"),
            ErrorOutcome(InvalidPessoa, 422, "a rule broken, or the apelido already taken"),
            ErrorOutcome(
                StorageUncertain,
                503,
                "storage did not confirm the commit; the pessoa may or may not be stored",
                "storage did not confirm the commit; the pessoa may or may not have been created",
            ),
            ErrorOutcome(
                StorageUnavailable,
                503,
                "storage cannot take the pessoa now; nothing was created, retry",
                "storage is unavailable; the pessoa was not created, retry later",
            ),
        ),
        success_status=201,
        success_doc={
            "model": Pessoa,
            "description": "created: committed to storage, readable at once on every instance",
            "headers": {
                "Location": {
                    "description": "where the new pessoa is read: /pessoas/{id}",
                    "schema": {"type": "string"},
                }
            },
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewPessoa"}}},
            }
        },
    )
