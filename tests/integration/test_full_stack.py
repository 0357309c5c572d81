"""The whole write path on the real services: two API instances, Redis, RabbitMQ, the worker, PostgreSQL.

Each instance is a separate app with its own container (its own Redis client, publisher and pool),
as two processes behind nginx would be; the worker runs in this process's threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from pessoas.adapters.pessoa_json import pessoa_to_json
from pessoas.adapters.postgres_store import PostgresPessoaStore
from pessoas.adapters.rabbitmq_management import ManagementApi, management_urls_for
from pessoas.adapters.rabbitmq_message import QueueNames
from pessoas.adapters.rabbitmq_queue import RabbitmqPersistenceQueue
from pessoas.container import build_container
from pessoas.domain.errors import StorageUnavailable
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings
from tests.contracts.queue_contract import QueueContract
from tests.integration.conftest import REDIS_URL
from tests.integration.rabbitmq_fixtures import AMQP_URL, amqp_channel, queue_name, start_worker

pytestmark = pytest.mark.integration

__all__ = ["amqp_channel", "queue_name"]  # fixtures, re-exported for pytest

BODY = {"apelido": "josé", "nome": "José Roberto", "nascimento": "2000-10-01", "stack": ["C#", "Node"]}


@pytest.fixture
def settings(schema: str, redis_prefix: str, queue_name: str, pool) -> Settings:
    # ``pool`` empties the table first; the apps below open pools of their own.
    return Settings(
        database_url=schema,
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        amqp_url=AMQP_URL,
        queue_name=queue_name,
        database_pool_min=1,
        database_pool_max=4,
        # The restore after a cache loss waits this deadline first (docs/faults.md): shorter than
        # the default, yet long enough for a burst of 300 creations through one event loop on a
        # slow machine (5 s was missed once in CI: one creation of the burst answered 503).
        publish_deadline=15.0,
    )


@contextlib.asynccontextmanager
async def instance(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(build_container(settings))
    # Longer than the start-up restore's own bound (STARTUP_RESTORE_SECONDS).
    async with LifespanManager(app, startup_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pessoas") as client:
            # Each test's Redis prefix starts empty, as after a loss: creations wait for the restore.
            await until_ready(client)
            yield client


# The restore proves the queues drained before it reopens creations: the publish fence, then four
# rounds of the broker's statistics, each more than two statistics intervals after the last
# (docs/faults.md), and a new queue's statistics take a few seconds to appear.
RESTORE_SECONDS = 90.0


async def until_ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + RESTORE_SECONDS
    while (response := await client.get("/ready")).status_code != 200:
        assert time.monotonic() < deadline, f"not ready after {RESTORE_SECONDS} s: {response.json()}"
        await asyncio.sleep(0.2)


@pytest.fixture
async def worker(settings: Settings):
    running = start_worker(build_container(settings), threads=1)
    try:
        yield running
    finally:
        await asyncio.to_thread(running.stop)


@pytest.fixture
async def api1(settings: Settings, worker) -> AsyncIterator[httpx.AsyncClient]:
    async with instance(settings) as client:
        yield client


@pytest.fixture
async def api2(settings: Settings, worker) -> AsyncIterator[httpx.AsyncClient]:
    async with instance(settings) as client:
        yield client


async def wait_for_count(client: httpx.AsyncClient, expected: int, timeout: float = 10.0) -> float:
    started = time.monotonic()
    while True:
        count = int((await client.get("/contagem-pessoas")).text)
        if count == expected:
            return time.monotonic() - started
        assert count < expected, f"stored {count}, more than the {expected} acknowledged"
        if time.monotonic() - started > timeout:
            raise AssertionError(f"stored {count} of {expected} after {timeout} s")
        await asyncio.sleep(0.01)


async def test_two_instances_racing_on_one_apelido_give_exactly_one_201(api1, api2):
    responses = await asyncio.gather(
        *((api1 if i % 2 else api2).post("/pessoas", json=BODY) for i in range(40))
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1
    assert statuses.count(422) == 39
    await wait_for_count(api1, 1)


async def test_a_pessoa_created_on_one_instance_reads_back_on_the_other_at_once(api1, api2):
    for n in range(30):
        created = await api1.post("/pessoas", json=dict(BODY, apelido=f"rw{n}"))
        assert created.status_code == 201
        read = await api2.get(created.headers["location"])
        assert read.status_code == 200
        assert read.json() == created.json()


async def test_the_count_reaches_the_201s_and_every_pessoa_is_stored_as_created(api1, api2, pool):
    bodies = [dict(BODY, apelido=f"conta{n}", stack=None if n % 3 == 0 else ["Go"]) for n in range(300)]
    bodies += [dict(BODY, apelido="conta1")] * 5 + [dict(BODY, nascimento="2023-02-29")] * 5
    responses = await asyncio.gather(
        *((api1 if n % 2 else api2).post("/pessoas", json=body) for n, body in enumerate(bodies))
    )
    created = [r.json() for r in responses if r.status_code == 201]
    assert len(created) == 300, sorted({(r.status_code, r.text) for r in responses if r.status_code != 201})
    assert sorted(r.status_code for r in responses if r.status_code != 201) == [422] * 10
    converged_after = await wait_for_count(api2, len(created))
    assert converged_after < 1.0
    store = PostgresPessoaStore(pool)
    for pessoa in created:
        assert pessoa_to_json(await store.get(uuid.UUID(pessoa["id"]))) == pessoa
    found = (await api1.get("/pessoas", params={"t": "CONTA2"})).json()
    assert len(found) == 50  # 111 match: conta2, conta20..29, conta200..299
    assert all("conta2" in p["apelido"] for p in found)
    assert (await api1.get("/pessoas", params={"t": "conta299"})).json()[0]["apelido"] == "conta299"


async def test_an_instance_started_on_an_empty_redis_restores_the_reservations(
    settings, worker, redis_client
):
    async with instance(settings) as api:
        assert (await api.post("/pessoas", json=BODY)).status_code == 201
        await wait_for_count(api, 1)
    # Redis restarts empty while no instance runs; the next instance restores before serving.
    keys = [key async for key in redis_client.scan_iter(match=f"{settings.redis_prefix}*")]
    await redis_client.delete(*keys)
    async with instance(settings) as api:
        assert (await api.post("/pessoas", json=BODY)).status_code == 422
        assert (await api.post("/pessoas", json=dict(BODY, apelido="outro"))).status_code == 201


async def test_a_redis_emptied_under_a_running_instance_answers_503_then_recovers(
    api1, settings, redis_client
):
    assert (await api1.post("/pessoas", json=BODY)).status_code == 201
    keys = [key async for key in redis_client.scan_iter(match=f"{settings.redis_prefix}*")]
    await redis_client.delete(*keys)
    refused = await api1.post("/pessoas", json=BODY)
    assert refused.status_code == 503
    # The restore proves the queues drained first: the fence, then four rounds of the broker's
    # statistics, each more than two statistics intervals after the last (docs/faults.md).
    deadline = time.monotonic() + RESTORE_SECONDS
    while True:
        again = await api1.post("/pessoas", json=BODY)
        if again.status_code != 503:
            break
        assert time.monotonic() < deadline, "creations did not resume after the restore"
        await asyncio.sleep(0.1)
    assert again.status_code == 422  # the apelido came back from storage
    await wait_for_count(api1, 1)


class TestRabbitmqQueueContract(QueueContract):
    """The queue contract over RabbitMQ and the worker, storing into PostgreSQL."""

    @pytest.fixture
    async def queue(self, settings, worker) -> AsyncIterator[RabbitmqPersistenceQueue]:
        queue = RabbitmqPersistenceQueue(
            AMQP_URL,
            settings.queue_name,
            window_ms=1,
            publish_deadline=settings.publish_deadline,
            management=ManagementApi(
                management_urls_for([AMQP_URL]), "/", QueueNames.of(settings.queue_name)
            ),
        )
        await queue.open()
        try:
            yield queue
        finally:
            await queue.close()

    @pytest.fixture
    def delivered(self, queue, pool):
        async def wait_for_storage():
            await queue.wait_until_stored()
            return PostgresPessoaStore(pool)

        return wait_for_storage


async def test_waiting_for_storage_fails_at_once_when_the_management_api_is_unreachable(queue_name):
    management = ManagementApi(["http://guest:guest@127.0.0.1:1/"], "/", QueueNames.of(queue_name))
    queue = RabbitmqPersistenceQueue(AMQP_URL, queue_name, management=management)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="management API"):
        await queue.wait_until_stored()
    assert time.monotonic() - started < 5  # the first round fails: no fence is waited for nothing


async def test_without_a_management_api_waiting_for_storage_refuses(queue_name):
    with pytest.raises(StorageUnavailable, match="management API"):
        await RabbitmqPersistenceQueue(AMQP_URL, queue_name).wait_until_stored()
