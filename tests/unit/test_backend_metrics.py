"""Failures of the backing services are counted by component and operation; restores are counted."""

import pytest
from prometheus_client import REGISTRY

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.prometheus_metrics import CountingCache, CountingQueue, CountingReader
from pessoas.domain.errors import ReservationsLost, StorageUnavailable, StorageUncertain
from tests.contracts.pessoas_factory import make_pessoa


def _errors(component, operation):
    labels = {"component": component, "operation": operation}
    return REGISTRY.get_sample_value("pessoas_backend_errors_total", labels) or 0.0


class Down:
    """Every call of any port fails as a service that is down does."""

    def __init__(self, error=StorageUnavailable("down")):
        self._error = error

    def __getattr__(self, name):
        async def fail(*args):
            raise self._error

        return fail


async def test_a_failed_call_is_counted_under_its_component_and_operation():
    before = (_errors("storage", "search"), _errors("queue", "put"), _errors("cache", "get"))
    with pytest.raises(StorageUnavailable):
        await CountingReader(Down()).search("a", 50)
    with pytest.raises(StorageUncertain):
        await CountingQueue(Down(StorageUncertain("unconfirmed"))).put(make_pessoa())
    with pytest.raises(StorageUnavailable):
        await CountingCache(Down()).get(make_pessoa().id)
    assert (_errors("storage", "search"), _errors("queue", "put"), _errors("cache", "get")) == tuple(
        value + 1 for value in before
    )


async def test_lost_reservations_are_not_a_cache_failure_and_a_restore_is_counted():
    cache = CountingCache(InMemoryPessoaCache())
    errors = _errors("cache", "reserve")
    restores = REGISTRY.get_sample_value("pessoas_reservation_restores_total") or 0.0
    with pytest.raises(ReservationsLost):
        await cache.reserve(make_pessoa())  # a new cache is not ready until restored
    assert _errors("cache", "reserve") == errors
    await cache.restore_apelidos(["ana"])
    await cache.mark_ready()
    assert await cache.reserve(make_pessoa())
    assert REGISTRY.get_sample_value("pessoas_reservation_restores_total") == restores + 1
