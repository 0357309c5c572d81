"""The use cases over the in-memory adapters: assertions on state, not on calls."""

import asyncio
import uuid

import pytest

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.memory_queue import DirectPersistenceQueue
from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.domain.errors import (
    ApelidoTaken,
    InvalidPessoa,
    InvalidSearchTerm,
    StorageUnavailable,
    UnreadablePessoa,
)
from pessoas.domain.use_cases import CountPessoas, CreatePessoa, GetPessoa, SearchPessoas, StorePessoas
from tests.contracts.pessoas_factory import make_pessoa

BODY = {"apelido": "ana", "nome": "Ana Souza", "nascimento": "1990-05-17", "stack": ["Go"]}


class UnavailableQueue:
    """A broker that is down: it says for certain that nothing was handed over."""

    async def put(self, pessoa):
        raise StorageUnavailable("broker down")


class UnconfirmedQueue:
    """A broker that took the message but never confirmed it: storage may still happen."""

    async def put(self, pessoa):
        raise TimeoutError("no confirm")


class HeldQueue:
    """Holds pessoas like a broker whose worker has not run yet."""

    def __init__(self):
        self.held = []

    async def put(self, pessoa):
        self.held.append(pessoa)


@pytest.fixture
def store():
    return InMemoryPessoaStore()


@pytest.fixture
def cache():
    return InMemoryPessoaCache()


@pytest.fixture
def create(cache, store):
    return CreatePessoa(cache, DirectPersistenceQueue(store))


async def test_a_created_pessoa_is_stored_and_readable(create, cache, store):
    pessoa = await create(BODY)
    assert await store.get(pessoa.id) == pessoa
    assert await GetPessoa(cache, store)(pessoa.id) == pessoa
    assert await CountPessoas(store)() == 1


async def test_an_apelido_is_taken_once(create, store):
    await create(BODY)
    with pytest.raises(ApelidoTaken):
        await create(dict(BODY, nome="Outra Ana"))
    assert await store.count() == 1


async def test_apelido_taken_is_an_invalid_pessoa():
    assert issubclass(ApelidoTaken, InvalidPessoa)


async def test_invalid_and_unreadable_bodies_store_nothing_and_reserve_nothing(create, cache, store):
    with pytest.raises(InvalidPessoa):
        await create(dict(BODY, nascimento="2023-02-29"))
    with pytest.raises(UnreadablePessoa):
        await create(dict(BODY, stack="PHP"))
    assert await store.count() == 0
    await create(BODY)  # the apelido was never taken


async def test_concurrent_creations_of_one_apelido_give_one_pessoa(create, store):
    results = await asyncio.gather(*(create(dict(BODY)) for _ in range(30)), return_exceptions=True)
    created = [r for r in results if not isinstance(r, Exception)]
    assert len(created) == 1
    assert all(isinstance(r, ApelidoTaken) for r in results if isinstance(r, Exception))
    assert await store.count() == 1


async def test_a_pessoa_not_yet_stored_is_read_from_the_cache(cache, store):
    queue = HeldQueue()
    pessoa = await CreatePessoa(cache, queue)(BODY)
    assert await store.get(pessoa.id) is None
    assert await GetPessoa(cache, store)(pessoa.id) == pessoa


async def test_a_stored_pessoa_the_cache_forgot_is_read_from_storage(store):
    pessoa = make_pessoa()
    await store.add_many([pessoa])
    assert await GetPessoa(InMemoryPessoaCache(), store)(pessoa.id) == pessoa


async def test_an_unknown_id_is_none(cache, store):
    assert await GetPessoa(cache, store)(uuid.uuid4()) is None


async def test_when_the_queue_is_down_the_apelido_is_freed(cache):
    with pytest.raises(StorageUnavailable):
        await CreatePessoa(cache, UnavailableQueue())(BODY)
    retried = await CreatePessoa(cache, HeldQueue())(BODY)
    assert retried.apelido == "ana"


async def test_when_storage_is_uncertain_the_apelido_stays_taken(cache):
    with pytest.raises(TimeoutError):
        await CreatePessoa(cache, UnconfirmedQueue())(BODY)
    with pytest.raises(ApelidoTaken):
        await CreatePessoa(cache, HeldQueue())(BODY)


@pytest.mark.parametrize("term", [None, ""])
async def test_a_search_needs_a_term(store, term):
    with pytest.raises(InvalidSearchTerm):
        await SearchPessoas(store)(term)


async def test_search_returns_at_most_50(store):
    await store.add_many([make_pessoa(nome=f"Costa {i}") for i in range(80)])
    assert len(await SearchPessoas(store)("costa")) == 50


async def test_store_pessoas_is_idempotent(store):
    batch = [make_pessoa() for _ in range(3)]
    assert await StorePessoas(store)(batch) == 3
    assert await StorePessoas(store)(batch) == 0
    assert await store.count() == 3


class DownCache(InMemoryPessoaCache):
    """A cache whose server is unreachable."""

    async def get(self, pessoa_id):
        raise StorageUnavailable("cache down")


async def test_reads_by_id_fall_back_to_storage_when_the_cache_is_down(store):
    pessoa = make_pessoa()
    await store.add_many([pessoa])
    assert await GetPessoa(DownCache(), store)(pessoa.id) == pessoa
