"""The record and its search index kept in process memory: the unit tests' twin of PostgreSQL.

Like PostgreSQL, it finds a pessoa by id and counts it as soon as it is stored, and finds it by
search only once it has been indexed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Sequence

from pessoas.domain.model import Pessoa


class InMemoryPessoaStore:
    def __init__(self) -> None:
        self._by_id: dict[uuid.UUID, Pessoa] = {}
        self._apelidos: set[str] = set()
        self._indexed: dict[uuid.UUID, Pessoa] = {}
        # What the previous reconciler pass saw stored (None: no pass yet).
        self._seen_by_last_pass: list[uuid.UUID] | None = None

    async def add_many(self, pessoas: Sequence[Pessoa]) -> set[uuid.UUID]:
        stored: set[uuid.UUID] = set()
        for pessoa in pessoas:
            # Like the database's constraints: an id or an apelido already stored is skipped.
            if pessoa.id in self._by_id or pessoa.apelido in self._apelidos:
                continue
            self._by_id[pessoa.id] = pessoa
            self._apelidos.add(pessoa.apelido)
            stored.add(pessoa.id)
        return stored

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        return self._by_id.get(pessoa_id)

    async def search(self, term: str, limit: int) -> list[Pessoa]:
        found: list[Pessoa] = []
        for pessoa in self._indexed.values():
            if pessoa.matches(term):
                found.append(pessoa)
                if len(found) >= limit:
                    break
        return found

    async def pages(self, size: int) -> AsyncGenerator[list[Pessoa], None]:
        snapshot = sorted(self._by_id.values(), key=lambda pessoa: pessoa.id)  # as of the first page
        for start in range(0, len(snapshot), size):
            yield snapshot[start : start + size]

    async def count(self) -> int:
        return len(self._by_id)

    async def check(self) -> None:
        return None  # process memory is always there

    async def index(self, ids: Sequence[uuid.UUID]) -> int:
        indexed = 0
        for pessoa_id in ids:
            pessoa = self._by_id.get(pessoa_id)
            if pessoa is not None and pessoa_id not in self._indexed:
                self._indexed[pessoa_id] = pessoa
                indexed += 1
        return indexed

    async def index_missing(self) -> int:
        # The first pass looks at everything; each later one at what the previous pass saw
        # stored: the same grace PostgreSQL's reconciler gives an announcement.
        seen, self._seen_by_last_pass = self._seen_by_last_pass, list(self._by_id)
        return await self.index(self._seen_by_last_pass if seen is None else seen)
