"""The shared, fast memory every API instance consults: apelido reservations and pessoas by id."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Protocol

from pessoas.domain.model import Pessoa


class PessoaCache(Protocol):
    async def reserve(self, pessoa: Pessoa) -> bool:
        """Atomically takes the pessoa's apelido and keeps the pessoa readable by id.

        Returns False, changing nothing, when the apelido is already taken. Raises
        :class:`pessoas.domain.errors.ReservationsLost`, changing nothing, until
        :meth:`mark_ready` has been called on this (shared) cache.
        """
        ...

    async def is_ready(self) -> bool:
        """True once the reservations are complete: marked ready and not lost since."""
        ...

    async def mark_ready(self) -> None:
        """Declares the reservations complete (after :meth:`restore_apelidos`)."""
        ...

    async def release(self, pessoa: Pessoa) -> None:
        """Undoes :meth:`reserve` for a pessoa whose creation could not be promised."""
        ...

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None: ...

    async def restore_apelidos(self, apelidos: Iterable[str]) -> None:
        """Marks apelidos as taken (after the cache lost its memory) without caching pessoas."""
        ...
