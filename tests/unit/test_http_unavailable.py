"""When a backing service fails: storage failing is a 503 that promised nothing; the cache and the
queue failing cost nothing a client can see."""

import logging
import uuid

import httpx
import pytest
from asgi_lifespan import LifespanManager
from dependency_injector import containers, providers

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.memory_queue import DirectIndexQueue
from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.container import Container
from pessoas.domain.errors import StorageUnavailable, StorageUncertain
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings

BODY = {"apelido": "ana", "nome": "Ana", "nascimento": "2000-01-01"}


class FailingWriter:
    """Storage that refuses every commit (``up = True`` hands the commits to ``store``)."""

    def __init__(self, store, error):
        self.store = store
        self.error = error
        self.up = False

    async def add_many(self, pessoas):
        if not self.up:
            raise self.error
        return await self.store.add_many(pessoas)


class DownStore:
    async def get(self, pessoa_id):
        raise StorageUnavailable("database down")

    async def search(self, term, limit):
        raise StorageUnavailable("database down")

    async def count(self):
        raise StorageUnavailable("database down")

    async def check(self):
        raise StorageUnavailable("database down")


class DownCache:
    async def get(self, pessoa_id):
        raise StorageUnavailable("redis down")

    async def holds_apelido(self, apelido):
        raise StorageUnavailable("redis down")

    async def remember(self, pessoas):
        raise StorageUnavailable("redis down")


class DownQueue:
    def __init__(self):
        self.announcements = 0

    async def announce(self, ids):
        self.announcements += 1
        raise StorageUnavailable("broker down")


def _container(*, writer=None, reader=None, cache=None, queue=None) -> Container:
    """The in-memory adapters, with any of the writer, reader, cache or queue replaced by a twin.

    ``writer`` is a function of the in-memory store, which keeps serving the reads and the index.
    """
    store = InMemoryPessoaStore()
    storage = containers.DynamicContainer()
    storage.store = providers.Object(store)
    storage.writer = providers.Object(writer(store) if writer is not None else store)
    storage.reader = providers.Object(reader if reader is not None else store)
    storage.search_index = providers.Object(store)
    cache_group = containers.DynamicContainer()
    cache_group.cache = providers.Object(cache if cache is not None else InMemoryPessoaCache())
    queue_group = containers.DynamicContainer()
    queue_group.queue = providers.Object(queue if queue is not None else DirectIndexQueue(store))

    async def nothing_at_start():
        return None

    queue_group.at_start = providers.Callable(nothing_at_start)
    return Container(
        # No pause after an outage: the tests retry at once once storage is back.
        settings=Settings(
            storage="memory", database_url=None, redis_url=None, amqp_url=None, outage_pause_ms=0
        ),
        storage=storage,
        cache=cache_group,
        queue=queue_group,
    )


@pytest.fixture
async def serve():
    """Starts the app over a container; yields a function that returns its client."""
    running = []

    async def start(container):
        manager = LifespanManager(create_app(container))
        await manager.__aenter__()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://pessoas")
        running.append((manager, http))
        return http

    yield start
    for manager, http in running:
        await http.aclose()
        await manager.__aexit__(None, None, None)


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (StorageUnavailable("database down"), "was not created"),
        (StorageUncertain("commit unconfirmed"), "may or may not"),
    ],
    ids=["unavailable", "uncertain"],
)
async def test_a_creation_storage_did_not_commit_is_503_and_promises_nothing(serve, error, detail):
    container = _container(writer=lambda store: FailingWriter(store, error))
    http = await serve(container)
    refused = await http.post("/pessoas", json=BODY)
    assert refused.status_code == 503
    assert detail in refused.json()["detail"]
    assert "location" not in refused.headers
    await container.create_pessoa().settle()
    assert (await http.get("/contagem-pessoas")).text == "0"
    # Nothing was remembered: once storage is back, the apelido is free.
    assert await container.cache.cache().holds_apelido("ana") is False
    container.storage.writer().up = True
    assert (await http.post("/pessoas", json=BODY)).status_code == 201


async def test_reads_are_503_when_storage_is_down(serve):
    http = await serve(_container(reader=DownStore()))
    assert (await http.get("/pessoas/0a2b64f4-7d45-4b8e-8a0b-4f6c2c7b5c1e")).status_code == 503
    assert (await http.get("/pessoas", params={"t": "a"})).status_code == 503
    assert (await http.get("/contagem-pessoas")).status_code == 503


async def test_ready_is_503_naming_storage_while_storage_is_down(serve):
    http = await serve(_container(reader=DownStore()))
    response = await http.get("/ready")
    assert response.status_code == 503
    assert response.json() == {"ready": False, "reasons": ["storage: database down"]}
    # Liveness is another question: the process serves.
    assert (await http.get("/health")).status_code == 200


async def test_with_the_cache_and_the_queue_down_the_service_still_creates_reads_and_is_ready(serve):
    queue = DownQueue()
    container = _container(cache=DownCache(), queue=queue)
    http = await serve(container)
    created = await http.post("/pessoas", json=BODY)
    assert created.status_code == 201
    await container.create_pessoa().settle()
    assert queue.announcements == 1  # told, and its failure cost nothing
    assert (await http.get(created.headers["location"])).json() == created.json()
    assert (await http.get("/contagem-pessoas")).text == "1"
    # With the cache down, storage's unique apelido still refuses a second one.
    assert (await http.post("/pessoas", json=dict(BODY, nome="Outra"))).status_code == 422
    assert (await http.get("/ready")).json() == {"ready": True, "reasons": []}


async def test_a_pessoa_the_cache_forgot_is_still_read_never_404_after_201(serve):
    container = _container()
    http = await serve(container)
    created = await http.post("/pessoas", json=BODY)
    assert created.status_code == 201
    await container.create_pessoa().settle()
    cache = container.cache.cache()
    assert isinstance(cache, InMemoryPessoaCache)
    assert await cache.get(uuid.UUID(created.json()["id"])) is not None
    cache.forget_everything()  # what a Redis restart does
    response = await http.get(created.headers["location"])
    assert response.status_code == 200
    assert response.json() == created.json()
    # And the apelido is still taken: storage decides.
    assert (await http.post("/pessoas", json=dict(BODY, nome="Outra"))).status_code == 422


class StorageGone(StorageUnavailable):
    """A reason no other test gives: the process's refusal log has not seen it yet."""


async def test_a_refusal_tells_the_operator_its_cause(serve, caplog):
    caplog.set_level(logging.WARNING, logger="pessoas.refusals")
    http = await serve(_container(writer=lambda store: FailingWriter(store, StorageGone("database down"))))
    assert (await http.post("/pessoas", json=BODY)).status_code == 503
    assert "database down" not in (await http.post("/pessoas", json=BODY)).text
    refusals = [r.getMessage() for r in caplog.records if r.name == "pessoas.refusals"]
    assert refusals == ["answered 503: StorageGone: database down"]
