"""GET /pessoas?t={term}."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from pessoas.application.use_cases import SearchPessoas
from pessoas.domain.errors import InvalidSearchTerm, StorageUnavailable
from pessoas.entrypoints.http.responses import OrjsonResponse, error
from pessoas.entrypoints.http.schemas import ErrorOut, PessoaOut

SearchEndpoint = Callable[[str | None], Awaitable[Response]]


def build_endpoint(search: SearchPessoas) -> SearchEndpoint:
    """The route's handler; FastAPI registers it, and the fast lane calls it directly."""

    async def search_pessoas(
        # Optional here so that a missing t reaches the use case and gets the contract's 400,
        # not FastAPI's 422.
        t: Annotated[str | None, Query(description="the search term")] = None,
    ) -> Response:
        try:
            found = await search(t)
        except InvalidSearchTerm as exc:
            return error(400, str(exc))
        except StorageUnavailable:
            return error(503, "storage is unavailable; retry later")
        return OrjsonResponse(found)

    return search_pessoas


def build_router(endpoint: SearchEndpoint) -> APIRouter:
    router = APIRouter()
    router.add_api_route(
        "/pessoas",
        endpoint,
        methods=["GET"],
        summary="Search pessoas",
        description="At most 50 pessoas whose apelido, nome or one stack element contains `t`, "
        "compared case-insensitively.",
        response_model=list[PessoaOut],
        responses={
            400: {"model": ErrorOut, "description": "t absent or empty"},
            503: {"model": ErrorOut, "description": "storage unavailable"},
        },
    )
    return router
