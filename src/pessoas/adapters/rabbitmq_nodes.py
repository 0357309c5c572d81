"""Connecting to a RabbitMQ cluster: any live node of a list will do.

Every node of a cluster serves every queue (a quorum queue's leader may be elsewhere; the node
forwards), so a client only needs one node that answers. The list is tried in order, each node
with its own timeout, starting after the node that answered last time, so that a dead node
costs one failed attempt per reconnection, not one per publish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiormq
import aiormq.abc


class NoNodeAnswered(ConnectionError):
    """No URL of the list gave a connection."""


def split_urls(urls: str) -> list[str]:
    """``amqp://a,amqp://b`` (commas, blanks allowed) as a list; one URL is a list of one."""
    found = [url.strip() for url in urls.split(",") if url.strip()]
    if not found:
        raise ValueError("no RabbitMQ URL given")
    return found


class NodeRotation:
    """Remembers which node answered, so the next connection tries it first."""

    def __init__(self, urls: Sequence[str]) -> None:
        if not urls:
            raise ValueError("no RabbitMQ URL given")
        self._urls = list(urls)
        self._first = 0

    @property
    def urls(self) -> list[str]:
        return list(self._urls)

    async def connect(self, per_node_timeout: float) -> aiormq.abc.AbstractConnection:
        errors: list[str] = []
        count = len(self._urls)
        for step in range(count):
            index = (self._first + step) % count
            try:
                async with asyncio.timeout(per_node_timeout):
                    connection = await aiormq.connect(self._urls[index])
            except (OSError, TimeoutError, aiormq.exceptions.AMQPError) as exc:
                errors.append(f"node {index + 1}/{count}: {exc!r}")
                continue
            self._first = index
            return connection
        raise NoNodeAnswered("; ".join(errors))

    def passed_over(self) -> None:
        """The node that answered last could not serve (say, a minority partition): try the next first."""
        self._first = (self._first + 1) % len(self._urls)


def as_url_list(urls: str | Sequence[str]) -> list[str]:
    """One URL or several, as a list (a bare string is one URL, never its characters)."""
    return [urls] if isinstance(urls, str) else list(urls)


async def connect_to_any_node(
    urls: str | Sequence[str], per_node_timeout: float
) -> aiormq.abc.AbstractConnection:
    return await NodeRotation(as_url_list(urls)).connect(per_node_timeout)
