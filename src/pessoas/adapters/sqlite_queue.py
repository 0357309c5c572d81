"""PersistenceQueue that commits before it returns: the SQLite writer, seen from a creation.

``put`` returns once the pessoa's transaction is committed, so a 201 means stored. Whatever the
outcome, the in-flight reservation is released as soon as the write has settled: from then on
the table's UNIQUE index answers for the apelido, even after an uncertain commit (a pessoa that
did reach the file keeps any later one from storing the same apelido).
"""

from __future__ import annotations

from pessoas.adapters.sqlite_writer import Outcome, SqliteWriter
from pessoas.domain.errors import ApelidoTaken
from pessoas.domain.model import Pessoa
from pessoas.ports.cache import PessoaCache


class SqlitePersistenceQueue:
    def __init__(self, writer: SqliteWriter, reservations: PessoaCache) -> None:
        self._writer = writer
        self._reservations = reservations

    async def put(self, pessoa: Pessoa, since: float | None = None) -> None:
        try:
            [outcome] = await self._writer.write([pessoa])
        finally:
            await self._reservations.release(pessoa)
        if outcome is Outcome.APELIDO_TAKEN:
            raise ApelidoTaken(f"apelido {pessoa.apelido!r} is already taken")

    async def wait_until_stored(self) -> None:
        # The writer commits in order: once this empty write has gone through, every write
        # handed to it before has settled, committed or refused.
        await self._writer.write([])

    async def waiting(self) -> int:
        # Nothing ever waits: put returns only once its transaction is committed.
        return 0
