"""Builds the FastAPI application around a container."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from pessoas.container import Container, build_container
from pessoas.domain.errors import StorageUnavailable
from pessoas.entrypoints.http import (
    count_pessoas,
    create_pessoa,
    docs,
    get_pessoa,
    health,
    ready,
    search_pessoas,
)
from pessoas.entrypoints.http.fast_lane import ContractFastLane
from pessoas.entrypoints.http.observed import observed

logger = logging.getLogger(__name__)

STARTUP_RESTORE_SECONDS = 30.0


def create_app(container: Container | None = None) -> ASGIApp:
    container = container if container is not None else build_container()
    readiness = container.readiness()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Pools and connections open here, inside the server's event loop, and close with it.
        await _maybe_await(container.init_resources())
        # A cache that starts empty (first start, or Redis restarted while no API ran) gets its
        # reservations back before this instance accepts creations. Bounded: if storage is slow
        # to settle, creations answer 503 and the first of them restarts the restore.
        try:
            async with asyncio.timeout(STARTUP_RESTORE_SECONDS):
                await container.restore_reservations()()
        except (TimeoutError, StorageUnavailable):
            logger.warning("apelido reservations not restored at start-up; retrying on demand")
        await readiness.refresh()
        readiness.start()
        try:
            yield
        finally:
            await readiness.stop()
            await _maybe_await(container.shutdown_resources())

    app = FastAPI(
        title="pessoas",
        version="0.1.0",
        summary="Stores and finds pessoas under heavy load.",
        lifespan=lifespan,
        # "/pessoas/" is an empty id (404), not a redirect to the search route.
        redirect_slashes=False,
        # Served by docs.install from the package's own files, not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    # Each route receives its use case once, here: the request path then touches no dependency
    # machinery (FastAPI would run dependency-injector's sync markers on a worker thread for
    # every request, which costs more than the work itself).
    create = create_pessoa.build_endpoint(container.create_pessoa())
    get = get_pessoa.build_endpoint(container.get_pessoa())
    search = search_pessoas.build_endpoint(container.search_pessoas())
    count = count_pessoas.build_endpoint(container.count_pessoas())
    app.include_router(create_pessoa.build_router(create))
    app.include_router(get_pessoa.build_router(get))
    app.include_router(search_pessoas.build_router(search))
    app.include_router(count_pessoas.build_router(count))
    app.include_router(health.router)
    app.include_router(ready.build_router(readiness))
    docs.install(app)
    return observed(
        ContractFastLane(app, create=create, get=get, search=search, count=count), container.settings()
    )


async def _maybe_await(result: object) -> None:
    # dependency-injector returns an awaitable only when some resource is asynchronous.
    if hasattr(result, "__await__"):
        await result
