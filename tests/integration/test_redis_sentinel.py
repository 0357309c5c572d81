"""The Redis group behind Sentinel: a real primary, replica and Sentinel, started for the test.

They are this test's own redis-server processes, on free ports, with their files under the test's
temporary directory, and are killed at the end. The client is built by the composition root from
settings, as the API builds it; the primary is then killed with SIGKILL, and the same client
(no restart) must reach the promoted replica. The cache promises nothing across a failover (what
the replica had not received is simply a miss), but what it had received is still served.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis as sync_redis
import redis.asyncio as redis

from pessoas.adapters.redis_cache import RedisPessoaCache
from pessoas.container.redis import RedisCache, parse_sentinels
from pessoas.domain.errors import StorageUnavailable
from pessoas.domain.model import Pessoa
from pessoas.settings import Settings
from tests.contracts.pessoas_factory import make_pessoa
from tests.ports import free_port

pytestmark = pytest.mark.integration

MASTER_NAME = "pessoas-test"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(sync_redis.RedisError):
            if predicate():
                return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


@dataclass
class SentinelSet:
    primary_port: int
    replica_port: int
    sentinel_port: int
    processes: dict[str, subprocess.Popen[bytes]]

    def kill(self, name: str) -> None:
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


SENTINEL_PASSWORD = "sentinel-secret"


@contextlib.contextmanager
def running_sentinel_set(tmp_path: Path, sentinel_password: str | None = None) -> Iterator[SentinelSet]:
    """A primary, its replica and one Sentinel; the Sentinel with a password of its own if given."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed (.ci/run installs it)", pytrace=False)
    primary, replica, sentinel = free_port(), free_port(), free_port()
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {sentinel}\nbind 127.0.0.1\ndaemonize no\ndir {tmp_path}\n"
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {primary} 1\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
        f"sentinel failover-timeout {MASTER_NAME} 5000\n"
        + (f"requirepass {sentinel_password}\n" if sentinel_password else "")
    )
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs = {name: (tmp_path / f"{name}.log").open("wb") for name in ("primary", "replica", "sentinel")}
    try:
        processes["primary"] = subprocess.Popen(
            [server, "--port", str(primary), "--dir", str(tmp_path), *common], stdout=logs["primary"]
        )
        replica_dir = tmp_path / "replica"
        replica_dir.mkdir()
        follow = ["--replicaof", "127.0.0.1", str(primary)]
        processes["replica"] = subprocess.Popen(
            [server, "--port", str(replica), "--dir", str(replica_dir), *follow, *common],
            stdout=logs["replica"],
        )
        wait_for(
            lambda: sync_redis.Redis(port=replica).info("replication")["master_link_status"] == "up",
            20,
            "the replica follows the primary",
        )
        processes["sentinel"] = subprocess.Popen([server, str(config), "--sentinel"], stdout=logs["sentinel"])
        asked = sync_redis.Redis(port=sentinel, password=sentinel_password)
        wait_for(
            lambda: int(asked.sentinel_master(MASTER_NAME)["num-slaves"]) == 1,
            20,
            "the Sentinel sees the replica",
        )
        yield SentinelSet(primary, replica, sentinel, processes)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        for log in logs.values():
            log.close()


@pytest.fixture
def sentinel_set(tmp_path: Path) -> Iterator[SentinelSet]:
    with running_sentinel_set(tmp_path) as started:
        yield started


def sentinel_settings(sentinels: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        # Only the database number is taken from the URL: the host is the Sentinels' to name.
        "redis_url": "redis://unused.invalid:1/0",
        "redis_sentinels": sentinels,
        "redis_sentinel_master": MASTER_NAME,
        "redis_prefix": "pessoas_sentinel_test:",
        # A shared cache needs a database in service; these tests build only the cache group.
        "database_url": "postgresql://nobody@127.0.0.1:1/unused",
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def test_parse_sentinels() -> None:
    assert parse_sentinels("a:26379, b:26380,") == [("a", 26379), ("b", 26380)]
    for bad in ("", "a", "a:x", ":1"):
        with pytest.raises(ValueError):
            parse_sentinels(bad)


async def test_the_cache_follows_a_failover_without_a_restart(sentinel_set: SentinelSet):
    # Two Sentinel addresses, the first with nothing behind it: the client asks the next one.
    settings = sentinel_settings(f"127.0.0.1:{free_port()}, 127.0.0.1:{sentinel_set.sentinel_port}")
    group = RedisCache(settings=settings)
    cache = group.cache()
    try:
        before = [make_pessoa(apelido=f"antes-{n}") for n in range(20)]
        await cache.remember(before)
        # Replicated before the fault, so that the promoted replica holds them.
        assert await group.client().wait(1, 5000) == 1
        await _a_read_only_replica_refuses_writes_as_storage_unavailable(sentinel_set, before[0])

        sentinel_set.kill("primary")

        # The same client, no restart: misses (StorageUnavailable) until the Sentinel has promoted
        # the replica, then the cache serves again, from the new primary.
        after = make_pessoa(apelido="depois")
        deadline = time.monotonic() + 30
        while True:
            try:
                await cache.remember([after])
                break
            except StorageUnavailable:
                pass  # a miss during the failover is allowed; a wrong answer never
            assert time.monotonic() < deadline, "no failover within 30 s"
            await asyncio.sleep(0.2)
        promoted = sync_redis.Redis(port=sentinel_set.replica_port)
        assert promoted.info("replication")["role"] == "master"
        assert await cache.get(after.id) == after
        for pessoa in before:
            assert await cache.holds_apelido(pessoa.apelido) is True
            assert await cache.get(pessoa.id) == pessoa
    finally:
        client = group.client()
        await client.aclose(close_connection_pool=True)


async def _a_read_only_replica_refuses_writes_as_storage_unavailable(
    sentinel_set: SentinelSet, replicated: Pessoa
) -> None:
    # A client left on a replica (a failover seen late) gets READONLY for a write: a failure
    # of the cache like any other, not an error of the request. Its reads still answer.
    client = redis.Redis(port=sentinel_set.replica_port)
    try:
        cache = RedisPessoaCache(client, "pessoas_sentinel_test:")
        with pytest.raises(StorageUnavailable, match="refused"):
            await cache.remember([make_pessoa()])
        # A refusal is not a connection failure: Redis is asked again at once.
        assert await cache.get(replicated.id) == replicated
        assert await cache.holds_apelido(replicated.apelido) is True
    finally:
        await client.aclose()


async def test_sentinels_with_a_password_of_their_own_are_asked_with_it(tmp_path: Path):
    with running_sentinel_set(tmp_path, sentinel_password=SENTINEL_PASSWORD) as sentinels:
        address = f"127.0.0.1:{sentinels.sentinel_port}"
        pessoa = make_pessoa(apelido="com-senha")
        # Without the Sentinels' password, no primary is named: the cache misses, nothing more.
        unnamed = RedisCache(settings=sentinel_settings(address))
        try:
            with pytest.raises(StorageUnavailable):
                await unnamed.cache().remember([pessoa])
        finally:
            await unnamed.client().aclose(close_connection_pool=True)
        group = RedisCache(settings=sentinel_settings(address, redis_sentinel_password=SENTINEL_PASSWORD))
        try:
            await group.cache().remember([pessoa])
            assert await group.cache().get(pessoa.id) == pessoa
        finally:
            await group.client().aclose(close_connection_pool=True)
