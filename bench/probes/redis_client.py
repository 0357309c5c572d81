"""Client CPU per Redis command, by connection pool and reply parser, against a live Redis.

redis-py's command path is the largest single item of an API request's CPU (docs/performance-log.md),
so this probe compares the pool (redis-py's blocking one, which waits for a free connection;
its plain one, which raises past its size; or the service's own ``WaitingConnectionPool``, which
waits at the cost of a semaphore) and the parser (pure Python or hiredis, when installed) in one process: 16
concurrent tasks send ``--commands`` GET + EVALSHA pairs, and it prints the minimum and median
over ``--repeat`` rounds of the process CPU per command in microseconds. Its keys live under
``probe:{probe}`` and are deleted at the end.

    .venv/bin/python -m bench.probes.redis_client [--url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import redis.asyncio as redis
from redis._parsers import _AsyncHiredisParser, _AsyncRESP2Parser

from pessoas.adapters.redis_pool import WaitingConnectionPool

_PREFIX = "probe:{probe}"
_SET_IF_NEW = "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 1 end return 0"
_TASKS = 16


async def _round(client: redis.Redis, script: object, commands: int, round_no: int) -> float:
    async def task(first: int) -> None:
        for n in range(first, commands, _TASKS):
            await client.get(f"{_PREFIX}value")
            await script(keys=[f"{_PREFIX}r{round_no}:{n}"], args=["v"])  # type: ignore[operator]

    started = time.process_time()
    await asyncio.gather(*(task(first) for first in range(_TASKS)))
    return (time.process_time() - started) / (2 * commands) * 1e6


_POOLS: dict[str, type[redis.ConnectionPool]] = {
    "blocking": redis.BlockingConnectionPool,
    "plain": redis.ConnectionPool,
    "waiting": WaitingConnectionPool,
}


async def _measure(url: str, pool_name: str, parser: type, commands: int, repeat: int) -> list[float]:
    pool_class = _POOLS[pool_name]
    extra = {"timeout": 20} if pool_name != "plain" else {}
    pool = pool_class.from_url(url, max_connections=32, parser_class=parser, socket_timeout=10, **extra)
    client = redis.Redis(connection_pool=pool)
    try:
        await client.set(f"{_PREFIX}value", b"x" * 300)
        script = client.register_script(_SET_IF_NEW)
        return [await _round(client, script, commands, n) for n in range(repeat)]
    finally:
        keys = [key async for key in client.scan_iter(f"{_PREFIX}*")]
        for start in range(0, len(keys), 500):
            await client.unlink(*keys[start : start + 500])
        await client.aclose()


async def _main(url: str, commands: int, repeat: int) -> None:
    parsers: dict[str, type] = {"python": _AsyncRESP2Parser}
    try:
        import hiredis  # noqa: F401

        parsers["hiredis"] = _AsyncHiredisParser
    except ImportError:
        print("hiredis is not installed: the pure-Python parser only")
    print(f"{'pool':9} {'parser':8} {'µs CPU/command min':>19} {'median':>8}")
    for pool in _POOLS:
        for name, parser in parsers.items():
            rounds = await _measure(url, pool, parser, commands, repeat)
            print(f"{pool:9} {name:8} {min(rounds):19.1f} {statistics.median(rounds):8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(_main(args.url, args.commands, args.repeat))


if __name__ == "__main__":
    main()
