"""StandbyFirstReader over in-memory stores: the store contract, and where each read goes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest

from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.adapters.standby_reads import StandbyFirstReader
from pessoas.domain.errors import StorageUnavailable
from pessoas.domain.model import Pessoa
from tests.contracts.pessoas_factory import make_pessoa
from tests.contracts.store_contract import StoreContract


class SplitStore:
    """Writes to the primary, reads through the split: what the container composes."""

    def __init__(self, primary: InMemoryPessoaStore, standby: InMemoryPessoaStore) -> None:
        self.primary = primary
        self.reader = StandbyFirstReader(primary=primary, standby=standby)
        self.get = self.reader.get
        self.search = self.reader.search
        self.count = self.reader.count
        self.check = self.reader.check

    async def add_many(self, pessoas: Sequence[Pessoa]) -> set[uuid.UUID]:
        return await self.primary.add_many(pessoas)


class TestSplitOverOneStore(StoreContract):
    """With no lag (the standby sees every row), the split is a store like any other."""

    @pytest.fixture
    def shared(self):
        return InMemoryPessoaStore()

    @pytest.fixture
    def store(self, shared):
        return SplitStore(shared, shared)

    @pytest.fixture
    def search_index(self, shared):
        return shared  # the index is the primary's, as in the container


class DownStore(InMemoryPessoaStore):
    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        raise StorageUnavailable("standby down")

    async def search(self, term: str, limit: int) -> list[Pessoa]:
        raise StorageUnavailable("standby down")

    async def check(self) -> None:
        raise StorageUnavailable("down")


async def test_a_lagging_standby_never_makes_a_false_not_found():
    primary, standby = InMemoryPessoaStore(), InMemoryPessoaStore()
    old, new = make_pessoa(apelido="velho"), make_pessoa(apelido="novo")
    await primary.add_many([old, new])
    await primary.index([old.id, new.id])
    await standby.add_many([old])  # `new` has not reached the standby yet
    await standby.index([old.id])
    reader = StandbyFirstReader(primary=primary, standby=standby)
    assert await reader.get(new.id) == new  # a standby miss is asked of the primary
    assert await reader.get(old.id) == old
    assert await reader.get(uuid.uuid4()) is None
    # Search may lag (the standby's view); the count never does.
    assert [p.apelido for p in await reader.search("novo", 50)] == []
    assert [p.apelido for p in await reader.search("velho", 50)] == ["velho"]
    assert await reader.count() == 2


async def test_a_standby_that_is_down_hands_its_reads_to_the_primary():
    primary = InMemoryPessoaStore()
    pessoa = make_pessoa(apelido="sozinho")
    await primary.add_many([pessoa])
    await primary.index([pessoa.id])
    reader = StandbyFirstReader(primary=primary, standby=DownStore())
    assert await reader.get(pessoa.id) == pessoa
    assert await reader.search("sozinho", 50) == [pessoa]


async def test_readiness_follows_the_primary_not_the_standby():
    assert await StandbyFirstReader(primary=InMemoryPessoaStore(), standby=DownStore()).check() is None
    with pytest.raises(StorageUnavailable):
        await StandbyFirstReader(primary=DownStore(), standby=InMemoryPessoaStore()).check()
