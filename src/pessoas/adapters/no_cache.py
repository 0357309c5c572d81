"""PessoaCache that holds nothing: for storage that is as near as a cache would be.

The embedded SQLite storage lives in the serving process, and a read by id costs an indexed
lookup on a local file: a cache in front of it would only add work and memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pessoas.domain.model import Pessoa


class NoCache:
    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        return None

    async def holds_apelido(self, apelido: str) -> bool:
        return False

    async def remember(self, pessoas: Sequence[Pessoa]) -> None:
        return None
