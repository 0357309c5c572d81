"""What every PessoaCache that holds anything must do.

A subclass of :class:`CacheContract` provides one fixture, ``cache``: an empty cache (the adapter
under test). A cache may forget anything at any moment, so the contract pins only what it answers
right after being told: what it was told to remember reads back exactly, and what it was never
told is unknown. (``NoCache``, which by design remembers nothing, is not such a cache.)
"""

from __future__ import annotations

import asyncio
import unicodedata
import uuid

from tests.contracts.pessoas_factory import make_pessoa


class CacheContract:
    async def test_a_remembered_pessoa_reads_back_by_id_and_holds_its_apelido(self, cache):
        pessoa = make_pessoa(apelido="lembrada")
        await cache.remember([pessoa])
        assert await cache.get(pessoa.id) == pessoa
        assert await cache.holds_apelido("lembrada") is True

    async def test_a_pessoa_without_stack_or_with_an_empty_one_reads_back(self, cache):
        without_stack, empty_stack = make_pessoa(stack=None), make_pessoa(stack=())
        await cache.remember([without_stack, empty_stack])
        assert await cache.get(without_stack.id) == without_stack
        assert (await cache.get(without_stack.id)).stack is None
        assert (await cache.get(empty_stack.id)).stack == ()

    async def test_odd_text_reads_back_exactly(self, cache):
        pessoa = make_pessoa(
            apelido="😀 ção:*?[x]{y}",
            nome='a"b\\c\n\t\x1f',
            stack=('a"b', "[c]", "null", " f ", "\U0001d518"),
        )
        await cache.remember([pessoa])
        assert await cache.get(pessoa.id) == pessoa
        assert await cache.holds_apelido(pessoa.apelido) is True

    async def test_an_unknown_id_is_none(self, cache):
        assert await cache.get(uuid.uuid4()) is None
        await cache.remember([make_pessoa()])
        assert await cache.get(uuid.uuid4()) is None

    async def test_an_unknown_apelido_is_not_held(self, cache):
        assert await cache.holds_apelido("ninguem") is False
        await cache.remember([make_pessoa(apelido="alguem")])
        assert await cache.holds_apelido("ninguem") is False
        assert await cache.holds_apelido("alguem") is True

    async def test_several_pessoas_remembered_at_once_are_each_known(self, cache):
        pessoas = [make_pessoa(apelido=f"lote{i}", stack=None if i % 2 else ("Go",)) for i in range(20)]
        await cache.remember(pessoas)
        for pessoa in pessoas:
            assert await cache.get(pessoa.id) == pessoa
            assert await cache.holds_apelido(pessoa.apelido) is True

    async def test_remembering_nothing_is_harmless(self, cache):
        await cache.remember([])
        assert await cache.holds_apelido("") is False

    async def test_remembering_again_is_harmless(self, cache):
        pessoa = make_pessoa(apelido="repetida")
        await cache.remember([pessoa])
        await cache.remember([pessoa])
        assert await cache.get(pessoa.id) == pessoa
        assert await cache.holds_apelido("repetida") is True

    async def test_concurrent_remembers_are_all_kept(self, cache):
        pessoas = [make_pessoa() for _ in range(30)]
        await asyncio.gather(*(cache.remember([pessoa]) for pessoa in pessoas))
        for pessoa in pessoas:
            assert await cache.get(pessoa.id) == pessoa
            assert await cache.holds_apelido(pessoa.apelido) is True

    async def test_apelidos_are_case_sensitive(self, cache):
        await cache.remember([make_pessoa(apelido="Ana")])
        assert await cache.holds_apelido("Ana") is True
        assert await cache.holds_apelido("ana") is False
        assert await cache.holds_apelido("ANA") is False

    async def test_nfc_and_nfd_spellings_of_an_apelido_are_two_apelidos(self, cache):
        composed = make_pessoa(apelido=unicodedata.normalize("NFC", "joão"))
        decomposed = unicodedata.normalize("NFD", "joão")
        assert composed.apelido != decomposed
        await cache.remember([composed])
        assert await cache.holds_apelido(composed.apelido) is True
        assert await cache.holds_apelido(decomposed) is False

    async def test_an_apelido_is_not_a_prefix_match(self, cache):
        await cache.remember([make_pessoa(apelido="maria")])
        assert await cache.holds_apelido("mari") is False
        assert await cache.holds_apelido("maria ") is False
        assert await cache.holds_apelido("mariana") is False
