"""PessoaWriter and PessoaReader over the SQLite file (schema in :mod:`pessoas.adapters.sqlite_file`).

Writes go through the one writer thread, reads through the read pool. The UNIQUE index on
apelido is the arbiter of apelidos: a pessoa whose apelido is stored under another id is skipped.

Search: for a term of three characters or more, the FTS5 trigram index finds the rows whose search
text (the lower-cased fields joined by a separator) holds a few of the lower-cased term's
trigrams (up to four, spread from its start to its end: more trigrams cost more than they
narrow); shorter terms, which trigrams cannot answer, scan the search text. Either way SQL then
compares the text exactly (``instr``, so ``%``, ``_`` and ``\\`` are ordinary characters), and
each candidate is checked with the domain's own rule, :meth:`Pessoa.matches`: that drops a hit spanning
two fields (only possible for a term containing the separator) and makes the case folding
exactly Python's, as in the in-memory twin. Candidates are read lazily until ``limit`` pass.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import Any

from pessoas.adapters.sqlite_reads import SqliteReadPool
from pessoas.adapters.sqlite_writer import Outcome, SqliteWriter
from pessoas.domain.model import Pessoa, fold_case

_COLUMNS = "p.id, p.apelido, p.nome, p.nascimento, p.stack"
_GET = f"SELECT {_COLUMNS} FROM pessoas AS p WHERE p.id = ?"  # noqa: S608 (constant column list)
# CROSS JOIN keeps the index's matches as the outer loop, so reading stops at the limit.
_SEARCH_INDEXED = f"""
SELECT {_COLUMNS} FROM pessoas_search CROSS JOIN pessoas AS p ON p.rowid = pessoas_search.rowid
WHERE pessoas_search MATCH ? AND instr(p.search, ?) > 0
"""  # noqa: S608 (constant column list)
_ALL_BY_ID = f"SELECT {_COLUMNS} FROM pessoas AS p ORDER BY p.id"  # noqa: S608 (constant column list)
_SEARCH_SCAN = f"SELECT {_COLUMNS} FROM pessoas AS p WHERE instr(p.search, ?) > 0"  # noqa: S608
_TRIGRAM = 3
_TRIGRAMS_ASKED = 4


def _pessoa(row: tuple[Any, ...]) -> Pessoa:
    pessoa_id, apelido, nome, nascimento, stack = row
    return Pessoa(
        id=uuid.UUID(pessoa_id),
        apelido=apelido,
        nome=nome,
        nascimento=dt.date.fromisoformat(nascimento),
        stack=tuple(json.loads(stack)) if stack is not None else None,
    )


def _trigram_query(needle: str) -> str:
    """An FTS5 query for rows holding some of the needle's trigrams, each one a literal string."""
    trigrams = list(dict.fromkeys(needle[i : i + _TRIGRAM] for i in range(len(needle) - _TRIGRAM + 1)))
    if len(trigrams) > _TRIGRAMS_ASKED:
        last = len(trigrams) - 1
        spread = sorted({round(k * last / (_TRIGRAMS_ASKED - 1)) for k in range(_TRIGRAMS_ASKED)})
        trigrams = [trigrams[k] for k in spread]
    return " AND ".join('"' + trigram.replace('"', '""') + '"' for trigram in trigrams)


class SqlitePessoaStore:
    def __init__(self, writer: SqliteWriter, reads: SqliteReadPool) -> None:
        self._writer = writer
        self._reads = reads

    async def add_many(self, pessoas: Sequence[Pessoa]) -> set[uuid.UUID]:
        if not pessoas:
            return set()
        outcomes = await self._writer.write(pessoas)
        return {
            pessoa.id for pessoa, outcome in zip(pessoas, outcomes, strict=True) if outcome is Outcome.STORED
        }

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        def read(conn: sqlite3.Connection) -> Pessoa | None:
            row = conn.execute(_GET, (str(pessoa_id),)).fetchone()
            return _pessoa(row) if row is not None else None

        return await self._reads.run(read)

    async def pages(self, size: int) -> AsyncGenerator[list[Pessoa], None]:
        # The id is stored as lower-case hexadecimal text, whose order is the UUIDs' own.
        async with aclosing(self._reads.stream(_ALL_BY_ID, size)) as rows_pages:
            async for rows in rows_pages:
                yield [_pessoa(row) for row in rows]

    async def search(self, term: str, limit: int) -> list[Pessoa]:
        needle = fold_case(term)
        if "\x00" in needle:
            return []  # no field may hold NUL (the domain refuses it)

        def read(conn: sqlite3.Connection) -> list[Pessoa]:
            if len(needle) >= _TRIGRAM:
                cursor = conn.execute(_SEARCH_INDEXED, (_trigram_query(needle), needle))
            else:
                cursor = conn.execute(_SEARCH_SCAN, (needle,))
            found: list[Pessoa] = []
            while len(found) < limit and (rows := cursor.fetchmany(limit)):
                found.extend(p for p in map(_pessoa, rows) if p.matches(term))
            cursor.close()
            return found[:limit]

        return await self._reads.run(read)

    async def count(self) -> int:
        return await self._reads.run(
            lambda conn: int(conn.execute("SELECT count(*) FROM pessoas").fetchone()[0])
        )

    async def check(self) -> None:
        # Readiness: the file answers a read on the pool's connections (a full or read-only disk
        # shows on the writes themselves, as 503s with nothing promised).
        await self._reads.run(lambda conn: conn.execute("SELECT 1 FROM pessoas LIMIT 1").fetchall())

    # SearchIndex: the FTS5 index is written by a trigger in the transaction that stores the row,
    # so every committed pessoa is searchable at once and there is never anything left to index.

    async def index(self, ids: Sequence[uuid.UUID]) -> int:
        return 0

    async def index_missing(self) -> int:
        return 0
