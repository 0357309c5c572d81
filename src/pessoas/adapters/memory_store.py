"""PessoaWriter and PessoaReader kept in process memory: the embedded default and the unit tests' twin."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pessoas.domain.model import Pessoa


class InMemoryPessoaStore:
    def __init__(self) -> None:
        self._by_id: dict[uuid.UUID, Pessoa] = {}
        self._apelidos: set[str] = set()

    async def add_many(self, pessoas: Sequence[Pessoa]) -> int:
        stored = 0
        for pessoa in pessoas:
            # Like the database's constraints: an id or an apelido already stored is skipped.
            if pessoa.id in self._by_id or pessoa.apelido in self._apelidos:
                continue
            self._by_id[pessoa.id] = pessoa
            self._apelidos.add(pessoa.apelido)
            stored += 1
        return stored

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        return self._by_id.get(pessoa_id)

    async def search(self, term: str, limit: int) -> list[Pessoa]:
        found: list[Pessoa] = []
        for pessoa in self._by_id.values():
            if pessoa.matches(term):
                found.append(pessoa)
                if len(found) >= limit:
                    break
        return found

    async def count(self) -> int:
        return len(self._by_id)

    async def apelidos(self) -> list[str]:
        return list(self._apelidos)

    async def check(self) -> None:
        return None  # process memory is always there
