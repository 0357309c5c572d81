"""The contract's routes dispatched straight to their handlers, inside FastAPI's middleware stack.

FastAPI's router and parameter solving cost more CPU per request than the work of a contract
route itself (docs/performance.md has the measurement), so this middleware recognises the routes
of the route table by method and path and answers them at once. It sits innermost among the
app's middleware: every middleware added to the app (request ids, metrics) still wraps the four
routes. Everything else (docs, OpenAPI, health, unknown paths and methods) goes on to FastAPI's
router. It also answers HEAD wherever GET is answered (RFC 9110): the server drops the body of
a response to HEAD, so the request is passed on as a GET.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from pessoas.entrypoints.http.contract_route import ContractRoute

_Target = tuple[ContractRoute, BaseRoute]


class FastDispatch:
    def __init__(
        self, app: ASGIApp, routes: Iterable[ContractRoute], registered: Mapping[str, BaseRoute]
    ) -> None:
        self.app = app
        self._exact: dict[tuple[str, str], _Target] = {}
        # (method, prefix, parameter): a path of the prefix plus one non-empty segment, matched as
        # FastAPI matches "/prefix/{parameter}".
        self._by_prefix: list[tuple[str, str, str, _Target]] = []
        for route in routes:
            target = (route, registered[route.name])
            if "{" not in route.path:
                self._exact[(route.method, route.path)] = target
                continue
            prefix, _, parameter = route.path.partition("{")
            if not parameter.endswith("}") or "/" in parameter or not prefix.endswith("/"):
                raise ValueError(f"the fast dispatch takes one final path parameter, not {route.path!r}")
            self._by_prefix.append((route.method, prefix, parameter[:-1], target))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            # A copy: the server reads its own scope's method to leave the body out. The route
            # found is copied back for the middleware outside (metrics label by route).
            as_get = dict(scope, method="GET")
            await self._dispatch(as_get, receive, send)
            if "route" in as_get:
                scope["route"] = as_get["route"]
            return
        await self._dispatch(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = self._match(scope)
            if target is not None:
                route, registered = target
                scope["route"] = registered
                response = await route.respond(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _match(self, scope: Scope) -> _Target | None:
        method: str = scope["method"]
        path: str = scope["path"]
        target = self._exact.get((method, path))
        if target is not None:
            return target
        for route_method, prefix, parameter, candidate in self._by_prefix:
            if method == route_method and path.startswith(prefix):
                value = path[len(prefix) :]
                if value and "/" not in value:
                    scope["path_params"] = {parameter: value}
                    return candidate
        return None
