"""GET /pessoas?t={term}."""

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from pessoas.domain.errors import InvalidSearchTerm, StorageUnavailable
from pessoas.domain.use_cases import SearchPessoas
from pessoas.entrypoints.http.responses import OrjsonResponse, error
from pessoas.entrypoints.http.schemas import ErrorOut, PessoaOut


def build_router(search: SearchPessoas) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/pessoas",
        summary="Search pessoas",
        description="At most 50 pessoas whose apelido, nome or one stack element contains `t`, "
        "compared case-insensitively.",
        response_model=list[PessoaOut],
        responses={
            400: {"model": ErrorOut, "description": "t absent or empty"},
            503: {"model": ErrorOut, "description": "storage unavailable"},
        },
    )
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

    return router
