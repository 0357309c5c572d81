"""How a created pessoa is handed over for storage."""

from __future__ import annotations

from typing import Protocol

from pessoas.domain.model import Pessoa


class PersistenceQueue(Protocol):
    async def put(self, pessoa: Pessoa) -> None:
        """Returns only once the pessoa's storage is guaranteed (the broker has confirmed it).

        Raises :class:`pessoas.domain.errors.StorageUnavailable` when that cannot be guaranteed.
        A queue that stores before it returns may raise :class:`pessoas.domain.errors.ApelidoTaken`
        when storage itself finds the apelido taken (nothing was stored then).
        """
        ...

    async def wait_until_stored(self) -> None:
        """Returns once the pessoas put before the call have reached storage.

        Raises :class:`pessoas.domain.errors.StorageUnavailable` when that cannot be known in
        reasonable time.
        """
        ...

    async def waiting(self) -> int:
        """How many messages wait for storage now (0 when nothing stands between).

        Raises :class:`pessoas.domain.errors.StorageUnavailable` when the queue cannot be reached,
        which is also how readiness learns that a put would fail.
        """
        ...
