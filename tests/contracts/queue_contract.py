"""What every IndexQueue must do: an announced committed pessoa becomes searchable.

A subclass of :class:`QueueContract` provides three fixtures:

- ``queue``: the IndexQueue under test;
- ``store``: a fresh, empty writer and reader over the storage whose search index the queue's
  announcements reach (the contract commits pessoas with ``store.add_many`` before announcing
  them, as a creation does, and reads with ``store.search``);
- ``indexed``: an async callable taking a list of ids, which returns once every one of those
  pessoas is searchable in ``store`` and fails (raises) if they are not within a bounded time. A
  queue that indexes before ``announce`` returns may return at once.

An announcement is best effort by the port's own terms: the contract does not ask a queue to
survive the loss of its broker, only to deliver what it was given while its broker is there.
"""

from __future__ import annotations

import asyncio
import uuid

from tests.contracts.pessoas_factory import make_pessoa


class QueueContract:
    async def test_an_announced_pessoa_becomes_searchable_with_every_field(self, queue, store, indexed):
        pessoa = make_pessoa(apelido="anunciada", stack=None)
        assert await store.add_many([pessoa]) == {pessoa.id}
        await queue.announce([pessoa.id])
        await indexed([pessoa.id])
        assert await store.search("anunciada", 50) == [pessoa]

    async def test_a_batch_announced_at_once_becomes_searchable(self, queue, store, indexed):
        pessoas = [make_pessoa(nome=f"Lote {i}") for i in range(20)]
        assert await store.add_many(pessoas) == {p.id for p in pessoas}
        await queue.announce([p.id for p in pessoas])
        await indexed([p.id for p in pessoas])
        assert {p.id for p in await store.search("lote", 50)} == {p.id for p in pessoas}

    async def test_concurrent_announcements_all_become_searchable_once(self, queue, store, indexed):
        pessoas = [make_pessoa(nome=f"Concorrente {i}") for i in range(120)]
        assert await store.add_many(pessoas) == {p.id for p in pessoas}
        await asyncio.gather(*(queue.announce([p.id]) for p in pessoas))
        await indexed([p.id for p in pessoas])
        found = await store.search("concorrente", 200)
        assert sorted(p.id for p in found) == sorted(p.id for p in pessoas)  # each one once
        assert await store.count() == len(pessoas)

    async def test_the_same_pessoa_announced_twice_is_found_once(self, queue, store, indexed):
        pessoa = make_pessoa(apelido="repetida")
        assert await store.add_many([pessoa]) == {pessoa.id}
        await queue.announce([pessoa.id])
        await queue.announce([pessoa.id, pessoa.id])
        await indexed([pessoa.id])
        assert await store.search("repetida", 50) == [pessoa]

    async def test_an_unknown_id_does_not_keep_the_others_from_being_indexed(self, queue, store, indexed):
        pessoa = make_pessoa(apelido="conhecida")
        assert await store.add_many([pessoa]) == {pessoa.id}
        await queue.announce([uuid.uuid4(), pessoa.id, uuid.uuid4()])
        await indexed([pessoa.id])
        assert await store.search("conhecida", 50) == [pessoa]
        assert await store.count() == 1

    async def test_announcing_nothing_is_harmless(self, queue, store):
        await queue.announce([])
        assert await store.count() == 0
