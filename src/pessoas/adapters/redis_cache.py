"""PessoaCache over Redis, shared by every API instance.

Two kinds of keys, both under ``prefix`` (written ``P`` below):

- ``P{P}apelido:{apelido}`` holds the id of the pessoa that took the apelido (or ``*`` for an
  apelido restored from storage). These never expire: an expired reservation would let a second
  pessoa take the apelido. Redis must therefore run with ``maxmemory-policy noeviction``.
- ``P{P}pessoa:{id}`` holds the pessoa as JSON, so it is readable by id on every instance from
  its 201 until (and after) the worker stores it. By default these do not expire either: a TTL would
  have to outlast the longest possible worker outage, or a promised pessoa would become unreadable,
  and the whole reference load (~50,000 pessoas of ~300 bytes) fits in ~30 MB anyway. A TTL can be
  given for deployments where the data set grows without bound; choose it well above any delay the
  queue can have.

Each operation is one round trip: the check-and-set steps run inside Lua scripts (EVALSHA, with
redis-py loading the script again after a Redis restart empties its script cache).

Why every key carries the hash tag ``{P}``: on Redis Cluster a script may only touch keys of one
hash slot, and the reserve script touches three (the apelido, the pessoa, the ready marker). The
slot of a key with a ``{...}`` part is the hash of that part alone, so all of this deployment's
keys fall in one slot, on one shard. That is the price of taking an apelido, caching its pessoa
and checking that the reservations are complete in one atomic step: Redis Cluster then gives
failover, not sharding, to this data set (which fits one node). Spreading it would need a ready
marker per slot group and a cache write apart from the reservation; docs/scaling.md weighs that.

With ``wait_replicas`` set (a primary with replicas behind Sentinel), a reservation is reported
taken only once that many replicas hold it (WAIT): a failover promotes a replica, and one that
lacked an acknowledged reservation would let its apelido be taken twice.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator

import orjson
import redis.asyncio as redis

from pessoas.adapters.pessoa_json import pessoa_from_json, pessoa_to_json
from pessoas.domain.errors import ReservationsLost, StorageUnavailable
from pessoas.domain.model import Pessoa

# Takes the apelido and caches the pessoa, or changes nothing when another pessoa holds the apelido.
# Finding the apelido already held by this very pessoa counts as success: the client may retry a call
# whose reply was lost (redis-py retries on connection errors), and that retry must not turn the
# pessoa's own reservation into an "apelido taken".
#
# A missing ready marker (KEYS[3]) means the reservations were lost (Redis restarted empty) and not
# yet restored: then nothing is reserved (-1), so no apelido can be taken twice meanwhile.
_RESERVE = """
if redis.call('EXISTS', KEYS[3]) == 0 then
    return -1
end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
    return 0
end
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[3] == '' then
    redis.call('SET', KEYS[2], ARGV[2])
else
    redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
end
return 1
"""

# Forgets the pessoa, and frees the apelido only while it still points to this pessoa: a pessoa that
# lost the race for an apelido must not free the winner's reservation.
_RELEASE = """
redis.call('DEL', KEYS[2])
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
end
return 1
"""


@contextlib.contextmanager
def _unavailable_on_error() -> Iterator[None]:
    """Redis down, restarting or too slow is the domain's StorageUnavailable: a clear 503."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StorageUnavailable(f"Redis is unavailable: {exc}") from exc


_RESTORED = "*"  # the value of a restored apelido: the id is unknown and never needed
_RESTORE_CHUNK = 1000


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
        wait_replicas: int = 0,
        wait_timeout_ms: int = 1000,
    ) -> None:
        self._client = client
        self._prefix = tagged_prefix(prefix)
        self._wait_replicas = wait_replicas
        self._wait_timeout_ms = wait_timeout_ms
        self._ttl = str(pessoa_ttl_seconds) if pessoa_ttl_seconds else ""
        # register_script only hashes the source: no network call happens here.
        self._reserve = client.register_script(_RESERVE)
        self._release = client.register_script(_RELEASE)
        self._ready_key = f"{self._prefix}ready"

    def _apelido_key(self, apelido: str) -> str:
        return f"{self._prefix}apelido:{apelido}"

    def _pessoa_key(self, pessoa_id: uuid.UUID) -> str:
        return f"{self._prefix}pessoa:{pessoa_id}"

    async def reserve(self, pessoa: Pessoa) -> bool:
        with _unavailable_on_error():
            outcome = await self._reserve(
                keys=[self._apelido_key(pessoa.apelido), self._pessoa_key(pessoa.id), self._ready_key],
                args=[str(pessoa.id), orjson.dumps(pessoa_to_json(pessoa)), self._ttl],
            )
        if outcome == -1:
            raise ReservationsLost("Redis holds no complete set of apelido reservations")
        if outcome and self._wait_replicas:
            await self._wait_for_replicas(pessoa)
        return bool(outcome)

    async def _wait_for_replicas(self, pessoa: Pessoa) -> None:
        with _unavailable_on_error():
            acknowledged = await self._client.wait(self._wait_replicas, self._wait_timeout_ms)
        if int(acknowledged) < self._wait_replicas:
            # Not promised: a failover now could lose it. Undo (if the primary still answers) and
            # refuse, as for any Redis that cannot take the reservation.
            with contextlib.suppress(StorageUnavailable):
                await self.release(pessoa)
            raise StorageUnavailable(
                f"{acknowledged} of {self._wait_replicas} Redis replicas confirmed the reservation"
            )

    async def release(self, pessoa: Pessoa) -> None:
        with _unavailable_on_error():
            await self._release(
                keys=[self._apelido_key(pessoa.apelido), self._pessoa_key(pessoa.id)],
                args=[str(pessoa.id)],
            )

    async def is_ready(self) -> bool:
        with _unavailable_on_error():
            return bool(await self._client.exists(self._ready_key))

    async def mark_ready(self) -> None:
        with _unavailable_on_error():
            await self._client.set(self._ready_key, "1")

    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        with _unavailable_on_error():
            data = await self._client.get(self._pessoa_key(pessoa_id))
        if data is None:
            return None
        return pessoa_from_json(orjson.loads(data))

    async def restore_apelidos(self, apelidos: Iterable[str]) -> None:
        # NX: a reservation made meanwhile keeps its pessoa's id, so that pessoa can still release it.
        with _unavailable_on_error():
            pipe = self._client.pipeline(transaction=False)
            queued = 0
            for apelido in apelidos:
                pipe.set(self._apelido_key(apelido), _RESTORED, nx=True)
                queued += 1
                if queued == _RESTORE_CHUNK:
                    await pipe.execute()
                    queued = 0
            if queued:
                await pipe.execute()
