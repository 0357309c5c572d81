"""The contract's four routes, dispatched without FastAPI's per-request machinery.

FastAPI's middleware stack, router and parameter solving cost about 110 us of CPU per request
(measured: a bare ASGI app on the same uvicorn answered in 31 us of server CPU, a FastAPI route
doing no work in 142 us). Under the reference load that is a tenth of the whole 1.5-CPU
envelope. So the app is this thin dispatcher in front of FastAPI: it recognises the four routes
by method and path and calls the very endpoint functions that FastAPI registers and documents,
with the same parameters FastAPI would extract. Everything else (docs, OpenAPI, health, unknown
paths and methods, lifespan) goes to the FastAPI app unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from pessoas.entrypoints.http.count_pessoas import CountEndpoint
from pessoas.entrypoints.http.create_pessoa import CreateEndpoint
from pessoas.entrypoints.http.get_pessoa import GetEndpoint
from pessoas.entrypoints.http.search_pessoas import SearchEndpoint

_ID_PREFIX = "/pessoas/"


class ContractFastLane:
    def __init__(
        self,
        app: ASGIApp,
        create: CreateEndpoint,
        get: GetEndpoint,
        search: SearchEndpoint,
        count: CountEndpoint,
    ) -> None:
        self.app = app
        self._create = create
        self._get = get
        self._search = search
        self._count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            response = await self._dispatch(scope, receive)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive) -> Response | None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/pessoas":
            if method == "POST":
                self._matched(scope, "/pessoas")
                return await self._create(Request(scope, receive))
            if method == "GET":
                self._matched(scope, "/pessoas")
                # As FastAPI reads an optional query parameter: the last value given wins.
                return await self._search(QueryParams(scope["query_string"]).get("t"))
        elif method == "GET":
            if path == "/contagem-pessoas":
                self._matched(scope, "/contagem-pessoas")
                return await self._count()
            if path.startswith(_ID_PREFIX):
                pessoa_id = path[len(_ID_PREFIX) :]
                # The same match as FastAPI's "/pessoas/{pessoa_id}": one non-empty segment.
                if pessoa_id and "/" not in pessoa_id:
                    self._matched(scope, "/pessoas/{pessoa_id}")
                    return await self._get(pessoa_id)
        return None

    @staticmethod
    def _matched(scope: Scope, template: str) -> None:
        # As FastAPI's router does on a match, so that middleware can tell which route answered
        # (the metrics label requests by the route's path template).
        scope["route"] = _ROUTES[template]


@dataclass(frozen=True)
class _MatchedRoute:
    path: str


_ROUTES = {path: _MatchedRoute(path) for path in ("/pessoas", "/pessoas/{pessoa_id}", "/contagem-pessoas")}
