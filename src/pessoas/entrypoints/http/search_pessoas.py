"""GET /pessoas?t={term}."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pessoas.application.use_cases import SearchPessoas
from pessoas.domain.errors import InvalidSearchTerm
from pessoas.domain.model import SEARCH_LIMIT
from pessoas.entrypoints.http.contract_route import STORAGE_UNAVAILABLE, ContractRoute, ErrorOutcome
from pessoas.entrypoints.http.responses import OrjsonResponse
from pessoas.entrypoints.http.schemas import SearchResults


def search_pessoas_route(search: SearchPessoas) -> ContractRoute:
    async def handle(request: Request) -> Response:
        # With a repeated t, the last one wins (as Starlette reads a single query value).
        return OrjsonResponse(await search(request.query_params.get("t")))

    return ContractRoute(
        method="GET",
        path="/pessoas",
        name="searchPessoas",
        summary="Search pessoas",
        description=f"At most {SEARCH_LIMIT} pessoas whose apelido, nome or one stack element contains `t`, "
        "compared case-insensitively; `%`, `_` and `\\` are literal characters.",
        handle=handle,
        errors=(
            ErrorOutcome(InvalidSearchTerm, 400, "t absent or empty"),
            STORAGE_UNAVAILABLE,
        ),
        success_doc={"model": SearchResults, "description": "the pessoas found, possibly none"},
        openapi_extra={
            "parameters": [
                {
                    "name": "t",
                    "in": "query",
                    "required": True,
                    "description": "the search term, contained within one field",
                    "schema": {"type": "string", "minLength": 1},
                }
            ]
        },
    )
