"""Reads RabbitMQ's own counts of a queue through the management plugin's HTTP API.

AMQP shows a client only the ready messages of a queue (a passive declare); the messages a worker
holds unacknowledged are visible only inside the broker. The management API shows both, and how
many messages ever entered a queue, which the restore after a cache loss needs
(:mod:`pessoas.application.drain_proof`). Its figures are statistics the broker refreshes every
``collect_statistics_interval``, so each read is a snapshot; the proof accounts for that.

Only reads, and only of two queues and the overview: a user with the ``monitoring`` tag is enough.
Several URLs (the nodes of a cluster, each with its own management listener) are tried in order.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from pessoas.adapters.rabbitmq_message import QueueNames
from pessoas.application.drain_proof import BrokerRound
from pessoas.domain.errors import StorageUnavailable

MANAGEMENT_PORT = 15672


def management_urls_for(amqp_urls: Sequence[str], port: int = MANAGEMENT_PORT) -> list[str]:
    """The management URL of each AMQP URL: same host and credentials, the management port."""
    found = []
    for url in amqp_urls:
        parts = urllib.parse.urlsplit(url)
        scheme = "https" if parts.scheme == "amqps" else "http"
        userinfo = parts.netloc.rpartition("@")[0]
        host = parts.hostname or "localhost"
        if ":" in host:
            host = f"[{host}]"  # an IPv6 literal
        netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
        found.append(urllib.parse.urlunsplit((scheme, netloc, "/", "", "")))
    return found


def vhost_of(amqp_url: str) -> str:
    """The virtual host an AMQP URL names, as aiormq reads it (none or ``/`` is ``/``)."""
    path = urllib.parse.urlsplit(amqp_url).path
    return urllib.parse.unquote(path[1:]) if len(path) > 1 else "/"


class ManagementApi:
    def __init__(
        self,
        urls: Sequence[str],
        vhost: str,
        queues: QueueNames,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,  # tests answer in place of a broker
    ) -> None:
        if not urls:
            raise ValueError("no RabbitMQ management URL given")
        self._urls = [_split_credentials(url) for url in urls]
        self._vhost = urllib.parse.quote(vhost, safe="")
        self._queues = queues
        self._timeout = timeout
        self._clock = clock
        self._transport = transport

    async def read_round(self) -> BrokerRound:
        """The queue's and the delay queue's waiting messages and the delay queue's entry counter.

        Raises :class:`StorageUnavailable` when no node answers, refuses (credentials, rights)
        or cannot show what the proof needs.
        """
        problems = []
        for base, auth in self._urls:
            try:
                return await self._read_from(base, auth)
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                problems.append(f"{base}: {_describe(exc)}")
        raise StorageUnavailable("RabbitMQ management API: " + "; ".join(problems))

    async def _read_from(self, base: str, auth: tuple[str, str] | None) -> BrokerRound:
        # One client per round: rounds are seconds apart and only happen during a restore.
        async with httpx.AsyncClient(
            base_url=base, auth=auth, timeout=self._timeout, transport=self._transport
        ) as client:
            sent = self._clock()
            overview = await _get_json(client, "api/overview")
            if overview.get("rates_mode") == "none":
                # No message_stats at all: the delay queue's entries could not be told from none.
                raise ValueError("management.rates_mode is none: the queues' entry counters are off")
            queue = await _get_json(client, f"api/queues/{self._vhost}/{_quote(self._queues.canonical)}")
            delay = await _get_json(client, f"api/queues/{self._vhost}/{_quote(self._queues.delay)}")
            answered = self._clock()
        return BrokerRound(
            sent=sent,
            answered=answered,
            waiting=_waiting(queue, delay),
            delay_entries=_entries(delay),
        )


def _waiting(*queues: dict[str, Any]) -> int | None:
    total = 0
    for queue in queues:
        ready, unacked = queue.get("messages_ready"), queue.get("messages_unacknowledged")
        if ready is None or unacked is None:
            return None  # the broker has not sampled this queue yet
        total += int(ready) + int(unacked)
    return total


def _entries(queue: dict[str, Any]) -> int:
    # A queue nothing was ever published to has no message_stats (rates_mode is checked above).
    stats = queue.get("message_stats") or {}
    return int(stats.get("publish", 0))


async def _get_json(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await client.get(path)
    response.raise_for_status()
    found = response.json()
    if not isinstance(found, dict):
        raise ValueError(f"{path} answered {type(found).__name__}, not an object")
    return found


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without its user and password (it appears in logs), and those as basic auth.

    A path is kept: it is the management listener's prefix (``management.path_prefix``), if any.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    base = urllib.parse.urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))
    if parts.username is None:
        return base, None
    return base, (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} for {exc.request.url.path}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
