"""Where pessoas are kept for good: a write side for the worker, a read side for the API."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from pessoas.domain.model import Pessoa


class PessoaWriter(Protocol):
    async def add_many(self, pessoas: Sequence[Pessoa]) -> int:
        """Stores pessoas in one go; a pessoa whose id is already stored is skipped, not doubled.

        Returns how many pessoas were newly stored.
        """
        ...


class PessoaReader(Protocol):
    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None: ...

    async def search(self, term: str, limit: int) -> list[Pessoa]:
        """At most ``limit`` pessoas with ``term`` inside one field, compared case-insensitively."""
        ...

    async def count(self) -> int: ...

    async def apelidos(self) -> list[str]:
        """Every stored apelido: what the apelido reservations are rebuilt from."""
        ...

    async def check(self) -> None:
        """Returns when storage answers; raises StorageUnavailable when it does not (readiness)."""
        ...
