"""PessoaWriter and PessoaReader over PostgreSQL (schema in :mod:`pessoas.adapters.postgres_schema`).

The pool should hand out autocommit connections (the container configures it so): every method
here is a single statement, atomic on its own, and autocommit spares the extra COMMIT round trip.
With a non-autocommit pool everything still works, the pool commits when the connection returns.

Case-insensitive search lower-cases both the stored fields and the term with PostgreSQL's
``lower()``, so the two sides always agree with each other. Under the database's UTF-8 ``LC_CTYPE``
``lower()`` maps one code point to one code point, which is the contract's reading of
"case-insensitively" (:func:`pessoas.domain.model.fold_case`, what the in-memory twin uses): ``"İ"``
is ``"i"`` and a capital sigma is the ordinary small sigma (U+03C3) even at the end of a word.
The store contract pins both. Under a ``C`` (not ``C.UTF-8``) ctype only ASCII letters would be folded.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout

from pessoas.adapters.postgres_schema import SEARCH_SEPARATOR
from pessoas.domain.errors import StorageUnavailable, StorageUncertain
from pessoas.domain.model import Pessoa

logger = logging.getLogger(__name__)

_COLUMNS = "id, apelido, nome, nascimento, stack"

# One statement, one round trip for the whole batch: the columns travel as parallel arrays.
# A stack is a text[] of its own and PostgreSQL arrays cannot be ragged, so every stack is flattened
# into one array and each row carries the bounds of its slice (NULL bounds for no stack; lo > hi gives
# the empty array). Parameters go in binary (%b), so the server parses no array text (faster for
# large batches: docs/performance-log.md). ON CONFLICT DO NOTHING, with no target, skips a row that
# collides on either unique column, with a stored row or an earlier row of the same statement; RETURNING
# names the rows stored, so every other row of the batch lost its apelido.
_INSERT = """
INSERT INTO pessoas (id, apelido, nome, nascimento, stack)
SELECT r.id, r.apelido, r.nome, r.nascimento,
       CASE WHEN r.lo IS NULL THEN NULL ELSE (%(items)b::text[])[r.lo:r.hi] END
FROM unnest(%(ids)b::uuid[], %(apelidos)b::text[], %(nomes)b::text[], %(nascimentos)b::date[],
            %(los)b::int4[], %(his)b::int4[])
     AS r(id, apelido, nome, nascimento, lo, hi)
ON CONFLICT DO NOTHING
RETURNING id
"""

_GET = f"SELECT {_COLUMNS} FROM pessoas WHERE id = %s"  # noqa: S608 (constant column list)

# Read through a server-side cursor: the server keeps the result and hands it over a page at a
# time, all of it from the one snapshot the cursor was opened with.
_ALL_BY_ID = f"SELECT {_COLUMNS} FROM pessoas ORDER BY id"  # noqa: S608 (constant column list)

# The LIKE on the search text is what the trigram index answers. The term is lower-cased by the
# same lower() as the text, and its LIKE metacharacters are escaped beforehand (lower() leaves
# \ % and _ alone), so the term is matched literally.
_SEARCH = f"""
SELECT {_COLUMNS} FROM pessoas_search
WHERE search LIKE '%%' || lower(%(pattern)s) || '%%'
LIMIT %(limit)s
"""  # noqa: S608 (constant column list)

# For a term that contains the separator itself, a hit in the search text could span two fields,
# so each field is checked on its own as well. The search text still narrows the candidates through
# the index, since a match inside one field is always a match inside the joined text.
_SEARCH_EXACT = f"""
SELECT {_COLUMNS} FROM pessoas_search
WHERE search LIKE '%%' || lower(%(pattern)s) || '%%'
  AND (lower(apelido) LIKE '%%' || lower(%(pattern)s) || '%%'
       OR lower(nome) LIKE '%%' || lower(%(pattern)s) || '%%'
       OR EXISTS (SELECT 1 FROM unnest(stack) AS item
                  WHERE lower(item) LIKE '%%' || lower(%(pattern)s) || '%%'))
LIMIT %(limit)s
"""  # noqa: S608 (constant column list)


def _sent(exc: psycopg.OperationalError) -> bool:
    """Whether the statement may have reached the server before ``exc`` (else nothing was sent).

    The pool's own failures (no connection within its timeout, the pool closed) come before any
    statement is sent; any other operational error happened on a connection the statement was
    given to, so its commit is unknown.
    """
    return not isinstance(exc, PoolTimeout | PoolClosed)


def _like_literal(term: str) -> str:
    """Escapes LIKE's metacharacters (the default escape character is the backslash)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _pessoa(row: tuple[Any, ...]) -> Pessoa:
    pessoa_id, apelido, nome, nascimento, stack = row
    return Pessoa(
        id=pessoa_id,
        apelido=apelido,
        nome=nome,
        nascimento=nascimento,
        stack=tuple(stack) if stack is not None else None,
    )


class PostgresPessoaStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection; PostgreSQL down, restarting or out of connections is StorageUnavailable.

        A connection broken by a restart fails its statement once and the pool discards it.
        """
        try:
            async with self._pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as exc:  # PoolTimeout is one too
            raise StorageUnavailable(f"PostgreSQL is unavailable: {exc}") from exc

    async def add_many(self, pessoas: Sequence[Pessoa]) -> set[uuid.UUID]:
        if not pessoas:
            return set()
        items: list[str] = []
        los: list[int | None] = []
        his: list[int | None] = []
        for pessoa in pessoas:
            if pessoa.stack is None:
                los.append(None)
                his.append(None)
            else:
                # PostgreSQL arrays are 1-based and slices include both bounds.
                los.append(len(items) + 1)
                items.extend(pessoa.stack)
                his.append(len(items))
        params = {
            "ids": [p.id for p in pessoas],
            "apelidos": [p.apelido for p in pessoas],
            "nomes": [p.nome for p in pessoas],
            "nascimentos": [p.nascimento for p in pessoas],
            "los": los,
            "his": his,
            "items": items,
        }
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(_INSERT, params)
                rows = await cursor.fetchall()
        except psycopg.OperationalError as exc:
            # Autocommit: the statement is its own transaction. A failure before the statement
            # reached the server (no connection, the pool empty) stored nothing; a connection
            # lost while it ran leaves its commit unknown.
            if _sent(exc):
                raise StorageUncertain(f"PostgreSQL did not confirm the commit: {exc}") from exc
            raise StorageUnavailable(f"PostgreSQL is unavailable: {exc}") from exc
        return {row[0] for row in rows}

    async def pages(self, size: int) -> AsyncGenerator[list[Pessoa], None]:
        try:
            async with (
                self._pool.connection() as conn,
                conn.transaction(),
                conn.cursor(name="pessoas_export") as cursor,
            ):
                await cursor.execute(_ALL_BY_ID)
                while rows := await cursor.fetchmany(size):
                    yield [_pessoa(row) for row in rows]
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"PostgreSQL is unavailable: {exc}") from exc

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        async with self._connection() as conn:
            cursor = await conn.execute(_GET, (pessoa_id,))
            row = await cursor.fetchone()
        return _pessoa(row) if row is not None else None

    async def search(self, term: str, limit: int) -> list[Pessoa]:
        if "\x00" in term:
            # PostgreSQL text cannot hold NUL, so no stored field contains it (and sending it would fail).
            return []
        query = _SEARCH_EXACT if SEARCH_SEPARATOR in term else _SEARCH
        async with self._connection() as conn:
            # prepare=False: an unnamed statement is planned with the actual pattern, so the planner
            # picks the trigram index for a rare term and a plain scan for a very common one. A
            # prepared statement would soon switch to one generic plan for every term.
            cursor = await conn.execute(
                query, {"pattern": _like_literal(term), "limit": limit}, prepare=False
            )
            rows = await cursor.fetchall()
        return [_pessoa(row) for row in rows]

    async def count(self) -> int:
        async with self._connection() as conn:
            cursor = await conn.execute("SELECT count(*) FROM pessoas")
            row = await cursor.fetchone()
        assert row is not None  # count(*) always yields one row
        return int(row[0])

    async def check(self) -> None:
        # A pool whose connections are all busy under load is still a working database: the
        # probe waits its turn like any request (the caller bounds the wait).
        async with self._connection() as conn:
            await conn.execute("SELECT 1")
