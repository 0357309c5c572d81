"""The near cache: process memory in front of a shared cache, adding hits and nothing else."""

from __future__ import annotations

import uuid

import pytest

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.near_cache import NearFirstCache
from pessoas.domain.errors import StorageUnavailable
from tests.contracts.cache_contract import CacheContract
from tests.contracts.pessoas_factory import make_pessoa


class FailingCache:
    """A shared cache that is down: every call fails as an unreachable Redis does."""

    def __init__(self) -> None:
        self.calls = 0

    async def get(self, pessoa_id: uuid.UUID):
        self.calls += 1
        raise StorageUnavailable("down")

    async def holds_apelido(self, apelido: str) -> bool:
        self.calls += 1
        raise StorageUnavailable("down")

    async def remember(self, pessoas) -> None:
        self.calls += 1
        raise StorageUnavailable("down")


class TestNearFirstCache(CacheContract):
    @pytest.fixture
    def cache(self):
        return NearFirstCache(near=InMemoryPessoaCache(max_pessoas=100), far=InMemoryPessoaCache())


class TestBoundedMemoryCache(CacheContract):
    @pytest.fixture
    def cache(self):
        return InMemoryPessoaCache(max_pessoas=100)


# --- the bound ----------------------------------------------------------------------------------


async def test_past_its_bound_the_least_recently_used_pessoa_and_apelido_go():
    cache = InMemoryPessoaCache(max_pessoas=2)
    first, second, third = (make_pessoa(apelido=name) for name in ("primeira", "segunda", "terceira"))
    await cache.remember([first, second])
    assert await cache.get(first.id) == first  # first is now the most recently used pessoa
    assert await cache.holds_apelido("primeira") is True  # and apelido
    await cache.remember([third])
    assert await cache.get(second.id) is None
    assert await cache.holds_apelido("segunda") is False
    for kept in (first, third):
        assert await cache.get(kept.id) == kept
        assert await cache.holds_apelido(kept.apelido) is True


async def test_a_pessoa_and_its_apelido_are_used_apart():
    # A lookup refreshes the pessoa, not its apelido: each list keeps its own order.
    cache = InMemoryPessoaCache(max_pessoas=2)
    first, second, third = (make_pessoa(apelido=name) for name in ("um", "dois", "tres"))
    await cache.remember([first, second])
    assert await cache.get(first.id) == first
    assert await cache.holds_apelido("dois") is True
    await cache.remember([third])
    assert await cache.get(first.id) == first and await cache.get(second.id) is None
    assert await cache.holds_apelido("dois") is True and await cache.holds_apelido("um") is False


async def test_remembering_a_batch_larger_than_the_bound_keeps_its_last():
    cache = InMemoryPessoaCache(max_pessoas=3)
    pessoas = [make_pessoa() for _ in range(5)]
    await cache.remember(pessoas)
    assert [await cache.get(p.id) for p in pessoas] == [None, None, *pessoas[2:]]


async def test_remembering_a_known_pessoa_again_refreshes_it():
    cache = InMemoryPessoaCache(max_pessoas=2)
    first, second, third = (make_pessoa() for _ in range(3))
    await cache.remember([first, second])
    await cache.remember([first])
    await cache.remember([third])
    assert await cache.get(first.id) == first
    assert await cache.get(second.id) is None


async def test_without_a_bound_nothing_is_forgotten():
    cache = InMemoryPessoaCache()
    pessoas = [make_pessoa() for _ in range(2_000)]
    await cache.remember(pessoas)
    assert all([await cache.get(p.id) == p for p in pessoas])


@pytest.mark.parametrize("bound", [0, -1])
def test_a_bound_below_one_is_refused(bound):
    with pytest.raises(ValueError, match="at least one"):
        InMemoryPessoaCache(max_pessoas=bound)


# --- near, then far -----------------------------------------------------------------------------


async def test_what_the_far_cache_holds_is_read_through_and_then_kept_near():
    near, far = InMemoryPessoaCache(max_pessoas=10), InMemoryPessoaCache()
    cache = NearFirstCache(near=near, far=far)
    pessoa = make_pessoa()
    await far.remember([pessoa])  # remembered by another instance
    assert await near.get(pessoa.id) is None
    assert await cache.get(pessoa.id) == pessoa
    assert await near.get(pessoa.id) == pessoa
    far.forget_everything()  # Redis restarted
    assert await cache.get(pessoa.id) == pessoa


async def test_an_apelido_another_instance_took_is_known_through_the_far_cache():
    far = InMemoryPessoaCache()
    cache = NearFirstCache(near=InMemoryPessoaCache(max_pessoas=10), far=far)
    await far.remember([make_pessoa(apelido="alheia")])
    assert await cache.holds_apelido("alheia") is True
    assert await cache.holds_apelido("livre") is False


async def test_what_is_remembered_reaches_both_caches():
    near, far = InMemoryPessoaCache(max_pessoas=10), InMemoryPessoaCache()
    pessoa = make_pessoa(apelido="ambas")
    await NearFirstCache(near=near, far=far).remember([pessoa])
    for cache in (near, far):
        assert await cache.get(pessoa.id) == pessoa
        assert await cache.holds_apelido("ambas") is True


async def test_near_hits_answer_while_the_far_cache_is_down():
    far = FailingCache()
    cache = NearFirstCache(near=InMemoryPessoaCache(max_pessoas=10), far=far)
    pessoa = make_pessoa(apelido="perto")
    with pytest.raises(StorageUnavailable):
        await cache.remember([pessoa])  # the caller hears of the far cache's failure...
    # ...and the near cache kept the pessoa all the same, answered without asking the far one
    far.calls = 0
    assert await cache.get(pessoa.id) == pessoa
    assert await cache.holds_apelido("perto") is True
    assert far.calls == 0


async def test_a_near_miss_with_the_far_cache_down_fails_as_the_far_cache_does():
    # The use cases take StorageUnavailable for a miss and ask storage: no answer is made up.
    cache = NearFirstCache(near=InMemoryPessoaCache(max_pessoas=10), far=FailingCache())
    with pytest.raises(StorageUnavailable):
        await cache.get(uuid.uuid4())
    with pytest.raises(StorageUnavailable):
        await cache.holds_apelido("desconhecida")
