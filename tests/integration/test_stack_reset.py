"""`make stack-reset` deletes the stack's own data and nothing else (deploy/local/reset.py).

Each part runs for real against the local services, pointed at names of this test's own (a Redis
prefix, a queue name, a database), next to data that is not the stack's and must survive.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiormq
import psycopg
import pytest
import redis
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from pessoas.adapters.postgres_schema import ensure_schema
from pessoas.adapters.postgres_search_index import PostgresSearchIndex
from pessoas.adapters.rabbitmq_topology import declare_queues, queue_declarations
from tests.integration.conftest import ADMIN_URL, REDIS_URL
from tests.integration.rabbitmq_fixtures import AMQP_URL

pytestmark = pytest.mark.integration

RESET = Path(__file__).resolve().parents[2] / "deploy" / "local" / "reset.py"
# The stack's settings always name a database (a cache or a queue without one is refused); the
# Redis and RabbitMQ parts of a reset never connect to it.
UNUSED_DATABASE = {"PESSOAS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/unused"}


def reset(part: str, **settings: str) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PESSOAS_")}
    env.update(UNUSED_DATABASE)
    env.update({f"PESSOAS_{key.upper()}": value for key, value in settings.items()})
    done = subprocess.run(
        [sys.executable, str(RESET), part], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


def test_redis_reset_deletes_only_keys_under_the_prefix(redis_client: redis.Redis) -> None:
    token = uuid.uuid4().hex[:12]
    # Glob characters in the prefix: read as a pattern, it would also match the second foreign key.
    prefix = f"reset-{token}[ab]*:"
    own = [f"{prefix}apelido:ana", f"{prefix}pessoa:{uuid.uuid4()}", f"{prefix}ready"]
    own += [f"{prefix}bulk:{n}" for n in range(1200)]  # more than one SCAN page and UNLINK batch
    foreign = [f"other-{token}:k", f"reset-{token}a:k", f"reset-{token}[ab]*k", f"x{prefix}k"]
    try:
        redis_client.mset({key: "1" for key in own + foreign})
        output = reset("redis", redis_url=REDIS_URL, redis_prefix=prefix)
        assert redis_client.exists(*own) == 0
        assert redis_client.exists(*foreign) == len(foreign)
        assert f"{len(own)} keys" in output
    finally:
        redis_client.delete(*own, *foreign)


def test_redis_reset_refuses_an_empty_prefix(redis_client: redis.Redis) -> None:
    key = f"other-{uuid.uuid4().hex}"
    redis_client.set(key, "1")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PESSOAS_")}
        env.update(UNUSED_DATABASE, PESSOAS_REDIS_URL=REDIS_URL, PESSOAS_REDIS_PREFIX="")
        done = subprocess.run([sys.executable, str(RESET), "redis"], env=env, capture_output=True, text=True)
        assert done.returncode != 0
        assert "PESSOAS_REDIS_PREFIX is empty" in done.stderr
        assert redis_client.exists(key) == 1
    finally:
        redis_client.delete(key)


async def test_rabbitmq_reset_purges_only_the_stack_queues() -> None:
    name = f"test-reset-{uuid.uuid4().hex[:12]}"
    own = [declaration.name for declaration in queue_declarations(name)]
    foreign = [f"{name}.other", f"{name}-other"]  # alike, but not queues the service declares
    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        await declare_queues(channel, name)
        for queue in foreign:
            await channel.queue_declare(queue, durable=False, auto_delete=False)
        for queue in own[:-1] + foreign:  # not the dead-letter one: its TTL could expire the message
            await channel.basic_publish(b"{}", routing_key=queue)
        await channel.basic_publish(b"{}", routing_key=own[-1])

        reset("rabbitmq", amqp_url=AMQP_URL, queue_name=name)

        for queue in own:
            assert (await channel.queue_declare(queue, passive=True)).message_count == 0, queue
        for queue in foreign:
            assert (await channel.queue_declare(queue, passive=True)).message_count == 1, queue
    finally:
        channel = await connection.channel()
        for queue in own + foreign:
            await channel.queue_delete(queue)
        await connection.close()


def test_postgres_reset_empties_only_the_pessoas_table() -> None:
    name = f"pessoas_reset_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(ADMIN_URL, dbname=name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE pessoas (id int)")
            conn.execute("CREATE TABLE someone_elses (id int)")
            conn.execute("INSERT INTO pessoas VALUES (1), (2)")
            conn.execute("INSERT INTO someone_elses VALUES (1)")
        reset("postgres", database_url=url)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM pessoas").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM someone_elses").fetchone() == (1,)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.mark.pg_horizon
def test_postgres_reset_empties_the_search_index_with_the_record() -> None:
    # The record and its search index go together. `make bench` resets the stack before each run:
    # search rows left behind would pile up in the trigram index from run to run.
    name = f"pessoas_reset_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(ADMIN_URL, dbname=name)
    try:
        asyncio.run(ensure_schema(url))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO pessoas (id, apelido, nome, nascimento) "
                "VALUES (gen_random_uuid(), 'resetada', 'Nome', '2000-01-01')"
            )
        asyncio.run(_index_everything(url))
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM pessoas_search").fetchone() == (1,)
        reset("postgres", database_url=url)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM pessoas").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM pessoas_search").fetchone() == (0,)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


async def _index_everything(url: str) -> None:
    """What a worker's first reconciler pass does: every stored pessoa gets its search row."""
    pool = AsyncConnectionPool(url, min_size=1, max_size=1, kwargs={"autocommit": True}, open=False)
    await pool.open(wait=True, timeout=10)
    try:
        await PostgresSearchIndex(pool).index_missing()
    finally:
        await pool.close()
