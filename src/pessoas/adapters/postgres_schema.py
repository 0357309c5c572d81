"""The PostgreSQL schema of pessoas, created idempotently.

Every statement is ``IF NOT EXISTS`` / ``OR REPLACE``, and the whole set runs in one transaction
under an advisory lock, so several processes starting at once (two API instances and a worker)
can all call :func:`ensure_schema`: the first creates everything, the others wait and find it done.
Without the lock two concurrent ``CREATE EXTENSION IF NOT EXISTS`` or ``CREATE TABLE IF NOT EXISTS``
can still fail with a unique violation in the catalogs.
"""

from __future__ import annotations

import psycopg
from psycopg_pool import AsyncConnectionPool

# Joins the lower-cased fields in the search column. A unit separator cannot be typed in the
# payloads the service sees, but the domain does not forbid it, so the store falls back to an exact
# per-field check for any term that contains it (see PostgresPessoaStore.search).
SEARCH_SEPARATOR = "\x1f"

# Any fixed 64-bit number works; this one spells nothing and is unlikely to collide with other users
# of advisory locks in the same database.
_SCHEMA_LOCK_KEY = 0x7065_7373_6F61_7301

_DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # array_to_string is only STABLE (element output functions could depend on settings), so a
    # generated column cannot call it directly. For text[] the result depends on nothing but the
    # input, so this wrapper can honestly be IMMUTABLE.
    """
    CREATE OR REPLACE FUNCTION pessoas_stack_text(stack text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT array_to_string(stack, E'\\x1f') $$
    """,
    # stack is NULL when none was given and '{}' when an empty array was given: both read back as sent.
    # search is what the trigram index covers: every searchable field, lower-cased, separated by
    # SEARCH_SEPARATOR so that a term without that character can only match inside one field.
    """
    CREATE TABLE IF NOT EXISTS pessoas (
        id uuid PRIMARY KEY,
        apelido text NOT NULL UNIQUE,
        nome text NOT NULL,
        nascimento date NOT NULL,
        stack text[],
        search text NOT NULL GENERATED ALWAYS AS (
            lower(apelido || E'\\x1f' || nome || E'\\x1f' || coalesce(pessoas_stack_text(stack), ''))
        ) STORED
    )
    """,
    "CREATE INDEX IF NOT EXISTS pessoas_search_trgm ON pessoas USING gin (search gin_trgm_ops)",
    # The GIN pending list makes inserts cheap but is scanned linearly by every search until it is
    # merged: a short list trades a little insert CPU for much cheaper searches, and at the
    # reference load's mix of inserts and searches this size costs the least in all (the sizes
    # tried and their costs are in docs/performance.md).
    "ALTER INDEX pessoas_search_trgm SET (gin_pending_list_limit = 256)",
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
