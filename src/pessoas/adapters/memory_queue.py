"""IndexQueue with no broker: the announced pessoas are indexed at once, in this process."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pessoas.ports.repository import SearchIndex


class DirectIndexQueue:
    def __init__(self, index: SearchIndex) -> None:
        self._index = index

    async def announce(self, ids: Sequence[uuid.UUID]) -> None:
        await self._index.index(ids)
