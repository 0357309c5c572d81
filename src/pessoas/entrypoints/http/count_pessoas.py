"""GET /contagem-pessoas."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from pessoas.application.use_cases import CountPessoas
from pessoas.entrypoints.http.contract_route import STORAGE_UNAVAILABLE, ContractRoute


def count_pessoas_route(count: CountPessoas) -> ContractRoute:
    async def handle(request: Request) -> Response:
        return PlainTextResponse(str(await count()))

    return ContractRoute(
        method="GET",
        path="/contagem-pessoas",
        name="countPessoas",
        summary="Count stored pessoas",
        description="The exact number of pessoas in storage: not cached, not estimated.",
        handle=handle,
        errors=(STORAGE_UNAVAILABLE,),
        response_class=PlainTextResponse,
        success_doc={
            "description": "the count, as decimal text",
            "content": {
                "text/plain": {"schema": {"type": "string", "pattern": "^[0-9]+$"}, "example": "46500"}
            },
        },
    )
