"""deploy/local/backup.sh: a backup taken while creations flow, restored into a fresh database.

pg_dump reads one snapshot. "The same rows" is checked exactly against that snapshot: the test
exports a snapshot of its own (``pg_export_snapshot``), reads every row it holds, and has the
recipe dump that very snapshot (pg_dump ``--snapshot``). The restore must then hold exactly those
rows, field for field, and every one of them must be searchable, including those the worker had
not indexed yet when the snapshot was taken. A second backup, the plain recipe with no option,
is checked against what can be known from outside: everything committed before it began, nothing
that was never committed, and every row as stored.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.postgres_schema import ensure_schema
from pessoas.adapters.postgres_search_index import PostgresSearchIndex
from pessoas.adapters.postgres_store import PostgresPessoaStore
from pessoas.application.use_cases import CreatePessoa
from pessoas.domain.errors import ApelidoTaken
from tests.integration.conftest import ADMIN_URL

pytestmark = pytest.mark.integration

BACKUP_SH = Path(__file__).resolve().parents[2] / "deploy" / "local" / "backup.sh"
ROWS = "SELECT id::text, apelido, nome, nascimento, stack FROM pessoas ORDER BY id"
SEARCH_ROWS = "SELECT id::text, apelido, nome, nascimento, stack, search FROM pessoas_search ORDER BY id"


class EveryThirdLost:
    """A queue whose worker indexes two announcements in three: the rest wait for the reconciler."""

    def __init__(self, index: PostgresSearchIndex) -> None:
        self._index = index
        self._turn = itertools.count()

    async def announce(self, ids: Sequence[uuid.UUID]) -> None:
        if next(self._turn) % 3:
            await self._index.index(ids)


@pytest.fixture
def databases() -> Iterator[Any]:
    """Makes databases of this test's own on demand, all dropped at the end."""
    made: list[str] = []

    def make(create: bool = True) -> str:
        name = f"pessoas_backup_{uuid.uuid4().hex[:10]}"
        made.append(name)
        if create:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return ADMIN_URL.rsplit("/", 1)[0] + "/" + name  # a URL, as backup.sh takes

    yield make
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        for name in made:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
async def source(databases) -> AsyncIterator[tuple[str, AsyncConnectionPool]]:
    url = databases()
    await ensure_schema(url)
    pool = AsyncConnectionPool(url, min_size=2, max_size=6, kwargs={"autocommit": True}, open=False)
    await pool.open(wait=True, timeout=10)
    try:
        yield url, pool
    finally:
        await pool.close()


def backup_sh(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["bash", str(BACKUP_SH), *args],
        env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "PESSOAS_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def rows(url: str, query: str = ROWS) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return comparable(conn.execute(query).fetchall())


def comparable(fetched: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows whose stack (a list) is a tuple, so that sets of rows can be compared."""
    return [tuple(tuple(v) if isinstance(v, list) else v for v in row) for row in fetched]


class Creations:
    """Creations through the use case, as fast as storage takes them, until stopped."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        index = PostgresSearchIndex(pool)
        self.create = CreatePessoa(PostgresPessoaStore(pool), InMemoryPessoaCache(), EveryThirdLost(index))
        self.created = 0
        self._numbers = itertools.count()
        self._stop = asyncio.Event()

    async def _one_client(self) -> None:
        while not self._stop.is_set():
            n = next(self._numbers)
            body = {"apelido": f"carga{n:07d}", "nome": f"Carga {n}", "nascimento": "1999-09-09"}
            body["stack"] = None if n % 5 == 0 else ["Go", f"s{n % 13}"]
            try:
                await self.create(body)
            except ApelidoTaken:  # never: each apelido is new
                raise
            self.created += 1

    async def run(self, clients: int = 16) -> None:
        await asyncio.gather(*(self._one_client() for _ in range(clients)))
        await self.create.settle()

    def stop(self) -> None:
        self._stop.set()


async def test_a_backup_under_load_restores_exactly_its_snapshot(tmp_path: Path, source, databases):
    url, pool = source
    load = Creations(pool)
    flowing = asyncio.get_running_loop().create_task(load.run())
    try:
        while load.created < 1500:  # something to back up, then a backup while creations go on
            await asyncio.sleep(0.05)

        def dump_a_known_snapshot() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
            with psycopg.connect(url) as conn:
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
                held = comparable(conn.execute(ROWS).fetchall())
                held_search = comparable(conn.execute(SEARCH_ROWS).fetchall())
                backup_sh("backup", str(tmp_path / "exact.dump"), f"--snapshot={snapshot}", database_url=url)
                conn.rollback()
            return held, held_search

        created_before = load.created
        snapshot_rows, snapshot_search = await asyncio.to_thread(dump_a_known_snapshot)
        created_during = load.created - created_before

        committed_before = rows(url)
        await asyncio.to_thread(backup_sh, "backup", str(tmp_path / "plain.dump"), database_url=url)
        committed_after = rows(url)
    finally:
        load.stop()
        await flowing
    assert created_during > 0, "no creation committed while the backup ran"
    assert len(committed_after) > len(committed_before)
    # Some pessoas were not searchable yet when the snapshot was taken (their announcement lost).
    assert 0 < len(snapshot_search) < len(snapshot_rows)

    restored = databases(create=False)  # backup.sh creates it
    log = backup_sh("restore", str(tmp_path / "exact.dump"), restored, database_url=url).stderr
    assert (
        f"restored: {len(snapshot_rows)} pessoas; {len(snapshot_rows) - len(snapshot_search)} indexed" in log
    )
    assert rows(restored) == snapshot_rows  # the same count, the same rows, field for field
    # Every restored pessoa is searchable: the snapshot's search rows as they were, plus the others.
    restored_search = rows(restored, SEARCH_ROWS)
    assert [row[:5] for row in restored_search] == snapshot_rows
    assert set(snapshot_search) <= set(restored_search)
    restored_store = AsyncConnectionPool(
        restored, min_size=1, max_size=2, kwargs={"autocommit": True}, open=False
    )
    await restored_store.open(wait=True, timeout=10)
    try:
        store = PostgresPessoaStore(restored_store)
        assert await store.count() == len(snapshot_rows)
        last = snapshot_rows[-1]
        assert [str(p.id) for p in await store.search(last[1], 50)] == [last[0]]
    finally:
        await restored_store.close()

    plain = databases(create=False)
    backup_sh("restore", str(tmp_path / "plain.dump"), plain, database_url=url)
    plain_rows = rows(plain)
    assert set(committed_before) <= set(plain_rows) <= set(committed_after)


def test_a_restore_refuses_a_database_that_holds_pessoas(tmp_path: Path, databases):
    url = databases()
    asyncio.run(ensure_schema(url))
    backup_sh("backup", str(tmp_path / "empty.dump"), database_url=url)
    refused = subprocess.run(
        ["bash", str(BACKUP_SH), "restore", str(tmp_path / "empty.dump"), url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 1
    assert "already holds a pessoas table" in refused.stderr
