"""The PostgreSQL schema of pessoas, created (or brought up to date) idempotently.

Two tables:

- ``pessoas`` is the record: what a creation commits before its 201. It carries only the
  indexes that decide and find a pessoa (the id and the unique apelido), plus ``txid``, the id
  of the transaction that stored the row, which lets the reconciler find recent rows without
  scanning the table (:mod:`pessoas.adapters.postgres_search_index`).
- ``pessoas_search`` is the search index: one row per searchable pessoa, a copy of its fields
  (so a search reads one table) and the lower-cased fields joined by :data:`SEARCH_SEPARATOR`,
  under a trigram GIN index. The worker fills it after the commit, so a creation never pays for
  the trigram index. It is derived data: dropped and rebuilt (by the reconciler) whenever its
  shape is older than this one.

Every statement is ``IF NOT EXISTS`` / ``OR REPLACE``, and the whole set runs in one transaction
under an advisory lock, so several processes starting at once can all call :func:`ensure_schema`:
the first creates everything, the others wait and find it done. A database made by an earlier
version (a generated search column on ``pessoas``) is brought to this shape: its rows stay, and
the reconciler indexes them.
"""

from __future__ import annotations

import psycopg
from psycopg_pool import AsyncConnectionPool

# Joins the lower-cased fields in the search text. A unit separator cannot be typed in the
# payloads the service sees, but the domain does not forbid it, so the store falls back to an exact
# per-field check for any term that contains it (see PostgresPessoaStore.search).
SEARCH_SEPARATOR = "\x1f"

# Any fixed 64-bit number works; this one spells nothing and is unlikely to collide with other users
# of advisory locks in the same database.
_SCHEMA_LOCK_KEY = 0x7065_7373_6F61_7301

_DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # stack is NULL when none was given and '{}' when an empty array was given: both read back as sent.
    """
    CREATE TABLE IF NOT EXISTS pessoas (
        id uuid PRIMARY KEY,
        apelido text NOT NULL UNIQUE,
        nome text NOT NULL,
        nascimento date NOT NULL,
        stack text[],
        txid xid8 NOT NULL DEFAULT pg_current_xact_id()
    )
    """,
    # The earlier shape: a search column generated on the record, with its trigram index.
    "ALTER TABLE pessoas ADD COLUMN IF NOT EXISTS txid xid8 NOT NULL DEFAULT pg_current_xact_id()",
    "ALTER TABLE pessoas DROP COLUMN IF EXISTS search",
    "DROP FUNCTION IF EXISTS pessoas_stack_text(text[])",
    "CREATE INDEX IF NOT EXISTS pessoas_txid ON pessoas (txid)",
    # What the search text of a row is, in one place for the worker and the reconciler.
    # array_to_string is only STABLE in general, but for text[] it depends on nothing but its
    # input, so this function can honestly be IMMUTABLE.
    """
    CREATE OR REPLACE FUNCTION pessoas_search_text(apelido text, nome text, stack text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT lower(apelido || E'\\x1f' || nome || E'\\x1f'
                     || coalesce(array_to_string(stack, E'\\x1f'), ''))
    $$
    """,
    # Derived data of an older shape (without the pessoa's fields) goes: the reconciler's first
    # pass fills the new table from the record.
    """
    DO $$ BEGIN
        IF to_regclass('pessoas_search') IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM pg_attribute
            WHERE attrelid = to_regclass('pessoas_search') AND attname = 'nascimento' AND NOT attisdropped
        ) THEN
            DROP TABLE pessoas_search;
        END IF;
    END $$
    """,
    """
    CREATE TABLE IF NOT EXISTS pessoas_search (
        id uuid PRIMARY KEY,
        apelido text NOT NULL,
        nome text NOT NULL,
        nascimento date NOT NULL,
        stack text[],
        search text NOT NULL
    )
    """,
    # The GIN pending list makes inserts cheap but is scanned linearly by every search until it is
    # merged: a short list trades a little insert CPU for much cheaper searches (docs/performance-log.md).
    """
    CREATE INDEX IF NOT EXISTS pessoas_search_trgm ON pessoas_search
    USING gin (search gin_trgm_ops) WITH (gin_pending_list_limit = 256)
    """,
)


async def ensure_schema(target: AsyncConnectionPool | str) -> None:
    """Creates whatever part of the schema is missing; a pool (already open) or a conninfo."""
    if isinstance(target, str):
        # A short-lived connection of its own, so `pessoas migrate` needs no pool.
        async with await psycopg.AsyncConnection.connect(target) as conn:
            await _apply(conn)
    else:
        async with target.connection() as conn:
            await _apply(conn)


async def _apply(conn: psycopg.AsyncConnection) -> None:
    async with conn.transaction():
        # Transaction-scoped: released by the commit, even if this process dies halfway.
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
        for statement in _DDL:
            await conn.execute(statement)
