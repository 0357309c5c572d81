"""``pessoas migrate``: creates the schema and the queues, idempotently."""

from __future__ import annotations

import asyncio

from pessoas.container import build_container


async def _migrate() -> None:
    container = build_container()
    await container.storage.prepare()
    await container.queue.prepare()


def migrate() -> None:
    asyncio.run(_migrate())
