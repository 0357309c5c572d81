"""GET /ready: 200 while this instance's storage answers, 503 while it does not.

What load balancers and orchestrators should route by; ``/health`` stays liveness (the process
serves). The answer is the background readiness loop's last check, so a probe costs no round trip.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from pessoas.application.readiness import Readiness
from pessoas.entrypoints.http.contract_route import HeadServingRoute
from pessoas.entrypoints.http.responses import OrjsonResponse

_STATE = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {
                "ready": {"type": "boolean"},
                "reasons": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["ready", "reasons"],
        }
    }
}


def build_router(readiness: Readiness) -> APIRouter:
    router = APIRouter(route_class=HeadServingRoute)

    @router.get(
        "/ready",
        summary="Readiness",
        operation_id="ready",
        responses={
            200: {"content": _STATE},
            503: {
                "description": "this instance's storage does not answer; the reasons say why",
                "content": _STATE,
            },
        },
    )
    async def ready() -> Response:
        state = readiness.state
        return OrjsonResponse(
            {"ready": state.ready, "reasons": list(state.reasons)},
            status_code=200 if state.ready else 503,
        )

    return router
