"""SearchIndex over PostgreSQL: fills ``pessoas_search`` from the committed record.

:meth:`PostgresSearchIndex.index` copies the announced rows, with their search text, into
the search table in one statement; a row indexed already is skipped, so a redelivered message changes nothing.

:meth:`PostgresSearchIndex.index_missing` is the reconciler's pass. It finds committed rows that
have no search row, without scanning the whole table, through the ``txid`` column (the id of the
transaction that stored each row, indexed). Before each pass it reads the current snapshot's
``xmin``: every transaction with a smaller id had ended at that moment, so a later statement
sees all of its rows. A pass therefore looks at the rows whose ``txid`` lies between the horizon
read two passes ago and the one read one pass ago: each committed row falls in exactly one such
range (or in the first pass, which looks at every row), and only once its transaction had ended
a whole pass earlier, which leaves the announcement its head start. No clock is involved: a
transaction that runs long only moves the horizon later. Several reconcilers at once (two
workers) stay correct; an advisory lock lets one of them do each pass.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import psycopg
from psycopg_pool import AsyncConnectionPool

from pessoas.domain.errors import StorageUnavailable

# Both copy a record's fields, with its search text, into the search table.
_INDEX = """
INSERT INTO pessoas_search (id, apelido, nome, nascimento, stack, search)
SELECT p.id, p.apelido, p.nome, p.nascimento, p.stack, pessoas_search_text(p.apelido, p.nome, p.stack)
FROM pessoas AS p
WHERE p.id = ANY(%s)
ON CONFLICT (id) DO NOTHING
"""

_HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())"

# The rows of transactions that ended between two horizons (no lower bound on the first pass).
_INDEX_MISSING = """
INSERT INTO pessoas_search (id, apelido, nome, nascimento, stack, search)
SELECT p.id, p.apelido, p.nome, p.nascimento, p.stack, pessoas_search_text(p.apelido, p.nome, p.stack)
FROM pessoas AS p
WHERE p.txid >= coalesce(%(low)s::xid8, '0'::xid8) AND p.txid < %(high)s::xid8
  AND NOT EXISTS (SELECT 1 FROM pessoas_search AS s WHERE s.id = p.id)
ON CONFLICT (id) DO NOTHING
"""

# One reconciler at a time across processes; any fixed number works (cf. postgres_schema).
_RECONCILE_LOCK_KEY = 0x7065_7373_6F61_7302


class PostgresSearchIndex:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        # Horizons of the previous pass and the one before it (None: not read yet).
        self._low: int | None = None
        self._high: int | None = None
        self._first_pass_done = False

    async def index(self, ids: Sequence[uuid.UUID]) -> int:
        if not ids:
            return 0
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(_INDEX, (list(ids),))
                return max(cursor.rowcount, 0)
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"PostgreSQL is unavailable: {exc}") from exc

    async def index_missing(self) -> int:
        try:
            async with self._pool.connection() as conn, conn.transaction():
                locked = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_RECONCILE_LOCK_KEY,))
                row = await locked.fetchone()
                if row is None or not row[0]:
                    return 0  # another reconciler is on it; this one's horizons stay as they were
                horizon = await conn.execute(_HORIZON)
                now = await horizon.fetchone()
                assert now is not None
                # The horizon is read in its own statement, before the one that reads the rows:
                # READ COMMITTED gives that one a newer snapshot, which sees every transaction
                # that had ended when the horizon was read.
                low: int | None
                high: int | None
                if not self._first_pass_done:
                    low, high = None, int(now[0])
                else:
                    low, high = self._low, self._high
                indexed = 0
                if high is not None and (low is None or low < high):
                    cursor = await conn.execute(
                        _INDEX_MISSING, {"low": None if low is None else str(low), "high": str(high)}
                    )
                    indexed = max(cursor.rowcount, 0)
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"PostgreSQL is unavailable: {exc}") from exc
        if not self._first_pass_done:
            self._first_pass_done = True
            self._low = self._high = int(now[0])
        else:
            self._low, self._high = self._high, int(now[0])
        return indexed
