"""PessoaCache in process memory: the twin of the Redis cache (it can be emptied, like Redis)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pessoas.domain.model import Pessoa


class InMemoryPessoaCache:
    def __init__(self) -> None:
        self._apelidos: set[str] = set()
        self._by_id: dict[uuid.UUID, Pessoa] = {}

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        return self._by_id.get(pessoa_id)

    async def holds_apelido(self, apelido: str) -> bool:
        return apelido in self._apelidos

    async def remember(self, pessoas: Sequence[Pessoa]) -> None:
        for pessoa in pessoas:
            self._by_id[pessoa.id] = pessoa
            self._apelidos.add(pessoa.apelido)

    def forget_everything(self) -> None:
        """What a Redis restart does to the real cache (for tests)."""
        self._apelidos.clear()
        self._by_id.clear()
