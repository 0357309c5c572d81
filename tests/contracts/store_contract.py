"""What every storage adapter must do (PessoaWriter, PessoaReader, SearchIndex), written once for all.

An adapter's test class subclasses :class:`StoreContract` and provides two fixtures:

- ``store``: a fresh, empty object that is both the writer and the reader;
- ``search_index``: the :class:`~pessoas.ports.repository.SearchIndex` over that same storage,
  a fresh object that has made no pass yet (its first ``index_missing`` looks at every stored
  pessoa). For storage whose store is its own index, it is the ``store`` itself.

A pessoa is found by id and counted as soon as ``add_many`` returned, and by search once it has
been indexed. Storage that indexes in the committing transaction (SQLite) finds it at once, so
nothing here asserts that a pessoa is *not* searchable before ``index``: that belongs to the
tests of the adapters that defer indexing.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from collections.abc import Sequence

from pessoas.domain.model import Pessoa
from tests.contracts.pessoas_factory import make_pessoa


async def stored_and_indexed(store, search_index, pessoas: Sequence[Pessoa]) -> None:
    """Commits the pessoas and makes them searchable, as a creation and its announcement do."""
    assert await store.add_many(pessoas) == {pessoa.id for pessoa in pessoas}
    await search_index.index([pessoa.id for pessoa in pessoas])


def ids(pessoas: Sequence[Pessoa]) -> set[uuid.UUID]:
    return {pessoa.id for pessoa in pessoas}


class StoreContract:
    # --- the record: add_many decides, get and count see every commit at once ------------------

    async def test_a_reachable_store_passes_its_check(self, store):
        await store.check()

    async def test_an_empty_store_counts_zero_and_finds_nothing(self, store, search_index):
        assert await store.count() == 0
        assert await store.get(uuid.uuid4()) is None
        assert await store.search("a", 50) == []
        assert await search_index.index_missing() == 0
        assert await store.search("a", 50) == []

    async def test_stored_pessoas_read_back_with_every_field(self, store):
        with_stack = make_pessoa(stack=("Python", "C++"), nascimento=dt.date(1999, 12, 31))
        without_stack = make_pessoa(stack=None, nome="Ana")
        empty_stack = make_pessoa(stack=())
        assert await store.add_many([with_stack, without_stack, empty_stack]) == ids(
            [with_stack, without_stack, empty_stack]
        )
        assert await store.get(with_stack.id) == with_stack
        assert await store.get(without_stack.id) == without_stack
        assert (await store.get(empty_stack.id)).stack == ()
        assert await store.count() == 3

    async def test_a_pessoa_is_found_and_counted_as_soon_as_add_many_returned(self, store):
        # No index() call: reading by id and counting never wait for the search index.
        pessoa = make_pessoa()
        assert await store.add_many([pessoa]) == {pessoa.id}
        assert await store.get(pessoa.id) == pessoa
        assert await store.count() == 1

    async def test_add_many_returns_exactly_the_ids_it_stored(self, store):
        holder = make_pessoa(apelido="dono")
        assert await store.add_many([holder]) == {holder.id}
        batch = [make_pessoa(), make_pessoa(apelido="dono"), holder, make_pessoa()]
        assert await store.add_many(batch) == {batch[0].id, batch[3].id}
        assert await store.get(batch[1].id) is None
        assert await store.count() == 3

    async def test_a_batch_stored_twice_is_stored_once(self, store):
        batch = [make_pessoa() for _ in range(5)]
        assert await store.add_many(batch) == ids(batch)
        assert await store.add_many(batch) == set()
        newcomer = make_pessoa()
        assert await store.add_many([*batch[:2], newcomer]) == {newcomer.id}
        assert await store.count() == 6

    async def test_an_apelido_stored_under_another_id_is_not_stored(self, store):
        first = make_pessoa(apelido="unico")
        second = make_pessoa(apelido="unico", nome="Outra")
        assert await store.add_many([first]) == {first.id}
        assert await store.add_many([second]) == set()
        assert await store.count() == 1
        assert await store.get(first.id) == first
        assert await store.get(second.id) is None

    async def test_an_apelido_taken_earlier_in_the_same_call_is_not_stored(self, store):
        first = make_pessoa(apelido="disputado")
        rival = make_pessoa(apelido="disputado", nome="Rival")
        bystander = make_pessoa()
        assert await store.add_many([first, rival, bystander]) == {first.id, bystander.id}
        assert await store.get(first.id) == first
        assert await store.get(rival.id) is None
        assert await store.get(bystander.id) == bystander
        assert await store.count() == 2

    async def test_one_pessoa_repeated_in_a_call_is_stored_once(self, store):
        pessoa = make_pessoa()
        twin = make_pessoa(apelido=pessoa.apelido)  # same apelido, another id: the first one wins
        assert await store.add_many([pessoa, pessoa, twin, pessoa]) == {pessoa.id}
        assert await store.get(pessoa.id) == pessoa
        assert await store.get(twin.id) is None
        assert await store.count() == 1

    async def test_apelido_uniqueness_is_case_sensitive(self, store):
        upper, lower = make_pessoa(apelido="Ana"), make_pessoa(apelido="ana")
        assert await store.add_many([upper, lower]) == {upper.id, lower.id}

    async def test_an_empty_batch_stores_nothing(self, store):
        assert await store.add_many([]) == set()
        assert await store.count() == 0

    async def test_nfc_and_nfd_spellings_of_an_apelido_are_two_apelidos(self, store):
        # Compared exactly: no Unicode normalization, so "josé" (é, one code point) and "josé"
        # (e plus a combining acute accent) are different apelidos.
        composed = make_pessoa(apelido=unicodedata.normalize("NFC", "josé"))
        decomposed = make_pessoa(apelido=unicodedata.normalize("NFD", "josé"))
        assert composed.apelido != decomposed.apelido
        assert await store.add_many([composed, decomposed]) == {composed.id, decomposed.id}
        assert await store.get(composed.id) == composed
        assert await store.get(decomposed.id) == decomposed

    # --- the search index: index() and index_missing() ----------------------------------------

    async def test_an_indexed_pessoa_is_found_by_search(self, store, search_index):
        pessoa = make_pessoa(apelido="achavel", stack=("Python",))
        assert await store.add_many([pessoa]) == {pessoa.id}
        indexed = await search_index.index([pessoa.id])
        assert 0 <= indexed <= 1  # storage that indexes as it commits has nothing left to index
        assert await store.search("achavel", 50) == [pessoa]
        assert await store.get(pessoa.id) == pessoa

    async def test_indexing_again_is_harmless(self, store, search_index):
        pessoa = make_pessoa(apelido="duasvezes")
        await stored_and_indexed(store, search_index, [pessoa])
        assert await search_index.index([pessoa.id]) == 0
        assert await search_index.index([pessoa.id, pessoa.id]) == 0
        assert await store.search("duasvezes", 50) == [pessoa]  # found once, not twice
        assert await store.count() == 1

    async def test_unknown_ids_are_ignored_by_index(self, store, search_index):
        pessoa = make_pessoa(apelido="conhecido")
        assert await store.add_many([pessoa]) == {pessoa.id}
        assert await search_index.index([uuid.uuid4()]) == 0
        assert await search_index.index([]) == 0
        # An unknown id beside a stored one does not keep the stored one from its index.
        assert await search_index.index([uuid.uuid4(), pessoa.id, uuid.uuid4()]) <= 1
        assert await store.search("conhecido", 50) == [pessoa]
        assert await store.count() == 1

    async def test_the_first_index_missing_pass_indexes_everything_stored(self, store, search_index):
        # Stored, never announced: the reconciler's first pass finds them all.
        pessoas = [make_pessoa(nome=f"Esquecida {i}") for i in range(7)]
        assert await store.add_many(pessoas[:4]) == ids(pessoas[:4])
        assert await store.add_many(pessoas[4:]) == ids(pessoas[4:])
        assert 0 <= await search_index.index_missing() <= len(pessoas)
        assert ids(await store.search("esquecida", 50)) == ids(pessoas)

    async def test_index_missing_does_not_index_twice(self, store, search_index):
        announced = make_pessoa(apelido="anunciada")
        await stored_and_indexed(store, search_index, [announced])
        assert await search_index.index_missing() == 0
        assert await search_index.index_missing() == 0
        assert await store.search("anunciada", 50) == [announced]

    async def test_a_pessoa_stored_after_a_pass_is_indexed_by_a_later_pass(self, store, search_index):
        early = make_pessoa(apelido="cedo")
        assert await store.add_many([early]) == {early.id}
        await search_index.index_missing()
        late = make_pessoa(apelido="tarde")
        assert await store.add_many([late]) == {late.id}
        # One pass of grace for its announcement, then a pass takes it: three at most.
        for _ in range(3):
            await search_index.index_missing()
            if await store.search("tarde", 50):
                break
        assert await store.search("tarde", 50) == [late]
        assert await store.search("cedo", 50) == [early]

    # --- search: what it matches, once indexed ------------------------------------------------

    async def test_search_finds_a_term_in_any_one_field_ignoring_case(self, store, search_index):
        by_apelido = make_pessoa(apelido="zezinho", nome="Jose", stack=None)
        by_nome = make_pessoa(apelido="aaa", nome="Maria ZEZA", stack=None)
        by_stack = make_pessoa(apelido="bbb", nome="Joana", stack=("Go", "PostgreZe"))
        other = make_pessoa(apelido="ccc", nome="Nada", stack=("Rust",))
        await stored_and_indexed(store, search_index, [by_apelido, by_nome, by_stack, other])
        found = await store.search("ZE", 50)
        assert ids(found) == {by_apelido.id, by_nome.id, by_stack.id}
        assert ids(await store.search("rust", 50)) == {other.id}

    async def test_search_returns_whole_pessoas(self, store, search_index):
        pessoa = make_pessoa(apelido="inteira", stack=("Python",))
        without_stack = make_pessoa(apelido="semstack", stack=None)
        await stored_and_indexed(store, search_index, [pessoa, without_stack])
        assert await store.search("inteira", 50) == [pessoa]
        assert await store.search("semstack", 50) == [without_stack]

    async def test_search_does_not_match_across_two_fields(self, store, search_index):
        # apelido ends with "ab", nome starts with "cd": "abcd" must not match.
        await stored_and_indexed(
            store, search_index, [make_pessoa(apelido="xxab", nome="cdyy", stack=("ef", "gh"))]
        )
        assert await store.search("abcd", 50) == []
        assert await store.search("fg", 50) == []  # across two stack elements
        assert await store.search("yyef", 50) == []  # from nome into stack
        assert await store.search("ab cd", 50) == []
        assert len(await store.search("xxab", 50)) == 1

    async def test_search_takes_like_metacharacters_literally(self, store, search_index):
        percent = make_pessoa(apelido="cem%", nome="Cem Por Cento", stack=None)
        underscore = make_pessoa(apelido="a_b", nome="Sublinhado", stack=None)
        backslash = make_pessoa(apelido="c\\d", nome="Barra", stack=None)
        plain = make_pessoa(apelido="axb", nome="Simples", stack=None)
        await stored_and_indexed(store, search_index, [percent, underscore, backslash, plain])
        assert [p.id for p in await store.search("%", 50)] == [percent.id]
        assert [p.id for p in await store.search("a_b", 50)] == [underscore.id]
        assert [p.id for p in await store.search("_", 50)] == [underscore.id]
        assert [p.id for p in await store.search("\\", 50)] == [backslash.id]
        assert [p.id for p in await store.search("c\\d", 50)] == [backslash.id]

    async def test_search_returns_at_most_the_limit(self, store, search_index):
        await stored_and_indexed(store, search_index, [make_pessoa(nome=f"Silva {i}") for i in range(60)])
        assert len(await store.search("silva", 50)) == 50
        assert len(await store.search("silva", 7)) == 7

    async def test_search_handles_non_ascii_terms(self, store, search_index):
        pessoa = make_pessoa(apelido="joão", nome="João da Silva", stack=None)
        await stored_and_indexed(store, search_index, [pessoa])
        assert [p.id for p in await store.search("JOÃO", 50)] == [pessoa.id]
        assert [p.id for p in await store.search("ã", 50)] == [pessoa.id]

    async def test_search_with_quotes_and_sql_is_just_text(self, store, search_index):
        pessoa = make_pessoa(apelido="o'neil", nome='Say "hi"; DROP TABLE pessoas; --', stack=None)
        await stored_and_indexed(store, search_index, [pessoa])
        assert [p.id for p in await store.search("'", 50)] == [pessoa.id]
        assert [p.id for p in await store.search("drop table", 50)] == [pessoa.id]
        assert await store.count() == 1

    async def test_search_folds_each_character_on_its_own(self, store, search_index):
        # The contract's "case-insensitively" is decided as Unicode's simple lowercase mapping, one character
        # to one character (see docs/testing.md): the dotted capital I is "i", and a capital sigma
        # is the ordinary small sigma wherever it stands, never the final one.
        istanbul = make_pessoa(apelido="İSTANBUL", nome="Cidade", stack=None)
        odos = make_pessoa(apelido="grego", nome="ΟΔΟΣ", stack=None)
        final = make_pessoa(apelido="final", nome="οδος", stack=None)  # already small, final sigma
        await stored_and_indexed(store, search_index, [istanbul, odos, final])
        assert [p.id for p in await store.search("istanbul", 50)] == [istanbul.id]
        assert [p.id for p in await store.search("İstanbul", 50)] == [istanbul.id]
        assert await store.search("i\u0307stanbul", 50) == []  # the full mapping's two code points
        assert [p.id for p in await store.search("οδοσ", 50)] == [odos.id]
        assert [p.id for p in await store.search("ΟΔΟΣ", 50)] == [odos.id]
        assert [p.id for p in await store.search("\u03c3", 50)] == [odos.id]  # small sigma
        assert [p.id for p in await store.search("ς", 50)] == [final.id]
        assert [p.id for p in await store.search("οδος", 50)] == [final.id]


async def exported(store, size: int) -> list[list[Pessoa]]:
    """Every page of ``store.pages(size)``, read to the end."""
    return [page async for page in store.pages(size)]


class ExportContract:
    """What every storage adapter's ``pages`` (PessoaExport) must do; the same ``store`` fixture.

    Apart from StoreContract, since a split of reads over a standby is no exporter.
    """

    async def test_an_empty_store_exports_no_page(self, store):
        assert await exported(store, 10) == []

    async def test_every_stored_pessoa_comes_once_with_every_field_in_id_order(self, store):
        pessoas = [
            make_pessoa(stack=("Python", "C++"), nascimento=dt.date(1999, 12, 31)),
            make_pessoa(stack=None, nome="Ana"),
            make_pessoa(stack=()),
            make_pessoa(apelido="joão", nome="João ΟΔΟΣ", stack=("ç", "Go")),
            *(make_pessoa() for _ in range(8)),
        ]
        assert await store.add_many(pessoas[:5]) == ids(pessoas[:5])
        assert await store.add_many(pessoas[5:]) == ids(pessoas[5:])
        pages = await exported(store, 5)
        assert [len(page) for page in pages] == [5, 5, 2]
        assert [pessoa for page in pages for pessoa in page] == sorted(pessoas, key=lambda p: p.id)

    async def test_the_pages_are_one_snapshot_taken_at_the_first_page(self, store):
        before = [make_pessoa() for _ in range(6)]
        assert await store.add_many(before) == ids(before)
        pages = store.pages(2)
        first = await anext(pages)
        # Committed while the export is under way: their ids sort anywhere among the others'.
        during = [make_pessoa() for _ in range(6)]
        assert await store.add_many(during) == ids(during)
        rest = [pessoa async for page in pages for pessoa in page]
        assert [*first, *rest] == sorted(before, key=lambda p: p.id)
        assert await store.count() == 12

    async def test_an_export_closed_early_leaves_storage_as_it_was(self, store):
        pessoas = [make_pessoa() for _ in range(5)]
        assert await store.add_many(pessoas) == ids(pessoas)
        # More exports stopped halfway than a small pool has connections: each gives its own back.
        for _ in range(6):
            pages = store.pages(2)
            assert len(await anext(pages)) == 2
            await pages.aclose()
        late = make_pessoa()
        assert await store.add_many([late]) == {late.id}
        assert await store.count() == 6
        assert len([p async for page in store.pages(100) for p in page]) == 6
