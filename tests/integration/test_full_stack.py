"""The whole service on the real services: two API instances, Redis, RabbitMQ, the worker, PostgreSQL.

Each instance is a separate app with its own container (its own Redis client, publisher and pool),
as two processes behind nginx would be; the worker runs in this process's threads, built by the
same composition root. A 201 rests on PostgreSQL's commit alone: what Redis and RabbitMQ are told
afterwards may be lost, and the tests below lose it on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
import redis.asyncio as redis
from asgi_lifespan import LifespanManager
from dependency_injector import providers

from pessoas.adapters.pessoa_json import pessoa_to_json
from pessoas.adapters.postgres_store import PostgresPessoaStore
from pessoas.adapters.rabbitmq_message import QueueNames
from pessoas.adapters.rabbitmq_queue import RabbitmqIndexQueue
from pessoas.container import build_container
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings
from tests.contracts.queue_contract import QueueContract
from tests.integration.conftest import REDIS_URL, forget_prefix, keys_under, wait_for
from tests.integration.cuttable_proxy import CuttableProxy
from tests.integration.processes import running_api, service_env
from tests.integration.processes import running_worker as running_worker_process
from tests.integration.rabbitmq_fixtures import (
    AMQP_URL,
    RunningWorker,
    amqp_channel,
    queue_depth,
    queue_name,
    start_worker,
)

pytestmark = pytest.mark.integration

__all__ = ["amqp_channel", "queue_name"]  # fixtures, re-exported for pytest

BODY = {"apelido": "josé", "nome": "José Roberto", "nascimento": "2000-10-01", "stack": ["C#", "Node"]}
# How long search may trail a commit here: the publish window and a message, or at worst three
# reconciler passes (0.2 s apart), with room for a slow machine.
SEARCH_LAG_SECONDS = 5.0


@pytest.fixture
def settings(schema: str, redis_prefix: str, queue_name: str, pool) -> Settings:
    # ``pool`` empties the tables first; the apps below open pools of their own.
    return Settings(
        database_url=schema,
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        amqp_url=AMQP_URL,
        queue_name=queue_name,
        database_pool_min=1,
        database_pool_max=4,
        publish_window_ms=2,
        reconcile_interval=0.2,
        ready_interval=0.2,
    )


@contextlib.asynccontextmanager
async def instance(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(build_container(settings))
    try:
        async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://pessoas") as client:
                # Ready as soon as PostgreSQL answers: nothing to restore, whatever Redis holds.
                assert (await client.get("/ready")).status_code == 200
                yield client
    except TimeoutError:
        # A start-up or shutdown that hangs: show where every task of the loop waits.
        for task in asyncio.all_tasks():
            task.print_stack(file=sys.stderr)
        raise


@contextlib.asynccontextmanager
async def running_worker(settings: Settings, reconciler: bool = True) -> AsyncIterator[RunningWorker]:
    container = build_container(settings)
    if not reconciler:
        # Only the messages index: what the queue delivers is then all that search finds.
        async def no_pass() -> int:
            return 0

        container.reconcile_index.override(providers.Object(no_pass))
    running = start_worker(container, threads=1)
    try:
        yield running
    finally:
        await asyncio.to_thread(running.stop)


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[RunningWorker]:
    async with running_worker(settings) as running:
        yield running


@pytest.fixture
async def api1(settings: Settings, worker) -> AsyncIterator[httpx.AsyncClient]:
    async with instance(settings) as client:
        yield client


@pytest.fixture
async def api2(settings: Settings, worker) -> AsyncIterator[httpx.AsyncClient]:
    async with instance(settings) as client:
        yield client


async def count(client: httpx.AsyncClient) -> int:
    response = await client.get("/contagem-pessoas")
    assert response.status_code == 200
    return int(response.text)


async def all_found(client: httpx.AsyncClient, created: list[dict]) -> bool:
    """Whether search finds every created pessoa (each searched by its apelido).

    An apelido inside others' (conta1 in conta10...) may match more than the 50 a search returns:
    such an answer, full of other matches, cannot tell; the tests check the search table as well.
    """
    for pessoa in created:
        found = (await client.get("/pessoas", params={"t": pessoa["apelido"]})).json()
        if pessoa not in found and len(found) < 50:
            return False
    return True


async def all_indexed(pool, created: list[dict]) -> bool:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM pessoas_search WHERE id = ANY(%s::uuid[])", ([p["id"] for p in created],)
        )
        row = await cursor.fetchone()
    return row[0] == len(created)


async def create_many(clients: list[httpx.AsyncClient], bodies: list[dict]) -> list[dict]:
    responses = await asyncio.gather(
        *(clients[n % len(clients)].post("/pessoas", json=body) for n, body in enumerate(bodies))
    )
    assert [r.status_code for r in responses] == [201] * len(bodies), {r.text for r in responses}
    return [r.json() for r in responses]


async def test_two_instances_racing_on_one_apelido_give_exactly_one_201(api1, api2):
    responses = await asyncio.gather(
        *((api1 if i % 2 else api2).post("/pessoas", json=BODY) for i in range(40))
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1
    assert statuses.count(422) == 39
    assert await count(api1) == 1  # at once: the 201 came after the commit


async def test_a_pessoa_created_on_one_instance_reads_back_on_the_other_at_once(api1, api2):
    for n in range(30):
        created = await api1.post("/pessoas", json=dict(BODY, apelido=f"rw{n}"))
        assert created.status_code == 201
        read = await api2.get(created.headers["location"])
        assert read.status_code == 200
        assert read.json() == created.json()


async def test_the_count_equals_the_201s_at_once_and_search_follows(api1, api2, pool):
    bodies = [dict(BODY, apelido=f"conta{n}", stack=None if n % 3 == 0 else ["Go"]) for n in range(300)]
    bodies += [dict(BODY, apelido="conta1")] * 5 + [dict(BODY, nascimento="2023-02-29")] * 5
    responses = await asyncio.gather(
        *((api1 if n % 2 else api2).post("/pessoas", json=body) for n, body in enumerate(bodies))
    )
    created = [r.json() for r in responses if r.status_code == 201]
    assert len(created) == 300, sorted({(r.status_code, r.text) for r in responses if r.status_code != 201})
    assert sorted(r.status_code for r in responses if r.status_code != 201) == [422] * 10
    # Every 201 is a commit: the count has them all the moment the last 201 arrived, on either instance.
    assert await count(api1) == await count(api2) == 300
    store = PostgresPessoaStore(pool)
    for pessoa in created:
        assert pessoa_to_json(await store.get(uuid.UUID(pessoa["id"]))) == pessoa
    # Search trails the commit by an announcement and the worker.
    await wait_for(lambda: all_indexed(pool, created), SEARCH_LAG_SECONDS, "every pessoa in the search table")
    assert await all_found(api1, created)
    found = (await api1.get("/pessoas", params={"t": "CONTA2"})).json()
    assert len(found) == 50  # 111 match: conta2, conta20..29, conta200..299
    assert all("conta2" in p["apelido"] for p in found)


async def test_a_201_is_never_followed_by_a_404_when_redis_loses_everything(
    api1, api2, settings, redis_client: redis.Redis
):
    created = await create_many([api1, api2], [dict(BODY, apelido=f"perdida{n}") for n in range(40)])

    async def all_remembered() -> bool:  # the cache is told after the 201, in the background
        keys = await keys_under(redis_client, settings.redis_prefix)
        return len(keys) == 2 * len(created)

    await wait_for(all_remembered, 5, "the cache told of every creation")
    # What a restart of a Redis without persistence leaves: not one key of this service.
    assert await forget_prefix(redis_client, settings.redis_prefix) == 80
    for n, pessoa in enumerate(created):
        read = await (api2 if n % 2 else api1).get(f"/pessoas/{pessoa['id']}")
        assert read.status_code == 200, read.text  # PostgreSQL answers what the cache forgot
        assert read.json() == pessoa
    # The apelidos are still taken: the unique index decides what the cache no longer knows.
    again = await api1.post("/pessoas", json=dict(BODY, apelido="perdida0"))
    assert again.status_code == 422
    assert await count(api1) == 40


async def test_an_instance_started_on_an_empty_redis_is_ready_and_refuses_a_taken_apelido(
    settings, worker, redis_client
):
    async with instance(settings) as api:
        assert (await api.post("/pessoas", json=BODY)).status_code == 201
    # Redis restarts empty while no instance runs; the next instance is ready at once.
    await forget_prefix(redis_client, settings.redis_prefix)
    async with instance(settings) as api:
        assert (await api.post("/pessoas", json=BODY)).status_code == 422
        assert (await api.post("/pessoas", json=dict(BODY, apelido="outro"))).status_code == 201
        assert await count(api) == 2


async def test_pessoas_whose_announcements_were_purged_are_found_by_the_reconciler(settings, amqp_channel):
    # The announcements reach the queue (no worker is consuming yet), and are purged from it.
    async with instance(settings) as api:
        created = await create_many([api], [dict(BODY, apelido=f"expurgo{n}") for n in range(30)])
        assert await count(api) == 30
    # Leaving the instance sent what it had to announce.
    purged = await amqp_channel.queue_purge(QueueNames.of(settings.queue_name).canonical)
    assert purged.message_count >= 1
    assert await queue_depth(amqp_channel, settings.queue_name) == 0
    async with instance(settings) as api:
        assert (await api.get("/pessoas", params={"t": "expurgo"})).json() == []
        async with running_worker(settings):
            await wait_for(lambda: all_found(api, created), SEARCH_LAG_SECONDS, "the purged pessoas found")


async def test_pessoas_created_while_rabbitmq_is_unreachable_are_found_by_the_reconciler(
    settings, worker, amqp_channel
):
    # The API's RabbitMQ goes away (a proxy, cut); the worker's stays. Creations go on, and the
    # worker's reconciler, which no message reaches, makes them searchable.
    parts = urlsplit(AMQP_URL)
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    await proxy.start()
    cut_off = settings.model_copy(
        update={"amqp_url": parts._replace(netloc=f"guest:guest@127.0.0.1:{proxy.port}").geturl()}
    )
    try:
        async with instance(cut_off) as api:
            await proxy.cut()
            created = await create_many([api], [dict(BODY, apelido=f"sem-rabbit{n}") for n in range(20)])
            assert await count(api) == 20
            for pessoa in created:
                assert (await api.get(f"/pessoas/{pessoa['id']}")).json() == pessoa
            await wait_for(
                lambda: all_found(api, created), SEARCH_LAG_SECONDS, "the unannounced pessoas found"
            )
    finally:
        await proxy.cut()
    assert await queue_depth(amqp_channel, settings.queue_name) == 0  # nothing ever reached it


async def test_the_api_and_worker_processes_keep_every_promise(
    schema, redis_prefix, queue_name, pool, redis_client, amqp_channel, tmp_path
):
    # `pessoas serve` and `pessoas worker` as an operator runs them, on the real services.
    env = service_env(
        schema,
        queue_name,
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        reconcile_interval="0.2",
        publish_window_ms="2",
    )
    async with (
        running_worker_process(env, tmp_path / "worker.log") as worker,
        running_api(env, tmp_path / "api.log") as api,
    ):
        await api.until_ready()
        await worker.until_ready()
        async with httpx.AsyncClient(base_url=api.base_url, timeout=10) as client:
            bodies = [dict(BODY, apelido=f"processo{n}") for n in range(30)]
            created = await create_many([client], bodies)
            # Right after the 201s: the count has them all, and the queue loses what it held.
            assert await count(client) == 30
            await amqp_channel.queue_purge(QueueNames.of(queue_name).canonical)

            async def all_remembered() -> bool:
                keys = await keys_under(redis_client, redis_prefix)
                return len(keys) == 2 * len(created)

            await wait_for(all_remembered, 5, "the cache told of every creation")
            await forget_prefix(redis_client, redis_prefix)
            for pessoa in created:
                read = await client.get(f"/pessoas/{pessoa['id']}")
                assert read.status_code == 200, read.text  # never a 404 after a 201
                assert read.json() == pessoa
            assert (await client.post("/pessoas", json=bodies[0])).status_code == 422
            await wait_for(
                lambda: all_found(client, created), SEARCH_LAG_SECONDS, "every pessoa found by search"
            )
        # uvicorn re-raises the SIGTERM it handled, once its shutdown is complete.
        assert await api.stop() in (0, -signal.SIGTERM), api.output()
        assert "Application shutdown complete" in api.output()
        assert await worker.stop() == 0, worker.output()


class TestRabbitmqQueueContract(QueueContract):
    """The queue contract over RabbitMQ and a worker (without its reconciler) indexing PostgreSQL."""

    @pytest.fixture
    async def queue(self, settings) -> AsyncIterator[RabbitmqIndexQueue]:
        async with running_worker(settings, reconciler=False):
            queue = RabbitmqIndexQueue(AMQP_URL, settings.queue_name, window_ms=1)
            await queue.open()
            try:
                yield queue
            finally:
                await queue.close()

    @pytest.fixture
    def indexed(self, store: PostgresPessoaStore, pool):
        async def all_searchable(ids: list[uuid.UUID]) -> None:
            async def indexed_now() -> bool:
                async with pool.connection() as conn:
                    cursor = await conn.execute(
                        "SELECT count(*) FROM pessoas_search WHERE id = ANY(%s)", (list(set(ids)),)
                    )
                    (found,) = await cursor.fetchone()
                return found == len(set(ids))

            await wait_for(indexed_now, SEARCH_LAG_SECONDS, f"{len(set(ids))} announced pessoas indexed")

        return all_searchable
