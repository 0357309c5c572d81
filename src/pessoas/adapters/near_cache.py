"""A cache in the process's own memory in front of the shared cache: what it holds skips the network.

A pessoa never changes once committed, so a copy kept in this process never goes stale, and
neither does "this apelido is taken". The near cache answers what it holds without a round trip;
what it does not hold is asked of the far cache (Redis), and a pessoa found there is kept near
too. What is remembered goes to both: a creation's own instance then answers the read by id that
usually follows a 201 from memory, and the other instances from Redis.

It stands in for the two-tier layer a caching library would bring: the tiers here are the
service's own cache port, so the in-memory twin and the Redis adapter serve as they are, and a
library's serializers and key schemes would only add work. It stays because it measured as a
saving of the APIs' CPU, interleaved with and without it at the reference load
(docs/performance-log.md, "the near cache").

The near cache only ever adds hits: a miss, or a far cache that fails, ends as it would without
it (the use cases fall back to storage). Its size bounds the memory it takes (``InMemoryPessoaCache``
evicts the least recently used). What it holds is this process's: a reset of the stack's data
with the instances up leaves their copies behind, as `deploy/local/stack.sh reset` says (down,
reset, up for a clean start).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pessoas.domain.model import Pessoa
from pessoas.ports.cache import PessoaCache


class NearFirstCache:
    def __init__(self, near: PessoaCache, far: PessoaCache) -> None:
        self._near = near
        self._far = far

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        pessoa = await self._near.get(pessoa_id)
        if pessoa is not None:
            return pessoa
        pessoa = await self._far.get(pessoa_id)
        if pessoa is not None:
            await self._near.remember((pessoa,))
        return pessoa

    async def holds_apelido(self, apelido: str) -> bool:
        return await self._near.holds_apelido(apelido) or await self._far.holds_apelido(apelido)

    async def remember(self, pessoas: Sequence[Pessoa]) -> None:
        # Near first: it cannot fail, and the far cache's failure is the caller's to hear of.
        await self._near.remember(pessoas)
        await self._far.remember(pessoas)
