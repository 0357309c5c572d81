"""Export and import as use cases, over the in-memory store: the line format, and what each line becomes."""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
import pytest

from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.application.transfer import (
    ExportPessoas,
    ImportedBatch,
    ImportPessoas,
    ImportSummary,
    InvalidLine,
    Skip,
    SkippedLine,
    pessoa_from_line,
    pessoa_line,
)
from tests.contracts.pessoas_factory import make_pessoa


def line_of(**fields: object) -> bytes:
    record = {
        "id": str(uuid.uuid4()),
        "apelido": "ana",
        "nome": "Ana Maria",
        "nascimento": "2000-01-31",
        "stack": ["Python"],
    }
    record.update(fields)
    return orjson.dumps(record) + b"\n"


def numbered(*lines: bytes) -> list[tuple[int, bytes]]:
    return list(enumerate(lines, start=1))


@pytest.fixture
def store() -> InMemoryPessoaStore:
    return InMemoryPessoaStore()


@pytest.fixture
def import_batch(store: InMemoryPessoaStore) -> ImportPessoas:
    return ImportPessoas(store, store, store)


# --- the line: the API's JSON of a pessoa, on one line --------------------------------------------


def test_a_line_is_the_pessoa_as_the_api_shows_it():
    pessoa = make_pessoa(apelido="joão", nome="João", nascimento=dt.date(1990, 2, 3), stack=("Go", "ç"))
    line = pessoa_line(pessoa)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert list(orjson.loads(line).items()) == [
        ("id", str(pessoa.id)),
        ("apelido", "joão"),
        ("nome", "João"),
        ("nascimento", "1990-02-03"),
        ("stack", ["Go", "ç"]),
    ]
    assert orjson.loads(pessoa_line(make_pessoa(stack=None)))["stack"] is None


@pytest.mark.parametrize("stack", [None, (), ("C#", "Node")])
def test_a_line_reads_back_as_the_same_pessoa(stack):
    pessoa = make_pessoa(stack=stack)
    assert pessoa_from_line(pessoa_line(pessoa)) == pessoa


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "not JSON"),
        (b'{"apelido": "a"', "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "the body must be a JSON object"),
        (line_of(nome=1), "nome must be a string"),
        (line_of(nascimento="2000-02-30"), "nascimento must be a real calendar date"),
        (line_of(apelido="x" * 33), "apelido must have at most 32 characters"),
        (line_of(stack=["ok", None]), "stack must not contain null"),
        (line_of(id=None), "id is required"),
        (line_of(id=7), "id must be a string"),
        (line_of(id="not-a-uuid"), "id must be a UUID"),
    ],
)
def test_a_line_that_cannot_be_a_pessoa_says_why(line, reason):
    with pytest.raises(InvalidLine, match=reason):
        pessoa_from_line(line)


def test_a_line_keeps_its_id():
    pessoa_id = uuid.uuid4()
    assert pessoa_from_line(line_of(id=str(pessoa_id))).id == pessoa_id


# --- import: one batch of numbered lines --------------------------------------------------------


async def test_valid_lines_are_stored_with_their_ids_and_made_searchable(store, import_batch):
    pessoas = [make_pessoa(apelido=f"pessoa{i}", nome="Silva") for i in range(3)]
    done = await import_batch(numbered(*map(pessoa_line, pessoas)))
    assert done == ImportedBatch(read=3, imported=3, already_present=0, skipped=[])
    for pessoa in pessoas:
        assert await store.get(pessoa.id) == pessoa
    # The in-memory store finds only what was indexed: the import indexed what it stored.
    assert {p.id for p in await store.search("silva", 50)} == {p.id for p in pessoas}


async def test_invalid_lines_are_skipped_whole_and_reported_by_number(store, import_batch):
    good = make_pessoa(apelido="boa")
    done = await import_batch(
        [
            (1, line_of(apelido="meia", stack=["ok", 1])),
            (2, pessoa_line(good)),
            (5, b"{oops"),
        ]
    )
    assert done.imported == 1
    assert [(s.number, s.why) for s in done.skipped] == [(1, Skip.INVALID), (5, Skip.INVALID)]
    assert "every element of stack must be a string" in done.skipped[0].reason
    assert await store.count() == 1
    assert [p.apelido async for page in store.pages(10) for p in page] == ["boa"]


async def test_a_batch_of_invalid_lines_stores_nothing(store, import_batch):
    done = await import_batch(numbered(b"x", b"[]"))
    assert done == ImportedBatch(
        read=2,
        imported=0,
        already_present=0,
        skipped=[
            SkippedLine(1, Skip.INVALID, done.skipped[0].reason),
            SkippedLine(2, Skip.INVALID, "the body must be a JSON object"),
        ],
    )
    assert await store.count() == 0


async def test_an_apelido_held_by_a_stored_pessoa_is_a_conflict(store, import_batch):
    holder = make_pessoa(apelido="dono")
    await store.add_many([holder])
    rival = make_pessoa(apelido="dono", nome="Outro")
    done = await import_batch(numbered(pessoa_line(rival)))
    assert done.skipped == [SkippedLine(1, Skip.CONFLICT, "apelido 'dono' is held by another pessoa")]
    assert await store.get(rival.id) is None


async def test_an_apelido_repeated_in_the_file_is_a_conflict_of_the_later_line(store, import_batch):
    first, second = make_pessoa(apelido="par"), make_pessoa(apelido="par", nome="Segunda")
    done = await import_batch(numbered(pessoa_line(first), pessoa_line(second)))
    assert done.imported == 1
    assert [(s.number, s.why) for s in done.skipped] == [(2, Skip.CONFLICT)]
    assert await store.get(first.id) == first


async def test_an_id_held_by_another_pessoa_is_a_conflict(store, import_batch):
    holder = make_pessoa(apelido="original")
    await store.add_many([holder])
    impostor = make_pessoa(apelido="impostor", pessoa_id=holder.id)
    done = await import_batch(numbered(pessoa_line(impostor)))
    assert done.skipped == [
        SkippedLine(1, Skip.CONFLICT, f"id {holder.id} is held by another pessoa (apelido 'original')")
    ]
    assert await store.get(holder.id) == holder


async def test_an_id_repeated_in_one_batch_is_judged_against_the_first(store, import_batch):
    pessoa = make_pessoa(apelido="repetida")
    other_fields = make_pessoa(apelido="mudou", pessoa_id=pessoa.id)
    done = await import_batch(numbered(pessoa_line(pessoa), pessoa_line(pessoa), pessoa_line(other_fields)))
    assert (done.imported, done.already_present) == (1, 1)
    assert [(s.number, s.why) for s in done.skipped] == [(3, Skip.CONFLICT)]
    assert await store.count() == 1


async def test_an_import_run_again_finds_everything_already_present(store, import_batch):
    lines = numbered(*(pessoa_line(make_pessoa()) for _ in range(4)))
    assert (await import_batch(lines)).imported == 4
    again = await import_batch(lines)
    assert again == ImportedBatch(read=4, imported=0, already_present=4, skipped=[])
    assert await store.count() == 4


def test_the_summary_adds_up_the_batches():
    summary = ImportSummary()
    summary.add(ImportedBatch(3, 1, 1, [SkippedLine(2, Skip.INVALID, "x")]))
    summary.add(ImportedBatch(2, 1, 0, [SkippedLine(4, Skip.CONFLICT, "y")]))
    assert summary == ImportSummary(read=5, imported=2, already_present=1, invalid=1, conflicts=1)
    assert summary.skipped == 2
    assert ImportSummary().skipped == 0


# --- export ---------------------------------------------------------------------------------------


async def test_an_export_is_every_pessoa_as_its_line_in_id_order(store):
    pessoas = [make_pessoa() for _ in range(5)]
    await store.add_many(pessoas)
    pages = [page async for page in ExportPessoas(store, page_size=2)()]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [line for page in pages for line in page] == [
        pessoa_line(p) for p in sorted(pessoas, key=lambda p: p.id)
    ]


async def test_what_one_store_exports_another_imports_unchanged(store, import_batch):
    source = InMemoryPessoaStore()
    pessoas = [make_pessoa(stack=s) for s in (None, (), ("a", "b"))]
    await source.add_many(pessoas)
    lines = [line async for page in ExportPessoas(source, page_size=10)() for line in page]
    assert (await import_batch(numbered(*lines))).imported == 3
    assert [p async for page in store.pages(10) for p in page] == [
        p async for page in source.pages(10) for p in page
    ]
