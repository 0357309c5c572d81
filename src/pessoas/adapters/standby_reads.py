"""Reads split between a primary and a hot standby: the standby takes the reads that may lag.

Search and get-by-id go to the standby, which trails the primary by its replication delay. That
delay must never turn into a wrong answer the contract forbids:
- get-by-id: a pessoa the standby lacks may be stored on the primary already, so a miss is asked
  of the primary before it is a "not found";
- search may miss the newest pessoas for that delay (the contract asks no more of a search);
- the count always comes from the primary, which holds every committed pessoa.
A standby that is down or unreachable is passed over: its reads go to the primary.
"""

from __future__ import annotations

import logging
import uuid

from pessoas.domain.errors import StorageUnavailable
from pessoas.domain.model import Pessoa
from pessoas.ports.repository import PessoaReader

logger = logging.getLogger(__name__)


class StandbyFirstReader:
    def __init__(self, primary: PessoaReader, standby: PessoaReader) -> None:
        self._primary = primary
        self._standby = standby

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        try:
            found = await self._standby.get(pessoa_id)
        except StorageUnavailable:
            logger.debug("standby unavailable; get-by-id from the primary", exc_info=True)
            found = None
        if found is not None:
            return found
        return await self._primary.get(pessoa_id)

    async def search(self, term: str, limit: int) -> list[Pessoa]:
        try:
            return await self._standby.search(term, limit)
        except StorageUnavailable:
            logger.debug("standby unavailable; search on the primary", exc_info=True)
            return await self._primary.search(term, limit)

    async def count(self) -> int:
        return await self._primary.count()

    async def check(self) -> None:
        # Ready means the primary answers: creations are stored there, and a standby that is
        # down only sends its reads to the primary.
        await self._primary.check()
