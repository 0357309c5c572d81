"""The in-memory twins pass the same contracts as the real adapters, and behave as their originals."""

import pytest

from pessoas.adapters.indexed_on_commit import IndexedOnCommit
from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.memory_queue import DirectIndexQueue
from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.adapters.no_cache import NoCache
from tests.contracts.cache_contract import CacheContract
from tests.contracts.pessoas_factory import make_pessoa
from tests.contracts.queue_contract import QueueContract
from tests.contracts.store_contract import ExportContract, StoreContract


class TestInMemoryStore(StoreContract, ExportContract):
    @pytest.fixture
    def store(self):
        return InMemoryPessoaStore()

    @pytest.fixture
    def search_index(self, store):
        return store


class TestInMemoryCache(CacheContract):
    @pytest.fixture
    def cache(self):
        return InMemoryPessoaCache()


class TestDirectQueue(QueueContract):
    @pytest.fixture
    def store(self):
        return InMemoryPessoaStore()

    @pytest.fixture
    def queue(self, store):
        return DirectIndexQueue(store)

    @pytest.fixture
    def indexed(self):
        async def at_once(ids):
            return None  # the direct queue indexes before announce returns

        return at_once


# --- the in-memory store defers search like PostgreSQL ----------------------------------------


async def test_a_stored_pessoa_is_not_searchable_until_indexed():
    store = InMemoryPessoaStore()
    pessoa = make_pessoa(apelido="adiada")
    assert await store.add_many([pessoa]) == {pessoa.id}
    assert await store.get(pessoa.id) == pessoa
    assert await store.count() == 1
    assert await store.search("adiada", 50) == []
    assert await store.index([pessoa.id]) == 1
    assert await store.search("adiada", 50) == [pessoa]


async def test_index_counts_only_the_pessoas_it_newly_indexed():
    store = InMemoryPessoaStore()
    pessoas = [make_pessoa() for _ in range(3)]
    await store.add_many(pessoas)
    assert await store.index([pessoas[0].id]) == 1
    assert await store.index([p.id for p in pessoas]) == 2
    assert await store.index([p.id for p in pessoas]) == 0


async def test_the_reconciler_gives_a_new_pessoa_one_pass_of_grace():
    store = InMemoryPessoaStore()
    early = make_pessoa(apelido="cedo")
    await store.add_many([early])
    assert await store.index_missing() == 1  # the first pass looks at everything stored
    late = make_pessoa(apelido="tarde")
    await store.add_many([late])
    # The pass right after its commit leaves it to its announcement...
    assert await store.index_missing() == 0
    assert await store.search("tarde", 50) == []
    # ...and the next one takes it, unless the announcement did first.
    assert await store.index_missing() == 1
    assert await store.search("tarde", 50) == [late]
    assert await store.index_missing() == 0


async def test_the_reconciler_leaves_alone_what_an_announcement_indexed():
    store = InMemoryPessoaStore()
    await store.index_missing()
    announced = make_pessoa(apelido="anunciada")
    await store.add_many([announced])
    await store.index([announced.id])
    assert await store.index_missing() == 0
    assert await store.index_missing() == 0
    assert await store.search("anunciada", 50) == [announced]


async def test_an_announcement_through_the_direct_queue_indexes_at_once():
    store = InMemoryPessoaStore()
    pessoa = make_pessoa(apelido="direta")
    await store.add_many([pessoa])
    await DirectIndexQueue(store).announce([pessoa.id])
    assert await store.search("direta", 50) == [pessoa]


# --- the in-memory cache can be emptied, like Redis --------------------------------------------


async def test_the_cache_forgets_everything_as_a_redis_restart_does():
    cache = InMemoryPessoaCache()
    pessoa = make_pessoa(apelido="esquecida")
    await cache.remember([pessoa])
    cache.forget_everything()
    assert await cache.get(pessoa.id) is None
    assert await cache.holds_apelido("esquecida") is False
    await cache.remember([pessoa])  # and it takes new pessoas afterwards
    assert await cache.get(pessoa.id) == pessoa


# --- the embedded group's stand-ins: nothing cached, nothing deferred -------------------------


async def test_no_cache_holds_nothing_whatever_it_is_told():
    cache = NoCache()
    pessoa = make_pessoa(apelido="ninguem")
    await cache.remember([pessoa])
    assert await cache.get(pessoa.id) is None
    assert await cache.holds_apelido("ninguem") is False


async def test_indexed_on_commit_announces_nothing_and_never_fails():
    assert await IndexedOnCommit().announce([make_pessoa().id]) is None
    assert await IndexedOnCommit().announce([]) is None
