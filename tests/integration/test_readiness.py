"""/ready on the real services: it follows storage (PostgreSQL), and only storage.

Each service is reached through a proxy the test cuts and restores, so the shared services keep
running for everyone else. Without PostgreSQL no route can keep its word, so /ready answers 503
within seconds and 200 again once it is back. Redis and RabbitMQ are needed by no promise: while
either is away (for Redis, its keys gone too, as a restart without persistence leaves it) the
instance stays ready and keeps creating pessoas.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pessoas.container import build_container
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings
from tests.integration.conftest import REDIS_URL, forget_prefix
from tests.integration.cuttable_proxy import CuttableProxy
from tests.integration.rabbitmq_fixtures import AMQP_URL, queue_name

pytestmark = pytest.mark.integration

__all__ = ["queue_name"]  # a fixture, re-exported for pytest

BODY = {"apelido": "prontidão", "nome": "Pronta", "nascimento": "2000-10-01", "stack": None}
# How long /ready may take to follow a change: a few readiness intervals (0.2 s here) plus a
# probe's timeout (2 s) and the pool's wait for a connection.
FOLLOW_SECONDS = 15.0
# How long an instance is watched to stay ready while a service it can do without is away.
STAYS_READY_SECONDS = 1.0


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 0


def _through(url: str, proxy: CuttableProxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    address = f"127.0.0.1:{proxy.port}"
    return parts._replace(netloc=f"{netloc[0]}@{address}" if len(netloc) == 2 else address).geturl()


@contextlib.asynccontextmanager
async def instance(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(build_container(settings))
    async with LifespanManager(app, startup_timeout=40, shutdown_timeout=40) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pessoas") as client:
            yield client


async def _until(client: httpx.AsyncClient, status: int) -> tuple[float, dict]:
    started = time.monotonic()
    while True:
        response = await client.get("/ready")
        if response.status_code == status:
            return time.monotonic() - started, response.json()
        if time.monotonic() - started > FOLLOW_SECONDS:
            pytest.fail(f"/ready still {response.status_code} after {FOLLOW_SECONDS}s: {response.json()}")
        await asyncio.sleep(0.1)


async def _created_once_storage_is_tried_again(client: httpx.AsyncClient) -> httpx.Response:
    deadline = time.monotonic() + FOLLOW_SECONDS
    while (created := await client.post("/pessoas", json=BODY)).status_code == 503:
        assert time.monotonic() < deadline, f"creations still refused after {FOLLOW_SECONDS} s"
        await asyncio.sleep(0.1)
    assert created.status_code == 201, created.text
    return created


async def _stays(client: httpx.AsyncClient, status: int) -> None:
    deadline = time.monotonic() + STAYS_READY_SECONDS
    while time.monotonic() < deadline:
        response = await client.get("/ready")
        assert response.status_code == status, response.json()
        await asyncio.sleep(0.05)


def _settings(
    schema: str, redis_prefix: str, queue_name: str, proxy: CuttableProxy, service: str
) -> Settings:
    return Settings(
        database_url=make_conninfo(schema, host="127.0.0.1", port=proxy.port)
        if service == "storage"
        else schema,
        redis_url=_through(REDIS_URL, proxy) if service == "cache" else REDIS_URL,
        redis_prefix=redis_prefix,
        amqp_url=_through(AMQP_URL, proxy) if service == "queue" else AMQP_URL,
        queue_name=queue_name,
        database_pool_min=1,
        database_pool_max=2,
        ready_interval=0.2,
    )


async def test_ready_follows_storage_going_away_and_coming_back(schema, redis_prefix, queue_name, pool):
    dsn = conninfo_to_dict(schema)
    proxy = CuttableProxy(str(dsn.get("host", "127.0.0.1")), int(dsn.get("port", 5432)))
    await proxy.start()
    try:
        async with instance(_settings(schema, redis_prefix, queue_name, proxy, "storage")) as api:
            _, body = await _until(api, 200)
            assert body == {"ready": True, "reasons": []}

            await proxy.cut()
            _, body = await _until(api, 503)
            assert body["ready"] is False
            assert [reason.split(":")[0] for reason in body["reasons"]] == ["storage"], body
            # No commit, no promise: a creation is refused, not acknowledged.
            assert (await api.post("/pessoas", json=BODY)).status_code == 503

            await proxy.start()
            await _until(api, 200)
            # Creations may still be refused for a moment (the pause after an outage), never
            # acknowledged without their commit; then they are taken again.
            created = await _created_once_storage_is_tried_again(api)
            assert (await api.get(created.headers["location"])).status_code == 200
    finally:
        await proxy.cut()


@pytest.mark.parametrize("service", ["queue", "cache"])
async def test_an_instance_stays_ready_and_creates_while_a_service_it_can_do_without_is_away(
    service, schema, redis_prefix, queue_name, pool, redis_client
):
    proxy = CuttableProxy(*_host_port(AMQP_URL if service == "queue" else REDIS_URL))
    await proxy.start()
    try:
        async with instance(_settings(schema, redis_prefix, queue_name, proxy, service)) as api:
            await _until(api, 200)
            before = await api.post("/pessoas", json=BODY)
            assert before.status_code == 201

            await proxy.cut()
            if service == "cache":
                await forget_prefix(redis_client, redis_prefix)  # what a restart leaves
            await _stays(api, 200)
            # A 201 rests on PostgreSQL alone: creations go on, reads by id and the count too,
            # and the apelido is still decided (by the unique index).
            during = await api.post("/pessoas", json=dict(BODY, apelido="durante"))
            assert during.status_code == 201, during.text
            assert (await api.post("/pessoas", json=BODY)).status_code == 422
            for created in (before, during):
                read = await api.get(created.headers["location"])
                assert read.status_code == 200
                assert read.json() == created.json()
            assert (await api.get("/contagem-pessoas")).text == "2"

            await proxy.start()
            await _stays(api, 200)
            assert (await api.post("/pessoas", json=dict(BODY, apelido="depois"))).status_code == 201
    finally:
        await proxy.cut()
