"""What every PessoaWriter + PessoaReader must do, written once for all adapters.

An adapter's test module subclasses :class:`StoreContract` and provides a ``store`` fixture:
a fresh, empty object that is both the writer and the reader.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid

from tests.contracts.pessoas_factory import make_pessoa


class StoreContract:
    async def test_a_reachable_store_passes_its_check(self, store):
        await store.check()

    async def test_an_empty_store_counts_zero_and_finds_nothing(self, store):
        assert await store.count() == 0
        assert await store.get(uuid.uuid4()) is None
        assert await store.search("a", 50) == []
        assert await store.apelidos() == []

    async def test_stored_pessoas_read_back_with_every_field(self, store):
        with_stack = make_pessoa(stack=("Python", "C++"), nascimento=dt.date(1999, 12, 31))
        without_stack = make_pessoa(stack=None, nome="Ana")
        assert await store.add_many([with_stack, without_stack]) == 2
        assert await store.get(with_stack.id) == with_stack
        assert await store.get(without_stack.id) == without_stack
        assert await store.count() == 2
        assert sorted(await store.apelidos()) == sorted([with_stack.apelido, without_stack.apelido])

    async def test_a_batch_stored_twice_is_stored_once(self, store):
        batch = [make_pessoa() for _ in range(5)]
        assert await store.add_many(batch) == 5
        assert await store.add_many(batch) == 0
        assert await store.add_many([*batch[:2], make_pessoa()]) == 1
        assert await store.count() == 6

    async def test_an_apelido_stored_under_another_id_is_skipped(self, store):
        first = make_pessoa(apelido="unico")
        assert await store.add_many([first]) == 1
        assert await store.add_many([make_pessoa(apelido="unico")]) == 0
        assert await store.count() == 1
        assert await store.get(first.id) == first

    async def test_apelido_uniqueness_is_case_sensitive(self, store):
        assert await store.add_many([make_pessoa(apelido="Ana"), make_pessoa(apelido="ana")]) == 2

    async def test_an_empty_batch_stores_nothing(self, store):
        assert await store.add_many([]) == 0

    async def test_search_finds_a_term_in_any_one_field_ignoring_case(self, store):
        by_apelido = make_pessoa(apelido="zezinho", nome="Jose", stack=None)
        by_nome = make_pessoa(apelido="aaa", nome="Maria ZEZA", stack=None)
        by_stack = make_pessoa(apelido="bbb", nome="Joana", stack=("Go", "PostgreZe"))
        other = make_pessoa(apelido="ccc", nome="Nada", stack=("Rust",))
        await store.add_many([by_apelido, by_nome, by_stack, other])
        found = await store.search("ZE", 50)
        assert {p.id for p in found} == {by_apelido.id, by_nome.id, by_stack.id}
        assert {p.id for p in await store.search("rust", 50)} == {other.id}

    async def test_search_returns_whole_pessoas(self, store):
        pessoa = make_pessoa(apelido="inteira", stack=("Python",))
        await store.add_many([pessoa])
        assert await store.search("inteira", 50) == [pessoa]

    async def test_search_does_not_match_across_two_fields(self, store):
        # apelido ends with "ab", nome starts with "cd": "abcd" must not match.
        await store.add_many([make_pessoa(apelido="xxab", nome="cdyy", stack=("ef", "gh"))])
        assert await store.search("abcd", 50) == []
        assert await store.search("fg", 50) == []  # across two stack elements
        assert await store.search("yyef", 50) == []  # from nome into stack
        assert await store.search("ab cd", 50) == []
        assert len(await store.search("xxab", 50)) == 1

    async def test_search_takes_like_metacharacters_literally(self, store):
        percent = make_pessoa(apelido="cem%", nome="Cem Por Cento", stack=None)
        underscore = make_pessoa(apelido="a_b", nome="Sublinhado", stack=None)
        backslash = make_pessoa(apelido="c\\d", nome="Barra", stack=None)
        plain = make_pessoa(apelido="axb", nome="Simples", stack=None)
        await store.add_many([percent, underscore, backslash, plain])
        assert [p.id for p in await store.search("%", 50)] == [percent.id]
        assert [p.id for p in await store.search("a_b", 50)] == [underscore.id]
        assert [p.id for p in await store.search("_", 50)] == [underscore.id]
        assert [p.id for p in await store.search("\\", 50)] == [backslash.id]
        assert [p.id for p in await store.search("c\\d", 50)] == [backslash.id]

    async def test_search_returns_at_most_the_limit(self, store):
        await store.add_many([make_pessoa(nome=f"Silva {i}") for i in range(60)])
        assert len(await store.search("silva", 50)) == 50
        assert len(await store.search("silva", 7)) == 7

    async def test_search_handles_non_ascii_terms(self, store):
        pessoa = make_pessoa(apelido="joão", nome="João da Silva", stack=None)
        await store.add_many([pessoa])
        assert [p.id for p in await store.search("JOÃO", 50)] == [pessoa.id]
        assert [p.id for p in await store.search("ã", 50)] == [pessoa.id]

    async def test_search_with_quotes_and_sql_is_just_text(self, store):
        pessoa = make_pessoa(apelido="o'neil", nome='Say "hi"; DROP TABLE pessoas; --', stack=None)
        await store.add_many([pessoa])
        assert [p.id for p in await store.search("'", 50)] == [pessoa.id]
        assert [p.id for p in await store.search("drop table", 50)] == [pessoa.id]
        assert await store.count() == 1

    async def test_nfc_and_nfd_spellings_of_an_apelido_are_two_apelidos(self, store):
        # Compared exactly: no Unicode normalization, so "josé" (é, one code point) and "josé"
        # (e plus a combining acute accent) are different apelidos.
        composed = make_pessoa(apelido=unicodedata.normalize("NFC", "josé"))
        decomposed = make_pessoa(apelido=unicodedata.normalize("NFD", "josé"))
        assert composed.apelido != decomposed.apelido
        assert await store.add_many([composed, decomposed]) == 2
        assert await store.get(composed.id) == composed
        assert await store.get(decomposed.id) == decomposed
        assert sorted(await store.apelidos()) == sorted([composed.apelido, decomposed.apelido])

    async def test_search_folds_each_character_on_its_own(self, store):
        # SPEC's "case-insensitively" is decided as Unicode's simple lowercase mapping, one character
        # to one character (see docs/testing.md): the dotted capital I is "i", and a capital sigma
        # is the ordinary small sigma wherever it stands, never the final one.
        istanbul = make_pessoa(apelido="İSTANBUL", nome="Cidade", stack=None)
        odos = make_pessoa(apelido="grego", nome="ΟΔΟΣ", stack=None)
        final = make_pessoa(apelido="final", nome="οδος", stack=None)  # already small, final sigma
        await store.add_many([istanbul, odos, final])
        assert [p.id for p in await store.search("istanbul", 50)] == [istanbul.id]
        assert [p.id for p in await store.search("İstanbul", 50)] == [istanbul.id]
        assert await store.search("i\u0307stanbul", 50) == []  # the full mapping's two code points
        assert [p.id for p in await store.search("οδοσ", 50)] == [odos.id]
        assert [p.id for p in await store.search("ΟΔΟΣ", 50)] == [odos.id]
        assert [p.id for p in await store.search("\u03c3", 50)] == [odos.id]  # small sigma
        assert [p.id for p in await store.search("ς", 50)] == [final.id]
        assert [p.id for p in await store.search("οδος", 50)] == [final.id]
