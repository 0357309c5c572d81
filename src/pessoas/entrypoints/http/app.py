"""Builds the FastAPI application around a container."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI
from starlette.types import ASGIApp

from pessoas.container import Container, build_container
from pessoas.domain.errors import StorageUnavailable
from pessoas.entrypoints.http import docs, health, ready
from pessoas.entrypoints.http.fast_dispatch import FastDispatch
from pessoas.entrypoints.http.observed import add_observability
from pessoas.entrypoints.http.registration import register_routes
from pessoas.entrypoints.http.routes import contract_routes

logger = logging.getLogger(__name__)


def create_app(container: Container | None = None, *, fast_dispatch: bool = True) -> FastAPI:
    """The API over ``container`` (built from settings when not given).

    ``fast_dispatch=False`` leaves the contract routes to FastAPI's own router: the tests run the
    contract both ways, so the two paths cannot drift apart.
    """
    container = container if container is not None else build_container()
    readiness = container.readiness()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Pools and connections open here, inside the server's event loop, and close with it.
        await _maybe_await(container.init_resources())
        try:
            await container.queue.at_start()
        except StorageUnavailable as exc:
            logger.warning("the start-up pass of the search index did not run: %s", exc)
        await readiness.refresh()
        readiness.start()
        try:
            yield
        finally:
            await readiness.stop()
            # Creations in hand commit and announce before the pools close.
            await container.create_pessoa().settle()
            await _maybe_await(container.shutdown_resources())

    app = PessoasAPI(
        title="pessoas",
        version=version("pessoas"),
        summary="Stores and finds pessoas under heavy load.",
        lifespan=lifespan,
        # "/pessoas/" is an empty id (404), not a redirect to the search route.
        redirect_slashes=False,
        # No OpenTelemetry here (metrics are Prometheus'): off, FastAPI skips a per-request look
        # at the environment for configured providers.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # Served by docs.install from the package's own files, not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    routes = contract_routes(container)
    registered = register_routes(app, routes)
    app.include_router(health.router)
    app.include_router(ready.build_router(readiness))
    docs.install(app)
    # Added first, so it is the innermost middleware: whatever is added later wraps it too.
    app.add_middleware(FastDispatch, routes=routes if fast_dispatch else (), registered=registered)
    add_observability(app, container.settings())
    return app


class PessoasAPI(FastAPI):
    """FastAPI with the app's middleware outside FastAPI's own, instead of inside it.

    FastAPI wraps the middleware added to an app in its error, telemetry and body-limit layers.
    Here those layers wrap only FastAPI's router: the contract routes, answered by the fast
    dispatch (the innermost added middleware), pass through the added middleware alone. The
    outermost added middleware (``ObservedRequests``) answers and logs an unhandled error with a
    500, which is what FastAPI's error layer would have done for it.
    """

    def build_middleware_stack(self) -> ASGIApp:
        added, self.user_middleware = self.user_middleware, []
        try:
            app = super().build_middleware_stack()
        finally:
            self.user_middleware = added
        for cls, args, kwargs in reversed(added):
            app = cls(app, *args, **kwargs)
        return app


async def _maybe_await(result: object) -> None:
    # dependency-injector returns an awaitable only when some resource is asynchronous.
    if hasattr(result, "__await__"):
        await result
