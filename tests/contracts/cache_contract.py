"""What every PessoaCache must do.

A subclass of :class:`CacheContract` provides ``cache``, an empty cache marked ready. A cache
that can lose its reservations while the pessoas they protect are still on their way to storage
(a shared cache that restarts empty) also passes :class:`ReservationLossContract`, whose
``fresh_cache`` fixture is such a cache right after the loss, its reservations not yet marked
complete. (A cache whose reservations die only with the unacknowledged creations they belong to,
and that is ready from the start, has no such state.)
"""

from __future__ import annotations

import asyncio
import unicodedata
import uuid

import pytest

from pessoas.domain.errors import ReservationsLost
from tests.contracts.pessoas_factory import make_pessoa


class CacheContract:
    async def test_a_reserved_pessoa_reads_back_by_id(self, cache):
        pessoa = make_pessoa()
        assert await cache.reserve(pessoa) is True
        assert await cache.get(pessoa.id) == pessoa

    async def test_a_pessoa_without_stack_reads_back(self, cache):
        pessoa = make_pessoa(stack=None)
        assert await cache.reserve(pessoa) is True
        assert await cache.get(pessoa.id) == pessoa

    async def test_an_unknown_id_is_none(self, cache):
        assert await cache.get(uuid.uuid4()) is None

    async def test_a_taken_apelido_cannot_be_reserved_again(self, cache):
        first = make_pessoa(apelido="unico")
        second = make_pessoa(apelido="unico")
        assert await cache.reserve(first) is True
        assert await cache.reserve(second) is False
        assert await cache.get(second.id) is None
        assert await cache.get(first.id) == first

    async def test_apelidos_are_case_sensitive(self, cache):
        assert await cache.reserve(make_pessoa(apelido="Ana")) is True
        assert await cache.reserve(make_pessoa(apelido="ana")) is True

    async def test_nfc_and_nfd_spellings_of_an_apelido_are_two_apelidos(self, cache):
        composed = make_pessoa(apelido=unicodedata.normalize("NFC", "joão"))
        decomposed = make_pessoa(apelido=unicodedata.normalize("NFD", "joão"))
        assert composed.apelido != decomposed.apelido
        assert await cache.reserve(composed) is True
        assert await cache.reserve(decomposed) is True
        assert await cache.get(decomposed.id) == decomposed

    async def test_release_frees_the_apelido_and_forgets_the_pessoa(self, cache):
        pessoa = make_pessoa(apelido="solto")
        await cache.reserve(pessoa)
        await cache.release(pessoa)
        assert await cache.get(pessoa.id) is None
        assert await cache.reserve(make_pessoa(apelido="solto")) is True

    async def test_release_of_another_pessoa_keeps_the_holder(self, cache):
        holder = make_pessoa(apelido="dono")
        loser = make_pessoa(apelido="dono")
        await cache.reserve(holder)
        assert await cache.reserve(loser) is False
        await cache.release(loser)
        assert await cache.reserve(make_pessoa(apelido="dono")) is False
        assert await cache.get(holder.id) == holder

    async def test_restored_apelidos_are_taken(self, cache):
        await cache.restore_apelidos(["antigo", "velho"])
        assert await cache.reserve(make_pessoa(apelido="antigo")) is False
        assert await cache.reserve(make_pessoa(apelido="velho")) is False
        assert await cache.reserve(make_pessoa(apelido="novo")) is True

    async def test_concurrent_reservations_of_one_apelido_give_one_winner(self, cache):
        contenders = [make_pessoa(apelido="disputado") for _ in range(50)]
        results = await asyncio.gather(*(cache.reserve(p) for p in contenders))
        assert results.count(True) == 1
        winner = contenders[results.index(True)]
        assert await cache.get(winner.id) == winner


class ReservationLossContract:
    async def test_a_cache_that_lost_its_reservations_refuses_every_reservation(self, fresh_cache):
        assert await fresh_cache.is_ready() is False
        pessoa = make_pessoa()
        with pytest.raises(ReservationsLost):
            await fresh_cache.reserve(pessoa)
        assert await fresh_cache.get(pessoa.id) is None

    async def test_restored_and_marked_ready_it_reserves_again(self, fresh_cache):
        await fresh_cache.restore_apelidos(["guardado"])
        await fresh_cache.mark_ready()
        assert await fresh_cache.is_ready() is True
        assert await fresh_cache.reserve(make_pessoa(apelido="guardado")) is False
        assert await fresh_cache.reserve(make_pessoa(apelido="livre")) is True
