"""PersistenceQueue that stores at once: the embedded default has no broker and no worker."""

from __future__ import annotations

from pessoas.domain.model import Pessoa
from pessoas.ports.repository import PessoaWriter


class DirectPersistenceQueue:
    def __init__(self, writer: PessoaWriter) -> None:
        self._writer = writer

    async def put(self, pessoa: Pessoa) -> None:
        await self._writer.add_many([pessoa])

    async def wait_until_stored(self) -> None:
        return None  # every put stored before it returned

    async def waiting(self) -> int:
        return 0
