"""The worker's actor and its reconciler, on dramatiq's own event loop thread, without a broker.

The container is the RabbitMQ queue group over the in-memory storage: nothing connects until a
message is sent or consumed, and neither happens here.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from pessoas.adapters.rabbitmq_retries import RetriesThatNeverDrop
from pessoas.container import Container
from pessoas.container.memory import MemoryCache, MemoryStorage
from pessoas.container.rabbitmq import RabbitmqQueue
from pessoas.entrypoints.worker_middleware import Reconciler
from pessoas.entrypoints.worker_setup import declare_index_actor
from pessoas.settings import Settings
from tests.contracts.pessoas_factory import make_pessoa


@pytest.fixture
def event_loop_thread():
    """dramatiq's AsyncIO middleware, booted as a worker boots it: async actors run on its loop."""
    middleware = AsyncIO()
    middleware.before_worker_boot(None, None)
    try:
        yield
    finally:
        middleware.after_worker_shutdown(None, None)


@pytest.fixture
def container():
    settings = Settings(
        storage=None,
        database_url="postgresql://unused@127.0.0.1:1/pessoas",
        amqp_url="amqp://guest:guest@127.0.0.1:1/",
        redis_url=None,
        queue_name="pessoas_setup_test",
    )
    return Container(
        settings=settings,
        storage=MemoryStorage(),
        cache=MemoryCache(settings=settings),
        queue=RabbitmqQueue(settings=settings),
    )


@pytest.fixture
def broker():
    return StubBroker(middleware=[AsyncIO(), RetriesThatNeverDrop(max_retries=3)])


def test_the_actor_is_declared_where_the_api_announces(container, broker):
    actor = declare_index_actor(container, broker)
    assert actor.actor_name == "index_pessoas"
    assert actor.queue_name == "pessoas_setup_test"
    assert broker.get_actor("index_pessoas") is actor


def test_a_message_that_cannot_be_read_is_not_retried(container, broker):
    actor = declare_index_actor(container, broker)
    assert actor.options["throws"] == (ValueError,)


def test_the_actor_indexes_the_announced_pessoas(container, broker, event_loop_thread):
    store = container.storage.store()
    pessoas = [make_pessoa(nome="Anunciada") for _ in range(3)]
    loop_thread = dramatiq.asyncio.get_event_loop_thread()
    loop_thread.run_coroutine(store.add_many(pessoas))
    actor = declare_index_actor(container, broker)
    actor([str(p.id) for p in pessoas] + [str(uuid.uuid4())])  # an unknown id is ignored
    found = loop_thread.run_coroutine(store.search("anunciada", 50))
    assert {p.id for p in found} == {p.id for p in pessoas}


@pytest.mark.parametrize(
    "argument", ["0a2b64f4-7d45-4b8e-8a0b-4f6c2c7b5c1e", ["not an id"], [{"apelido": "a"}]]
)
def test_an_argument_that_is_not_a_list_of_ids_is_a_value_error(
    container, broker, event_loop_thread, argument
):
    actor = declare_index_actor(container, broker)
    with pytest.raises(ValueError):
        actor(argument)


# --- the reconciler -----------------------------------------------------------------------------


class Passes:
    """A reconcile callable that records its passes; the first ``failures`` passes fail."""

    def __init__(self, failures: int = 0) -> None:
        self.count = 0
        self.failures = failures
        self.enough = threading.Event()

    async def __call__(self) -> int:
        self.count += 1
        if self.count >= 4:
            self.enough.set()
        if self.count <= self.failures:
            raise ConnectionError("database down")
        return 0


def test_the_reconciler_runs_from_boot_every_interval_until_shutdown(event_loop_thread):
    passes = Passes()
    reconciler = Reconciler(passes, interval=0.01)
    reconciler.after_worker_boot(None, None)
    try:
        assert passes.enough.wait(2), "the reconciler did not keep running"
    finally:
        reconciler.before_worker_shutdown(None, None)
    stopped_at = passes.count
    time.sleep(0.05)
    assert passes.count == stopped_at  # no pass after the shutdown


def test_a_failing_pass_is_logged_and_the_next_one_runs(event_loop_thread, caplog):
    passes = Passes(failures=2)
    reconciler = Reconciler(passes, interval=0.01)
    with caplog.at_level(logging.WARNING, logger="pessoas.entrypoints.worker_middleware"):
        reconciler.after_worker_boot(None, None)
        try:
            assert passes.enough.wait(2), "a failed pass stopped the reconciler"
        finally:
            reconciler.before_worker_shutdown(None, None)
    failures = [r for r in caplog.records if "reconciler pass failed" in r.getMessage()]
    assert len(failures) == 2


def test_the_first_pass_runs_at_boot_not_an_interval_later(event_loop_thread):
    passes = Passes()
    reconciler = Reconciler(passes, interval=60)
    reconciler.after_worker_boot(None, None)
    try:
        deadline = time.monotonic() + 2
        while passes.count == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert passes.count == 1
    finally:
        started = time.monotonic()
        reconciler.before_worker_shutdown(None, None)
    assert time.monotonic() - started < 2  # a stop does not wait out the interval


def test_the_reconciler_needs_the_asyncio_middleware_first():
    with pytest.raises(RuntimeError, match="AsyncIO"):
        Reconciler(Passes(), interval=1).after_worker_boot(None, None)
