"""What every PersistenceQueue must do.

A subclass provides ``queue`` (the adapter under test) and ``delivered``: an async callable that
waits until everything put so far has been handed to storage and returns that storage (a
PessoaReader), so the contract can audit what arrived.
"""

from __future__ import annotations

import asyncio

from tests.contracts.pessoas_factory import make_pessoa


class QueueContract:
    async def test_nothing_waits_once_everything_put_is_stored(self, queue, delivered):
        await queue.put(make_pessoa())
        await delivered()
        assert await queue.waiting() == 0

    async def test_a_put_pessoa_is_stored_with_every_field(self, queue, delivered):
        pessoa = make_pessoa(stack=None)
        await queue.put(pessoa)
        store = await delivered()
        assert await store.get(pessoa.id) == pessoa

    async def test_concurrent_puts_are_all_stored_once(self, queue, delivered):
        pessoas = [make_pessoa() for _ in range(200)]
        await asyncio.gather(*(queue.put(p) for p in pessoas))
        store = await delivered()
        assert await store.count() == 200
        for pessoa in pessoas:
            assert await store.get(pessoa.id) == pessoa

    async def test_the_same_pessoa_put_twice_is_stored_once(self, queue, delivered):
        pessoa = make_pessoa()
        await queue.put(pessoa)
        await queue.put(pessoa)
        store = await delivered()
        assert await store.count() == 1
