"""How a created pessoa is handed over for storage."""

from __future__ import annotations

from typing import Protocol

from pessoas.domain.model import Pessoa


class PersistenceQueue(Protocol):
    async def put(self, pessoa: Pessoa, since: float | None = None) -> None:
        """Returns only once the pessoa's storage is guaranteed (the broker has confirmed it).

        ``since`` is the ``time.monotonic()`` at which the creation asked for the apelido's
        reservation (None: now). A queue that stores after it returns settles each put within
        a bounded time from then, confirmed or refused, so that :meth:`wait_until_stored` can
        know when no put begun before it can still reach storage.

        Raises :class:`pessoas.domain.errors.StorageUnavailable` when that cannot be guaranteed.
        A queue that stores before it returns may raise :class:`pessoas.domain.errors.ApelidoTaken`
        when storage itself finds the apelido taken (nothing was stored then).
        """
        ...

    async def wait_until_stored(self) -> None:
        """Returns once every pessoa whose put began before the call, in any process, is stored.

        Only then may the apelido reservations be rebuilt from storage. Raises
        :class:`pessoas.domain.errors.StorageUnavailable` when that cannot be proven in
        reasonable time; the caller must then not assume it (it fails closed).
        """
        ...

    async def waiting(self) -> int:
        """How many messages wait for storage now (0 when nothing stands between).

        Raises :class:`pessoas.domain.errors.StorageUnavailable` when the queue cannot be reached,
        which is also how readiness learns that a put would fail.
        """
        ...
