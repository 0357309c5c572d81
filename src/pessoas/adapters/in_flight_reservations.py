"""PessoaCache for one process whose storage arbitrates apelidos itself (SQLite's UNIQUE index).

It holds only the pessoas on their way to a commit: their apelidos, so that two concurrent
creations of one apelido are told apart before either reaches the database, and the pessoas by
id. The queue releases each one once its transaction has settled, and from then on the table
answers for it. Its reservations cannot be lost: they die only with the process, together with
the creations they belonged to, none of which had been acknowledged. So it is ready from the
start, and nothing needs restoring after a restart.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from pessoas.domain.model import Pessoa


class InFlightReservations:
    def __init__(self) -> None:
        self._holders: dict[str, uuid.UUID] = {}
        self._by_id: dict[uuid.UUID, Pessoa] = {}
        self._restored: set[str] = set()

    async def reserve(self, pessoa: Pessoa) -> bool:
        # Atomic because nothing awaits between the check and the write.
        if pessoa.apelido in self._holders or pessoa.apelido in self._restored:
            return False
        self._holders[pessoa.apelido] = pessoa.id
        self._by_id[pessoa.id] = pessoa
        return True

    async def release(self, pessoa: Pessoa) -> None:
        if self._by_id.pop(pessoa.id, None) is not None:
            del self._holders[pessoa.apelido]

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        return self._by_id.get(pessoa_id)

    async def restore_apelidos(self, apelidos: Iterable[str]) -> None:
        self._restored.update(apelidos)

    async def is_ready(self) -> bool:
        return True

    async def mark_ready(self) -> None:
        return None

    def in_flight(self) -> int:
        """How many pessoas are on their way to a commit (for tests and diagnostics)."""
        return len(self._by_id)
