"""A fast, shared, disposable copy of what storage holds: pessoas by id and the apelidos taken.

It may lose any part of its data at any moment (a restart, an eviction, a failover to a
replica that lagged): nothing it holds is needed for a promise. It only spares storage work.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from pessoas.domain.model import Pessoa


class PessoaCache(Protocol):
    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        """The cached pessoa, or None when the cache does not hold it (which proves nothing)."""
        ...

    async def holds_apelido(self, apelido: str) -> bool:
        """True only when a stored pessoa is known to hold this apelido; False proves nothing."""
        ...

    async def remember(self, pessoas: Sequence[Pessoa]) -> None:
        """Caches committed pessoas, by id and by apelido. Only ever given committed pessoas."""
        ...
