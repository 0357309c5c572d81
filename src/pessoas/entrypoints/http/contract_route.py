"""One contract route, declared once: its method and path, its handler and its error-to-status table.

The FastAPI registration is generated from these declarations (:func:`register_routes`), so what
/docs and /openapi.json show is what runs, and an error's status is written in one place.

Each route is served by :class:`ContractAPIRoute`, FastAPI's ``APIRoute`` customised through the
public methods FastAPI documents for that ("Custom Request and APIRoute class"): its handler is
the route's own ``respond``, which reads the request itself, so no dependency solving or
validation runs per request. Its ``handle`` (Starlette's public route method) calls that handler
directly: with no dependency to close, the two exit stacks and the exception wrapper FastAPI's
generic request wrapper opens for every request have nothing to do (docs/performance-log.md
measures the saving). Its base, :class:`HeadServingRoute` (also under /health and
/ready), answers HEAD wherever GET is answered (RFC 9110; the server leaves the body out), and a
method the path does not serve with 405 and an ``Allow`` listing every method the path serves,
not only those of the route Starlette's router happened to match first.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from pessoas.domain.errors import StorageUnavailable
from pessoas.entrypoints.http.refusal_log import REFUSALS
from pessoas.entrypoints.http.responses import OrjsonResponse, error

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

#: The error body, as every error response of the API documents it.
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


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
    path: str
    #: The OpenAPI operationId.
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
            # The content is written out rather than given as a model: FastAPI would file a
            # model under the route's success media type, which is text/plain for the count.
            responses[status] = {"description": "; ".join(descriptions), "content": ERROR_CONTENT}
        return responses


#: Every read route answers a storage outage the same way.
STORAGE_UNAVAILABLE = ErrorOutcome(
    StorageUnavailable, 503, "storage unavailable; retry", "storage is unavailable; retry later"
)


class HeadServingRoute(APIRoute):
    """FastAPI's route, answering HEAD wherever it answers GET, and 405 with the path's ``Allow``."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        #: The methods this route answers: its own, and HEAD with GET.
        self.serves = _with_head(set(self.methods or ()))
        #: Every method served on this route's path, for the ``Allow`` of a 405 (register_routes
        #: widens it where routes share a path).
        self.allowed = tuple(sorted(self.serves))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is Match.PARTIAL and scope["method"] in self.serves:
            return Match.FULL, child_scope
        return match, child_scope

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] in self.serves:
            await self.app(scope, receive, send)
            return
        response = error(405, "method not allowed")
        response.headers["Allow"] = ", ".join(self.allowed)
        await response(scope, receive, send)


class ContractAPIRoute(HeadServingRoute):
    """A route whose endpoint is a :meth:`ContractRoute.respond`: called with the request alone."""

    def get_route_handler(self) -> Handler:
        handler: Handler = self.endpoint
        return handler

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in self.serves:
            await super().handle(scope, receive, send)
            return
        # An error the route's table does not map propagates to Starlette's error layers, as it
        # would from FastAPI's wrapper: a 500, logged once by the observing middleware.
        response = await self.endpoint(Request(scope, receive, send))
        await response(scope, receive, send)


def register_routes(app: FastAPI, routes: Iterable[ContractRoute]) -> None:
    """Adds each route to ``app``, served by a :class:`ContractAPIRoute`."""
    routes = tuple(routes)
    on_path: dict[str, set[str]] = {}
    for route in routes:
        on_path.setdefault(route.path, set()).add(route.method)
    for route in routes:
        app.router.add_api_route(
            route.path,
            route.respond,
            methods=[route.method],
            name=route.name,
            operation_id=route.name,
            summary=route.summary,
            description=route.description,
            status_code=route.success_status,
            response_class=route.response_class,
            responses=route.openapi_responses(),
            openapi_extra=dict(route.openapi_extra),
            route_class_override=ContractAPIRoute,
        )
        registered = app.router.routes[-1]
        assert isinstance(registered, ContractAPIRoute)
        registered.allowed = tuple(sorted(_with_head(on_path[route.path])))


def _with_head(methods: set[str]) -> frozenset[str]:
    return frozenset(methods | {"HEAD"} if "GET" in methods else methods)
