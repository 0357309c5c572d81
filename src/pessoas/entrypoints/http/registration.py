"""The route table registered with FastAPI: what /docs and /openapi.json describe, and what serves
a contract route whenever the fast dispatch is off."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from pessoas.entrypoints.http.contract_route import ContractRoute, Handler


def register_routes(app: FastAPI, routes: Iterable[ContractRoute]) -> dict[str, APIRoute]:
    """Adds each route to ``app``; returns the registered FastAPI route of each, by name."""
    registered: dict[str, APIRoute] = {}
    for route in routes:
        app.add_api_route(
            route.path,
            _endpoint(route),
            methods=[route.method],
            name=route.name,
            summary=route.summary,
            description=route.description,
            status_code=route.success_status,
            response_class=route.response_class,
            responses=route.openapi_responses(),
            openapi_extra=dict(route.openapi_extra),
        )
        added = app.router.routes[-1]
        assert isinstance(added, APIRoute)
        registered[route.name] = added
    return registered


def _endpoint(route: ContractRoute) -> Handler:
    # The endpoint takes the request alone: FastAPI then validates nothing and documents no
    # parameter of its own; the route's openapi_extra documents what the handler reads.
    async def endpoint(request: Request) -> Response:
        return await route.respond(request)

    endpoint.__name__ = route.name
    return endpoint
