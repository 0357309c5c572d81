"""/ready on the real services: 503 within seconds of a service going away, 200 again once it is back.

Each service is reached through a proxy the test cuts and restores, so the shared services keep
running for everyone else. For Redis, the cut also empties this test's keys, as a restart of a
Redis without persistence does: /ready then stays 503 until the reservations are restored, which
the readiness loop itself starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
import redis.asyncio as redis
from asgi_lifespan import LifespanManager
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pessoas.container import build_container
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings
from tests.integration.conftest import REDIS_URL
from tests.integration.cuttable_proxy import CuttableProxy
from tests.integration.rabbitmq_fixtures import AMQP_URL, queue_name

pytestmark = pytest.mark.integration

__all__ = ["queue_name"]  # a fixture, re-exported for pytest

BODY = {"apelido": "prontidão", "nome": "Pronta", "nascimento": "2000-10-01", "stack": None}
# How long /ready may take to follow a change: a few readiness intervals plus a probe's timeout
# (and, for Redis and at start, the restore's proof that the queues drained: the publish fence,
# then four rounds of the broker's statistics, each more than two statistics intervals apart).
FOLLOW_SECONDS = 90.0


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


@pytest.mark.parametrize("service", ["queue", "cache", "storage"])
async def test_ready_follows_a_service_going_away_and_coming_back(
    service, schema, redis_prefix, queue_name, pool, redis_client
):
    if service == "queue":
        proxy = CuttableProxy(*_host_port(AMQP_URL))
    elif service == "cache":
        proxy = CuttableProxy(*_host_port(REDIS_URL))
    else:
        dsn = conninfo_to_dict(schema)
        proxy = CuttableProxy(str(dsn.get("host", "127.0.0.1")), int(dsn.get("port", 5432)))
    await proxy.start()
    settings = Settings(
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
        publish_deadline=1.0,  # the restore's fence: kept short
    )
    try:
        async with instance(settings) as api:
            await _until(api, 200)

            await proxy.cut()
            if service == "cache":
                await _forget_everything(redis_client, redis_prefix)  # what a restart leaves
            _, body = await _until(api, 503)
            assert any(reason.startswith(f"{service}:") for reason in body["reasons"]), body
            if service != "storage":  # creations need the cache and the queue, not storage
                assert (await api.post("/pessoas", json=BODY)).status_code == 503

            await proxy.start()
            await _until(api, 200)
            if service != "storage":
                assert (await api.post("/pessoas", json=BODY)).status_code == 201
    finally:
        await proxy.cut()


async def _forget_everything(client: redis.Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
