"""IndexQueue for storage that indexes in the transaction that stores (the embedded SQLite file)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence


class IndexedOnCommit:
    async def announce(self, ids: Sequence[uuid.UUID]) -> None:
        return None  # already searchable: nothing is deferred
