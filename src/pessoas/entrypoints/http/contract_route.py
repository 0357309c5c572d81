"""One contract route, declared once: its method and path, its handler and its error-to-status table.

Both ways a request can reach a handler are generated from these declarations: the fast dispatch
(``fast_dispatch.py``) and the FastAPI registration that /docs and /openapi.json describe
(``registration.py``). So what the documentation shows is what runs, and an error's status is
written in one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pessoas.domain.errors import StorageUnavailable
from pessoas.entrypoints.http.refusal_log import REFUSALS
from pessoas.entrypoints.http.responses import OrjsonResponse, error
from pessoas.entrypoints.http.schemas import ErrorOut

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class ErrorOutcome:
    """How one kind of failure is answered: its status and what the documentation says of it.

    ``detail`` is the body's message; ``None`` uses the exception's own text (the domain's errors
    say precisely which rule was broken).
    """

    error: type[Exception]
    status: int
    description: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ContractRoute:
    method: str
    #: A FastAPI path: static, or static with one final ``{parameter}`` segment.
    path: str
    name: str
    summary: str
    handle: Handler
    #: Looked up in order: list a subclass before its base class.
    errors: tuple[ErrorOutcome, ...]
    success_status: int = 200
    #: What FastAPI documents as the success media type.
    response_class: type[Response] = OrjsonResponse
    #: The success response as OpenAPI documents it (schema, headers, content type).
    success_doc: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None
    #: OpenAPI fields the handler reads itself: its parameters and request body.
    openapi_extra: Mapping[str, Any] = field(default_factory=dict)

    async def respond(self, request: Request) -> Response:
        """The handler's response, or the status its error table gives the failure."""
        try:
            return await self.handle(request)
        except Exception as exc:
            for outcome in self.errors:
                if isinstance(exc, outcome.error):
                    if outcome.status >= 500:
                        REFUSALS.refused(outcome.status, exc)
                    return error(outcome.status, outcome.detail if outcome.detail is not None else str(exc))
            raise

    def openapi_responses(self) -> dict[int | str, dict[str, Any]]:
        """The success response and one entry per error status, listing every failure that gives it."""
        responses: dict[int | str, dict[str, Any]] = {self.success_status: dict(self.success_doc)}
        by_status: dict[int, list[str]] = {}
        for outcome in self.errors:
            by_status.setdefault(outcome.status, []).append(outcome.description)
        for status, descriptions in by_status.items():
            responses[status] = {"model": ErrorOut, "description": "; ".join(descriptions)}
        return responses


#: Every read route answers a storage outage the same way.
STORAGE_UNAVAILABLE = ErrorOutcome(
    StorageUnavailable, 503, "storage unavailable; retry", "storage is unavailable; retry later"
)
