"""When a backing service fails, the API answers 503 and promises nothing."""

import logging

import httpx
import pytest
from asgi_lifespan import LifespanManager
from dependency_injector import containers, providers

from pessoas.container import Container
from pessoas.container.memory import MemoryCache, MemoryStorage
from pessoas.domain.errors import StorageUnavailable, StorageUncertain
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings
from tests.contracts.pessoas_factory import make_pessoa

BODY = {"apelido": "ana", "nome": "Ana", "nascimento": "2000-01-01"}


class RefusingQueue:
    async def put(self, pessoa, since=None):
        raise StorageUnavailable("broker down")

    async def wait_until_stored(self):
        return None  # nothing was ever taken

    async def waiting(self):
        raise StorageUnavailable("broker down")


class UnconfirmedQueue(RefusingQueue):
    async def put(self, pessoa, since=None):
        raise StorageUncertain("sent, never confirmed")


class DownStore:
    async def get(self, pessoa_id):
        raise StorageUnavailable("database down")

    async def search(self, term, limit):
        raise StorageUnavailable("database down")

    async def count(self):
        raise StorageUnavailable("database down")

    async def check(self):
        raise StorageUnavailable("database down")

    async def apelidos(self):
        raise StorageUnavailable("database down")


def _container(queue, reader=None) -> Container:
    """The memory groups, with the queue (and optionally the reader) replaced by a failing twin."""
    storage = MemoryStorage()
    if reader is not None:
        storage.reader.override(providers.Object(reader))
    queue_group = containers.DynamicContainer()
    queue_group.queue = providers.Object(queue)
    return Container(
        settings=Settings(storage="memory", database_url=None, redis_url=None, amqp_url=None),
        storage=storage,
        cache=MemoryCache(),
        queue=queue_group,
    )


async def _client(container):
    app = create_app(container)
    manager = LifespanManager(app)
    await manager.__aenter__()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://pessoas")
    return manager, http


@pytest.mark.parametrize(
    ("queue", "apelido_free_again"), [(RefusingQueue(), True), (UnconfirmedQueue(), False)]
)
async def test_a_creation_that_cannot_be_promised_is_503(queue, apelido_free_again):
    container = _container(queue)
    manager, http = await _client(container)
    try:
        assert (await http.post("/pessoas", json=BODY)).status_code == 503
        assert (await http.get("/contagem-pessoas")).text == "0"
        # Whether the apelido is free again depends on whether the pessoa may yet be stored.
        cache = container.cache.cache()
        assert await cache.reserve(make_pessoa(apelido="ana")) is apelido_free_again
    finally:
        await http.aclose()
        await manager.__aexit__(None, None, None)


async def test_reads_are_503_when_storage_is_down():
    manager, http = await _client(_container(RefusingQueue(), reader=DownStore()))
    try:
        assert (await http.get("/pessoas/0a2b64f4-7d45-4b8e-8a0b-4f6c2c7b5c1e")).status_code == 503
        assert (await http.get("/pessoas", params={"t": "a"})).status_code == 503
        assert (await http.get("/contagem-pessoas")).status_code == 503
    finally:
        await http.aclose()
        await manager.__aexit__(None, None, None)


async def test_ready_is_503_with_the_reasons_while_the_queue_or_storage_is_down():
    manager, http = await _client(_container(RefusingQueue(), reader=DownStore()))
    try:
        response = await http.get("/ready")
        assert response.status_code == 503
        reasons = " ".join(response.json()["reasons"])
        assert "queue: broker down" in reasons
        assert "storage: database down" in reasons
        # Liveness is another question: the process serves.
        assert (await http.get("/health")).status_code == 200
    finally:
        await http.aclose()
        await manager.__aexit__(None, None, None)


class BrokerGone(StorageUnavailable):
    """A reason no other test gives: the process's refusal log has not seen it yet."""


class GoneQueue(RefusingQueue):
    async def put(self, pessoa, since=None):
        raise BrokerGone("broker down")


async def test_a_refusal_tells_the_operator_its_cause(caplog):
    caplog.set_level(logging.WARNING, logger="pessoas.refusals")
    manager, http = await _client(_container(GoneQueue()))
    try:
        assert (await http.post("/pessoas", json=BODY)).status_code == 503
        assert "broker down" not in (await http.post("/pessoas", json=BODY)).text
    finally:
        await http.aclose()
        await manager.__aexit__(None, None, None)
    refusals = [r.getMessage() for r in caplog.records if r.name == "pessoas.refusals"]
    assert refusals == ["answered 503: BrokerGone: broker down"]
