"""The in-memory twins pass the same contracts as the real adapters."""

import pytest

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.memory_queue import DirectPersistenceQueue
from pessoas.adapters.memory_store import InMemoryPessoaStore
from tests.contracts.cache_contract import CacheContract, ReservationLossContract
from tests.contracts.queue_contract import QueueContract
from tests.contracts.store_contract import StoreContract


class TestInMemoryStore(StoreContract):
    @pytest.fixture
    def store(self):
        return InMemoryPessoaStore()


class TestInMemoryCache(CacheContract, ReservationLossContract):
    @pytest.fixture
    def fresh_cache(self):
        return InMemoryPessoaCache()

    @pytest.fixture
    async def cache(self, fresh_cache):
        await fresh_cache.mark_ready()
        return fresh_cache


class TestDirectQueue(QueueContract):
    @pytest.fixture
    def storage(self):
        return InMemoryPessoaStore()

    @pytest.fixture
    def queue(self, storage):
        return DirectPersistenceQueue(storage)

    @pytest.fixture
    def delivered(self, storage):
        async def wait_for_storage():
            return storage  # the direct queue stores before put returns

        return wait_for_storage
