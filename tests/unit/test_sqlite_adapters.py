"""The SQLite adapters: the store contract, then what only the file can show."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pessoas.adapters.indexed_on_commit import IndexedOnCommit
from pessoas.adapters.no_cache import NoCache
from pessoas.adapters.sqlite_file import SEARCH_SEPARATOR, SqliteFile
from pessoas.adapters.sqlite_reads import SqliteReadPool
from pessoas.adapters.sqlite_store import SqlitePessoaStore
from pessoas.adapters.sqlite_writer import SqliteWriter
from pessoas.application.use_cases import CreatePessoa
from pessoas.domain.errors import ApelidoTaken, StorageUnavailable, StorageUnusable
from tests.contracts.pessoas_factory import make_pessoa
from tests.contracts.store_contract import ExportContract, StoreContract

BODY = {"apelido": "guardada", "nome": "Guardada", "nascimento": "2000-01-01", "stack": None}


def body(apelido: str, nome: str = "Nome") -> dict[str, object]:
    return dict(BODY, apelido=apelido, nome=nome)


class Embedded:
    """A prepared file with its writer thread and read pool running, as the container starts them.

    ``create`` is the creation use case as the embedded group composes it: the store commits, no
    cache, nothing to announce (the file indexes in the committing transaction).
    """

    def __init__(self, path, connect_writer=None) -> None:
        self.file = SqliteFile(path, busy_ms=200)
        self.file.prepare()
        self.writer = SqliteWriter(connect_writer or self.file.connect_writer, batch_max=1000)
        self.reads = SqliteReadPool(self.file.connect_reader, threads=2)
        self.store = SqlitePessoaStore(self.writer, self.reads)
        # No pause after an outage: the tests retry at once once the file takes writes again.
        self.create = CreatePessoa(self.store, NoCache(), IndexedOnCommit(), pause_after_outage=0)

    async def __aenter__(self) -> Embedded:
        self.writer.start()
        self.reads.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def close(self) -> None:
        await self.create.settle()
        await self.writer.stop()
        await self.reads.stop()


@pytest.fixture
async def embedded(tmp_path):
    async with Embedded(tmp_path / "pessoas.sqlite3") as running:
        yield running


class TestSqliteStore(StoreContract, ExportContract):
    @pytest.fixture
    def store(self, embedded):
        return embedded.store

    @pytest.fixture
    def search_index(self, embedded):
        return embedded.store  # the file is its own search index


async def test_a_committed_pessoa_is_searchable_at_once_and_nothing_is_left_to_index(embedded):
    pessoa = make_pessoa(apelido="imediata")
    assert await embedded.store.add_many([pessoa]) == {pessoa.id}
    assert await embedded.store.search("imediata", 50) == [pessoa]  # no index() call
    assert await embedded.store.index([pessoa.id]) == 0
    assert await embedded.store.index_missing() == 0


async def test_a_creation_commits_before_it_returns_and_then_the_table_holds_the_apelido(embedded, tmp_path):
    pessoa = await embedded.create(body("guardada"))
    # Another connection (another process, say) sees the row at once.
    other = sqlite3.connect(tmp_path / "pessoas.sqlite3")
    assert other.execute("SELECT id, apelido FROM pessoas").fetchall() == [(str(pessoa.id), "guardada")]
    other.close()
    assert [p.id for p in await embedded.store.search("guardada", 50)] == [pessoa.id]
    # No cache holds the apelido: the table's UNIQUE index refuses it.
    with pytest.raises(ApelidoTaken, match="'guardada'"):
        await embedded.create(body("guardada", nome="Outra"))
    assert await embedded.store.count() == 1


async def test_concurrent_creations_of_one_apelido_give_one_pessoa(embedded):
    results = await asyncio.gather(
        *(embedded.create(body("disputada")) for _ in range(30)), return_exceptions=True
    )
    created = [r for r in results if not isinstance(r, BaseException)]
    assert len(created) == 1
    assert all(isinstance(r, ApelidoTaken) for r in results if isinstance(r, BaseException))
    assert await embedded.store.count() == 1
    assert await embedded.store.get(created[0].id) == created[0]


async def test_concurrent_creations_share_transactions(tmp_path):
    commits: list[str] = []
    file = SqliteFile(tmp_path / "p.sqlite3")
    file.prepare()

    def traced():
        conn = file.connect_writer()
        conn.set_trace_callback(
            lambda statement: commits.append(statement) if statement == "COMMIT" else None
        )
        return conn

    async with Embedded(tmp_path / "p.sqlite3", connect_writer=traced) as running:
        created = await asyncio.gather(*(running.create(body(f"junta{i}")) for i in range(300)))
        assert await running.store.count() == 300
        assert {p.id for p in created} == {p.id for p in await running.store.search("junta", 300)}
    assert 1 <= len(commits) < 300 / 2


async def test_a_batch_with_one_taken_apelido_stores_the_others(embedded):
    await embedded.store.add_many([make_pessoa(apelido="dono")])
    batch = [make_pessoa(), make_pessoa(apelido="dono"), make_pessoa()]
    assert await embedded.store.add_many(batch) == {batch[0].id, batch[2].id}
    assert await embedded.store.get(batch[1].id) is None
    assert await embedded.store.get(batch[2].id) == batch[2]


async def test_duplicates_inside_one_batch_are_stored_once(embedded):
    pessoa = make_pessoa()
    twin = make_pessoa(apelido=pessoa.apelido)  # same apelido, another id: the first one wins
    assert await embedded.store.add_many([pessoa, pessoa, twin, pessoa]) == {pessoa.id}
    assert await embedded.store.get(pessoa.id) == pessoa
    assert await embedded.store.get(twin.id) is None


async def test_an_empty_stack_reads_back_empty_and_odd_items_exactly(embedded):
    empty = make_pessoa(stack=())
    odd = make_pessoa(
        apelido="😀 \u2028", nome="\x1f\n\t", stack=('a"b', "[c]", "d\\e", "ã", " f ", "null", "\U0001d518")
    )
    await embedded.store.add_many([empty, odd, make_pessoa(stack=None)])
    assert (await embedded.store.get(empty.id)).stack == ()
    assert await embedded.store.get(odd.id) == odd


async def test_a_term_containing_the_separator_cannot_span_fields(embedded):
    inside = make_pessoa(apelido=f"a{SEARCH_SEPARATOR}bc", nome="Nome", stack=None)
    spanning = make_pessoa(apelido="xa", nome="bcy", stack=("pq", "rs"))
    await embedded.store.add_many([inside, spanning])
    assert [p.id for p in await embedded.store.search(f"a{SEARCH_SEPARATOR}bc", 50)] == [inside.id]
    assert await embedded.store.search(f"q{SEARCH_SEPARATOR}r", 50) == []
    assert await embedded.store.search(f"y{SEARCH_SEPARATOR}pq", 50) == []


async def test_the_limit_counts_only_true_matches(embedded):
    # Fifty rows whose joined text matches only across fields come first, then the real matches.
    await embedded.store.add_many([make_pessoa(apelido=f"x{i}ab", nome="cd", stack=None) for i in range(50)])
    real = [make_pessoa(nome=f"ab{SEARCH_SEPARATOR}cd {i}", stack=None) for i in range(3)]
    await embedded.store.add_many(real)
    found = await embedded.store.search(f"ab{SEARCH_SEPARATOR}cd", 50)
    assert {p.id for p in found} == {p.id for p in real}


async def test_a_long_term_is_matched_whole_not_by_its_sampled_trigrams(embedded):
    whole = make_pessoa(nome="Maria Aparecida dos Santos Oliveira", stack=None)
    # Holds the start, the end and the middle of the term, never the term itself.
    pieces = make_pessoa(nome="maria apa ... tos oliveira ... ecida dos san", stack=None)
    await embedded.store.add_many([whole, pieces])
    assert [p.id for p in await embedded.store.search("MARIA APARECIDA DOS SANTOS OLIVEIRA", 50)] == [
        whole.id
    ]
    assert [p.id for p in await embedded.store.search("aaaaaaaaaa", 50)] == []


async def test_a_term_with_nul_finds_nothing(embedded):
    await embedded.store.add_many([make_pessoa(apelido="nul")])
    assert await embedded.store.search("nul\x00", 50) == []


async def test_short_and_long_terms_both_stop_at_the_limit(embedded):
    await embedded.store.add_many([make_pessoa(nome=f"Silva {i}") for i in range(120)])
    for term in ("s", "si", "sil", "silva"):
        assert len(await embedded.store.search(term, 50)) == 50


async def test_search_uses_the_trigram_index(embedded, tmp_path):
    await embedded.store.add_many([make_pessoa() for _ in range(20)])
    conn = sqlite3.connect(tmp_path / "pessoas.sqlite3")
    from pessoas.adapters import sqlite_store

    plan = conn.execute("EXPLAIN QUERY PLAN " + sqlite_store._SEARCH_INDEXED, ('"rob"', "rob")).fetchall()
    conn.close()
    assert "VIRTUAL TABLE INDEX" in str(plan) and "pessoas_search" in str(plan), plan


_text = st.text(alphabet=st.sampled_from(list("aAbBçÇ%_\\ \"'ßẞİıΣσς日😀\x1f")), min_size=1, max_size=8)


@given(
    fields=st.lists(st.tuples(_text, _text, st.none() | st.lists(_text, max_size=3)), min_size=1, max_size=6),
    term=_text,
)
async def test_search_agrees_with_the_domain_rule(tmp_path_factory, fields, term):
    path = tmp_path_factory.mktemp("search") / "p.sqlite3"
    async with Embedded(path) as running:
        pessoas = [
            make_pessoa(apelido=f"{apelido}{i}", nome=nome, stack=tuple(stack) if stack is not None else None)
            for i, (apelido, nome, stack) in enumerate(fields)
        ]
        await running.store.add_many(pessoas)
        expected = {p.id for p in pessoas if p.matches(term)}
        assert {p.id for p in await running.store.search(term, 50)} == expected


# --- failures: 503 material, nothing stored, nothing promised ---------------------------------


async def test_a_full_disk_refuses_the_write_and_stores_nothing(tmp_path):
    file = SqliteFile(tmp_path / "p.sqlite3")
    file.prepare()

    def tiny_disk():
        conn = file.connect_writer()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
        return conn

    async with Embedded(tmp_path / "p.sqlite3", connect_writer=tiny_disk) as running:
        with pytest.raises(StorageUnavailable, match="full"):
            await running.store.add_many([make_pessoa(nome="x" * 100) for _ in range(200)])
        assert await running.store.count() == 0
        # Through the creation: each one is committed (and then counted) or refused, and a
        # refused one left its apelido free.
        bodies = [body(f"cheio{i}", nome="y" * 100) for i in range(200)]
        results = await asyncio.gather(*(running.create(b) for b in bodies), return_exceptions=True)
        refused = [r for r in results if isinstance(r, BaseException)]
        assert refused and all(isinstance(r, StorageUnavailable) and "full" in str(r) for r in refused)
        created = [r for r in results if not isinstance(r, BaseException)]
        assert await running.store.count() == len(created)
        for pessoa in created:
            assert await running.store.get(pessoa.id) == pessoa


async def test_a_read_only_file_refuses_the_write(tmp_path):
    file = SqliteFile(tmp_path / "p.sqlite3")
    file.prepare()

    def read_only():
        return sqlite3.connect(
            f"file:{tmp_path / 'p.sqlite3'}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )

    async with Embedded(tmp_path / "p.sqlite3", connect_writer=read_only) as running:
        with pytest.raises(StorageUnavailable, match=r"readonly|read-only|read only"):
            await running.create(body("somente"))
        assert await running.store.count() == 0


async def test_a_file_locked_by_another_process_refuses_the_write_without_blocking_the_loop(
    embedded, tmp_path
):
    other = sqlite3.connect(tmp_path / "pessoas.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        loop = asyncio.get_running_loop()
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        ticker = loop.create_task(tick())
        with pytest.raises(StorageUnavailable, match="locked"):
            await embedded.create(body("trancada"))
        ticker.cancel()
        # The write waited the busy timeout (200 ms) on its thread; the loop kept running meanwhile.
        assert ticks >= 5
    finally:
        other.execute("ROLLBACK")
        other.close()
    # The lock gone, creations go through again, the refused apelido included.
    pessoa = await embedded.create(body("trancada"))
    assert await embedded.store.get(pessoa.id) == pessoa


async def test_a_stopped_writer_refuses_instead_of_hanging(tmp_path):
    running = Embedded(tmp_path / "p.sqlite3")
    with pytest.raises(StorageUnavailable):
        await running.create(body("parada"))
    with pytest.raises(StorageUnavailable):
        await running.store.get(uuid.uuid4())


# --- the file at start-up ---------------------------------------------------------------------


def test_a_new_file_and_its_folder_are_created(tmp_path):
    path = tmp_path / "deep" / "folder" / "p.sqlite3"
    SqliteFile(path).prepare()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT count(*) FROM pessoas").fetchone()[0] == 0
    conn.close()
    SqliteFile(path).prepare()  # and an existing one of ours is accepted


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"this is a text file, not a database\n" * 100, "not a readable SQLite database"),
        (b"SQLite format 3\x00" + b"\xff" * 4000, "not a readable SQLite database"),
    ],
)
def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path, content, reason):
    path = tmp_path / "p.sqlite3"
    path.write_bytes(content)
    with pytest.raises(StorageUnusable, match=reason):
        SqliteFile(path).prepare()
    assert path.read_bytes() == content


def test_another_applications_database_is_refused_untouched(tmp_path):
    path = tmp_path / "p.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE clientes (nome TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StorageUnusable, match="another application's database"):
        SqliteFile(path).prepare()
    assert path.read_bytes() == before


def test_a_corrupt_database_of_ours_is_refused(tmp_path):
    path = tmp_path / "p.sqlite3"
    SqliteFile(path).prepare()
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO pessoas (id, apelido, nome, nascimento, stack, search)"
        " VALUES (?, ?, 'n', '2000-01-01', NULL, 's')",
        [(str(uuid.uuid4()), f"a{i}") for i in range(2000)],
    )
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, page):  # scribble over the table's pages
        data[offset + 8 : offset + 200] = b"\x07" * 192
    path.write_bytes(bytes(data))
    with pytest.raises(StorageUnusable, match=r"corrupt|not a readable"):
        SqliteFile(path).prepare()


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "p.sqlite3"
    SqliteFile(path).prepare()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StorageUnusable, match="schema version is 99"):
        SqliteFile(path).prepare()
