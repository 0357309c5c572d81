"""PessoaCache in process memory. Atomic because nothing awaits between the check and the write."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from pessoas.domain.model import Pessoa


class InMemoryPessoaCache:
    def __init__(self) -> None:
        self._apelidos: set[str] = set()
        self._by_id: dict[uuid.UUID, Pessoa] = {}

    async def reserve(self, pessoa: Pessoa) -> bool:
        if pessoa.apelido in self._apelidos:
            return False
        self._apelidos.add(pessoa.apelido)
        self._by_id[pessoa.id] = pessoa
        return True

    async def release(self, pessoa: Pessoa) -> None:
        if self._by_id.pop(pessoa.id, None) is not None:
            self._apelidos.discard(pessoa.apelido)

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        return self._by_id.get(pessoa_id)

    async def restore_apelidos(self, apelidos: Iterable[str]) -> None:
        self._apelidos.update(apelidos)
