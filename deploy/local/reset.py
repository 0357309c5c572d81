#!/usr/bin/env python3
"""Deletes the local stack's own data, and nothing that belongs to anyone else.

    reset.py [postgres] [redis] [rabbitmq]     (all three when none is named)

What the stack's settings (``PESSOAS_*``, read as the service reads them) point at:

- postgres: the rows of the ``pessoas`` and ``pessoas_search`` tables (the record and its search
  index, the tables ``pessoas migrate`` creates), no other table of the database;
- redis: the keys under ``PESSOAS_REDIS_PREFIX``, found with SCAN and deleted with UNLINK, never
  FLUSHDB: other users of the same database keep their keys;
- rabbitmq: the messages of ``PESSOAS_QUEUE_NAME``'s queues, exactly the three the service
  declares (the canonical queue and Dramatiq's delay and dead-letter queues), not every queue
  whose name looks alike.

`deploy/local/stack.sh reset` (`make stack-reset`) runs it with the stack's settings.
"""

from __future__ import annotations

import asyncio
import sys

import aiormq
import psycopg
import redis

from pessoas.adapters.rabbitmq_topology import queue_declarations
from pessoas.settings import Settings, SettingsRefused, load_settings

PARTS = ("postgres", "redis", "rabbitmq")
TABLES = ("pessoas", "pessoas_search")  # emptied together: a search row names a record's id
UNLINK_BATCH = 500


def log(message: str) -> None:
    print(f"reset: {message}", file=sys.stderr, flush=True)


def needs(value: str | None, name: str) -> str:
    if not value:
        raise SystemExit(f"reset: {name} is not set: nothing says where the stack's data is")
    return value


def reset_postgres(settings: Settings) -> None:
    with psycopg.connect(needs(settings.database_url, "PESSOAS_DATABASE_URL"), autocommit=True) as conn:
        present = [
            table
            for table in TABLES
            if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() != (None,)
        ]
        if not present:
            log(f"PostgreSQL: no table {' or '.join(TABLES)} yet: nothing to delete")
            return
        # One statement: both tables are emptied in one transaction.
        conn.execute(f"TRUNCATE {', '.join(present)}")
    log(f"PostgreSQL: {' and '.join(present)} emptied")


def glob_escape(text: str) -> str:
    """``text`` as a literal inside a Redis MATCH pattern."""
    return "".join("\\" + char if char in "\\*?[]" else char for char in text)


def reset_redis(settings: Settings) -> None:
    prefix = settings.redis_prefix
    if not prefix:
        raise SystemExit("reset: PESSOAS_REDIS_PREFIX is empty: every key would match; refusing")
    client = redis.Redis.from_url(needs(settings.redis_url, "PESSOAS_REDIS_URL"))
    wanted = prefix.encode()
    deleted, batch = 0, []
    for key in client.scan_iter(match=glob_escape(prefix) + "*", count=1000):
        if not key.startswith(wanted):  # the pattern is literal already; belt and braces
            continue
        batch.append(key)
        if len(batch) >= UNLINK_BATCH:
            deleted += client.unlink(*batch)
            batch = []
    if batch:
        deleted += client.unlink(*batch)
    client.close()
    log(f"Redis: {deleted} keys under {prefix!r} unlinked (other keys untouched)")


async def purge_queues(amqp_url: str, queue_name: str) -> None:
    connection = await aiormq.connect(amqp_url)
    try:
        for declaration in queue_declarations(queue_name):
            channel = await connection.channel()  # a missing queue closes the channel it was asked on
            try:
                purged = await channel.queue_purge(declaration.name)
            except aiormq.exceptions.ChannelNotFoundEntity:
                log(f"RabbitMQ: no queue {declaration.name} yet")
                continue
            log(f"RabbitMQ: queue {declaration.name}: {purged.message_count} messages purged")
            await channel.close()
    finally:
        await connection.close()


def reset_rabbitmq(settings: Settings) -> None:
    asyncio.run(purge_queues(needs(settings.amqp_url, "PESSOAS_AMQP_URL"), settings.queue_name))


def main(argv: list[str]) -> int:
    parts = argv or list(PARTS)
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        print(__doc__, file=sys.stderr)
        print(f"reset: unknown part(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
    except SettingsRefused as refused:
        print(f"reset: configuration refused: {refused}", file=sys.stderr)
        return 2
    for part in PARTS:
        if part in parts:
            {"postgres": reset_postgres, "redis": reset_redis, "rabbitmq": reset_rabbitmq}[part](settings)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
