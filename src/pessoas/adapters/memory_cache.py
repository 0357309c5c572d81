"""PessoaCache in process memory: the twin of the Redis cache (it can be emptied, like Redis).

Bounded like a Redis run with ``maxmemory`` and an LRU policy: past ``max_pessoas``, the pessoa
(and, separately, the apelido) used least recently is forgotten. Unbounded when no bound is given,
as the in-memory service of the tests uses it.

The LRU is the standard library's ``OrderedDict`` rather than ``cachetools.LRUCache``: the same
policy without a dependency, and cheaper both on a hit and on an insertion (a timeit probe,
docs/performance-log.md, "2026-12-07, night").
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence

from pessoas.domain.model import Pessoa


class InMemoryPessoaCache:
    def __init__(self, max_pessoas: int | None = None) -> None:
        if max_pessoas is not None and max_pessoas < 1:
            raise ValueError(f"a bounded cache holds at least one pessoa, not {max_pessoas}")
        self._max = max_pessoas
        # Least recently used first: a hit moves its entry to the end, eviction takes the front.
        self._apelidos: OrderedDict[str, None] = OrderedDict()
        self._by_id: OrderedDict[uuid.UUID, Pessoa] = OrderedDict()

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        pessoa = self._by_id.get(pessoa_id)
        if pessoa is not None:
            self._by_id.move_to_end(pessoa_id)
        return pessoa

    async def holds_apelido(self, apelido: str) -> bool:
        if apelido in self._apelidos:
            self._apelidos.move_to_end(apelido)
            return True
        return False

    async def remember(self, pessoas: Sequence[Pessoa]) -> None:
        for pessoa in pessoas:
            self._by_id[pessoa.id] = pessoa
            self._by_id.move_to_end(pessoa.id)
            self._apelidos[pessoa.apelido] = None
            self._apelidos.move_to_end(pessoa.apelido)
        if self._max is not None:
            while len(self._by_id) > self._max:
                self._by_id.popitem(last=False)
            while len(self._apelidos) > self._max:
                self._apelidos.popitem(last=False)

    def forget_everything(self) -> None:
        """What a Redis restart does to the real cache (for tests)."""
        self._apelidos.clear()
        self._by_id.clear()
