"""How committed pessoas are announced to the worker that makes them searchable."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol


class IndexQueue(Protocol):
    async def announce(self, ids: Sequence[uuid.UUID]) -> None:
        """Asks for these committed pessoas to be indexed for search, soon.

        Best effort: an announcement may be lost (a broker down or purged), which only delays
        search until :meth:`pessoas.ports.repository.SearchIndex.index_missing` finds the
        pessoa. Raises :class:`pessoas.domain.errors.StorageUnavailable` when it could not
        even be sent.
        """
        ...
