"""``pessoas export`` / ``pessoas import`` between the embedded SQLite file and PostgreSQL, both ways.

The commands run as processes under the settings that choose each storage, as an operator moves
data from the embedded default to the stack and back. Imported pessoas must be searchable on the
stack: the import indexes them itself, and the reconciler finds them too (by their transaction
id) should that indexing be lost.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest

from pessoas.adapters.postgres_search_index import PostgresSearchIndex
from pessoas.adapters.postgres_store import PostgresPessoaStore
from tests.transfer_cli import jsonl, pessoas, settings_env

pytestmark = pytest.mark.integration


def records(count: int, prefix: str) -> list[dict[str, object]]:
    return [
        {
            "id": str(uuid.uuid4()),
            "apelido": f"{prefix}{i:04d}",
            "nome": f"Nome {i} ç",
            "nascimento": f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}",
            "stack": None if i % 7 == 0 else [] if i % 11 == 0 else ["Go", f"s{i}"],
        }
        for i in range(count)
    ]


def in_id_order(items: list[dict[str, object]]) -> bytes:
    return jsonl(*sorted(items, key=lambda r: uuid.UUID(str(r["id"]))))


async def test_sqlite_to_postgres_and_back_keeps_every_pessoa(
    tmp_path: Path, store: PostgresPessoaStore, pool
):
    database_url = pool.conninfo
    sqlite = settings_env(sqlite_path=str(tmp_path / "embedded.sqlite3"))
    postgres = settings_env(database_url=database_url)
    sent = records(120, "mover")
    (tmp_path / "in.jsonl").write_bytes(jsonl(*sent))
    assert pessoas("import", str(tmp_path / "in.jsonl"), env=sqlite).returncode == 0

    # SQLite -> PostgreSQL
    out_of_sqlite = pessoas("export", str(tmp_path / "sqlite.jsonl"), "--batch", "50", env=sqlite)
    assert out_of_sqlite.returncode == 0, out_of_sqlite.stderr
    into_pg = pessoas("import", str(tmp_path / "sqlite.jsonl"), "--batch", "33", env=postgres)
    assert into_pg.returncode == 0, into_pg.stderr
    assert into_pg.stderr.endswith(
        b"120 lines read, 120 imported, 0 already present, 0 invalid, 0 conflicts\n"
    )
    assert await store.count() == 120
    for item in sent:
        stored = await store.get(uuid.UUID(str(item["id"])))
        assert stored is not None and stored.apelido == item["apelido"]
        # Searchable at once: the import indexed what it stored (no worker runs here).
        assert [p.id for p in await store.search(str(item["apelido"]), 50)] == [stored.id]

    # PostgreSQL -> SQLite: the same bytes out of either storage.
    out_of_pg = pessoas("export", env=postgres)
    assert out_of_pg.returncode == 0, out_of_pg.stderr
    assert out_of_pg.stdout == (tmp_path / "sqlite.jsonl").read_bytes() == in_id_order(sent)
    back = settings_env(sqlite_path=str(tmp_path / "back.sqlite3"))
    assert pessoas("import", env=back, stdin=out_of_pg.stdout).returncode == 0
    assert pessoas("export", env=back).stdout == out_of_pg.stdout


async def test_an_import_into_postgres_reports_invalid_lines_and_conflicts(tmp_path: Path, store, pool):
    postgres = settings_env(database_url=pool.conninfo)
    held = records(1, "ocupado")[0]
    (tmp_path / "held.jsonl").write_bytes(jsonl(held))
    assert pessoas("import", str(tmp_path / "held.jsonl"), env=postgres).returncode == 0
    fresh = records(3, "novo")
    lines = jsonl(
        fresh[0],
        {**held, "id": str(uuid.uuid4()), "nome": "Outra"},  # 2: apelido held
        {**fresh[1], "stack": ["x" * 33]},  # 3: invalid, nothing of it stored
        held,  # 4: already present
        {**fresh[2], "id": held["id"]},  # 5: id held
    )
    result = pessoas("import", env=postgres, stdin=lines)
    assert result.returncode == 3
    assert result.stderr.decode().splitlines() == [
        "pessoas import: line 2: conflict: apelido 'ocupado0000' is held by another pessoa",
        "pessoas import: line 3: invalid: an element of stack must have at most 32 characters",
        f"pessoas import: line 5: conflict: id {held['id']} is held by another pessoa"
        " (apelido 'ocupado0000')",
        "pessoas import: 5 lines read, 1 imported, 1 already present, 1 invalid, 2 conflicts",
    ]
    assert await store.count() == 2
    assert await store.get(uuid.UUID(str(fresh[1]["id"]))) is None


@pytest.mark.pg_horizon
async def test_a_running_reconciler_finds_imported_pessoas_whose_indexing_was_lost(
    tmp_path: Path, store, pool
):
    # A worker's reconciler that has made its first pass before the import.
    reconciler = PostgresSearchIndex(pool)
    await reconciler.index_missing()
    sent = records(40, "reconciliada")
    result = pessoas("import", env=settings_env(database_url=pool.conninfo), stdin=jsonl(*sent))
    assert result.returncode == 0, result.stderr
    async with pool.connection() as conn:
        await conn.execute("TRUNCATE pessoas_search")  # the import's own indexing, lost
    assert await store.search("reconciliada", 50) == []
    # Imported rows carry the id of the transaction that stored them, as a creation's do: the
    # reconciler's next passes (one of grace, then one that looks) take them.
    for _ in range(3):
        await reconciler.index_missing()
    assert {str(p.id) for p in await store.search("reconciliada", 50)} == {str(r["id"]) for r in sent}


async def test_an_export_from_postgres_comes_in_id_order_page_after_page(tmp_path: Path, store, pool):
    sent = records(30, "foto")
    (tmp_path / "in.jsonl").write_bytes(jsonl(*sent))
    env = settings_env(database_url=pool.conninfo)
    assert pessoas("import", str(tmp_path / "in.jsonl"), env=env).returncode == 0
    exported = pessoas("export", "--batch", "7", env=env)
    assert exported.returncode == 0
    assert [orjson.loads(line)["apelido"] for line in exported.stdout.splitlines()] == [
        r["apelido"] for r in sorted(sent, key=lambda r: uuid.UUID(str(r["id"])))
    ]
