"""PessoaCache over Redis, shared by every API instance: a true cache, which may lose anything.

Two kinds of keys, both under ``prefix`` (written ``P`` below), and only ever written after
PostgreSQL committed the pessoa:

- ``P{P}pessoa:{id}`` holds the pessoa as JSON (reads by id skip the database);
- ``P{P}apelido:{apelido}`` marks an apelido as taken (a second creation is refused without a
  database round trip).

Losing any of them costs only speed: a missing pessoa is read from PostgreSQL, a missing apelido
is decided by PostgreSQL's unique index. So Redis runs with ``maxmemory`` and an LRU eviction
policy, keeps nothing on disk, and a failover to a replica that lagged is harmless. Keys may be
given a TTL as well, for deployments that prefer expiry to eviction.

A Redis that fails (down, restarting, too slow, out of memory, a read-only replica) is reported
as :class:`StorageUnavailable`, which the use cases treat as a miss. After a connection failure
or a timeout, the adapter does not try Redis again for ``pause_after_failure`` seconds: while
Redis is unreachable a request then pays nothing for it, instead of a connect timeout each.

Every key carries the hash tag ``{P}``, so that one ``MSET`` can write a whole transaction's
pessoas even on Redis Cluster (all the keys fall in one slot).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import orjson
import redis.asyncio as redis

from pessoas.adapters.pessoa_json import pessoa_from_json, pessoa_to_json
from pessoas.domain.errors import StorageUnavailable
from pessoas.domain.model import Pessoa

_T = TypeVar("_T")


def tagged_prefix(prefix: str) -> str:
    """``prefix`` followed by itself as a hash tag, so that every key shares one Redis Cluster slot.

    The tag is a key's first ``{...}``, and an empty one would not count (hence the fallback): a
    brace in the prefix would make the first one the prefix's, so the prefix may have none.
    """
    if "{" in prefix or "}" in prefix:
        raise ValueError(f"the Redis key prefix {prefix!r} may not contain braces (they mark hash tags)")
    return f"{prefix}{{{prefix or 'pessoas'}}}"


class RedisPessoaCache:
    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        pessoa_ttl_seconds: int | None = None,
        *,
        pause_after_failure: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._prefix = tagged_prefix(prefix)
        self._ttl = pessoa_ttl_seconds or None
        self._pause = pause_after_failure
        self._clock = clock
        self._paused_until = -float("inf")

    def _apelido_key(self, apelido: str) -> str:
        return f"{self._prefix}apelido:{apelido}"

    def _pessoa_key(self, pessoa_id: uuid.UUID) -> str:
        return f"{self._prefix}pessoa:{pessoa_id}"

    async def _call(self, command: Callable[[], Awaitable[_T]]) -> _T:
        if self._clock() < self._paused_until:
            raise StorageUnavailable("Redis failed moments ago; not tried again yet")
        try:
            return await command()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._paused_until = self._clock() + self._pause
            raise StorageUnavailable(f"Redis is unavailable: {exc}") from exc
        except redis.RedisError as exc:  # out of memory, a read-only replica, ...
            raise StorageUnavailable(f"Redis refused the command: {exc}") from exc

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        data = await self._call(lambda: self._client.get(self._pessoa_key(pessoa_id)))
        if data is None:
            return None
        return pessoa_from_json(orjson.loads(data))

    async def holds_apelido(self, apelido: str) -> bool:
        return bool(await self._call(lambda: self._client.exists(self._apelido_key(apelido))))

    async def remember(self, pessoas: Sequence[Pessoa]) -> None:
        if not pessoas:
            return
        entries: dict[str, bytes] = {}
        for pessoa in pessoas:
            entries[self._pessoa_key(pessoa.id)] = orjson.dumps(pessoa_to_json(pessoa))
            entries[self._apelido_key(pessoa.apelido)] = b"1"
        if self._ttl is None:
            await self._call(lambda: self._client.mset(entries))
            return
        ttl = self._ttl

        async def set_with_ttl() -> None:
            pipe = self._client.pipeline(transaction=False)
            for key, value in entries.items():
                pipe.set(key, value, ex=ttl)
            await pipe.execute()

        await self._call(set_with_ttl)
