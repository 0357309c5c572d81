"""Builds the FastAPI application around a container."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI

from pessoas.container import Container, build_container
from pessoas.domain.errors import StorageUnavailable
from pessoas.entrypoints.http import docs, health, ready
from pessoas.entrypoints.http.contract_route import register_routes
from pessoas.entrypoints.http.observed import add_observability
from pessoas.entrypoints.http.routes import contract_routes
from pessoas.entrypoints.http.schemas import document_schemas

logger = logging.getLogger(__name__)


def create_app(container: Container | None = None) -> FastAPI:
    """The API over ``container`` (built from settings when not given)."""
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

    app = FastAPI(
        title="pessoas",
        version=version("pessoas"),
        summary="Stores and finds pessoas under heavy load.",
        lifespan=lifespan,
        # "/pessoas/" is an empty id (404), not a redirect to the search route.
        redirect_slashes=False,
        # No OpenTelemetry here (metrics are Prometheus'): off, FastAPI skips a per-request look
        # at the environment for configured providers.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # One schema per model, named as the model: a client generator reads NewPessoa and Pessoa.
        separate_input_output_schemas=False,
        # Served by docs.install from the package's own files, not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    register_routes(app, contract_routes(container))
    document_schemas(app)
    app.include_router(health.router)
    app.include_router(ready.build_router(readiness))
    docs.install(app)
    add_observability(app, container.settings())
    return app


async def _maybe_await(result: object) -> None:
    # dependency-injector returns an awaitable only when some resource is asynchronous.
    if hasattr(result, "__await__"):
        await result
