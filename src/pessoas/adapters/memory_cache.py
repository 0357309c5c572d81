"""PessoaCache in process memory. Atomic because nothing awaits between the check and the write."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from pessoas.domain.errors import ReservationsLost
from pessoas.domain.model import Pessoa


class InMemoryPessoaCache:
    def __init__(self) -> None:
        self._apelidos: set[str] = set()
        self._by_id: dict[uuid.UUID, Pessoa] = {}
        self._ready = False

    async def reserve(self, pessoa: Pessoa) -> bool:
        if not self._ready:
            raise ReservationsLost("the apelido reservations are not restored yet")
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

    async def is_ready(self) -> bool:
        return self._ready

    async def mark_ready(self) -> None:
        self._ready = True
