#!/usr/bin/env python3
"""The state of the cluster's PostgreSQL nodes, as Patroni and the primary report it.

    patroni_state.py json     Patroni's view of the cluster (GET /cluster), as JSON
    patroni_state.py show     one line per node: name, address, role, state, timeline, lag
    patroni_state.py leader   "NAME HOST PORT" of the primary; exit 1 without one
    patroni_state.py whole    exit 0 when a primary runs and its synchronous standby streams

Node N of deploy/cluster/cluster.sh lives on 127.0.0.1N, Patroni's REST API on port 8008 there:
the first node whose API answers gives the cluster's view (every Patroni reads it from the DCS).
"Whole" asks more than Patroni's view: the primary itself must report, in pg_stat_replication,
that standby streaming with sync_state 'sync', so that a commit waits for it.
Also imported by tests/faults/machine.py (the cluster fault scenarios).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any

NODES = (1, 2)
API_PORT = 8008


def node_address(n: int) -> str:
    return f"127.0.0.1{n}"


def cluster(timeout: float = 1.5) -> dict[str, Any] | None:
    """GET /cluster from the first node whose Patroni answers; None when none does."""
    for n in NODES:
        url = f"http://{node_address(n)}:{API_PORT}/cluster"
        try:
            # A fixed http:// address on loopback.
            with urllib.request.urlopen(url, timeout=timeout) as response:
                answer: dict[str, Any] = json.load(response)
                return answer
        except (OSError, ValueError):
            continue
    return None


def members(state: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list(state.get("members", [])) if state else []


def leader(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The member holding the leader key whose PostgreSQL runs (as a primary, or being promoted)."""
    for member in members(state):
        if member.get("role") == "leader" and member.get("state") == "running":
            return member
    return None


def sync_standby(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The member recorded as the synchronous standby, while its PostgreSQL runs."""
    for member in members(state):
        if member.get("role") == "sync_standby" and member.get("state") in ("running", "streaming"):
            return member
    return None


def replication(host: str, port: int) -> list[tuple[str, str, str]]:
    """(application_name, state, sync_state) of each standby the primary at host:port serves."""
    import psycopg  # the project's virtualenv has it; the other commands need only the stdlib

    with psycopg.connect(
        host=host, port=port, user="postgres", dbname="postgres", connect_timeout=2, autocommit=True
    ) as conn:
        rows = conn.execute("SELECT application_name, state, sync_state FROM pg_stat_replication").fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def whole(state: dict[str, Any] | None = None) -> bool:
    """A primary runs and the standby Patroni records as synchronous streams to it, as 'sync'."""
    state = state if state is not None else cluster()
    primary, standby = leader(state), sync_standby(state)
    if primary is None or standby is None:
        return False
    try:
        rows = replication(primary["host"], int(primary["port"]))
    except Exception:
        return False
    return (standby["name"], "streaming", "sync") in rows


def show(state: dict[str, Any] | None) -> str:
    if state is None:
        return "no Patroni answers"
    lines = []
    for m in members(state):
        lag = m.get("lag", "")
        lines.append(
            f"{m['name']} {m.get('host')}:{m.get('port')} {m.get('role')} {m.get('state')}"
            f" timeline {m.get('timeline', '?')}" + (f" lag {lag}" if lag != "" else "")
        )
    return "\n".join(lines) or "no members"


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "show"
    state = cluster()
    if command == "json":
        print(json.dumps(state))
        return 0 if state is not None else 1
    if command == "show":
        print(show(state))
        return 0 if state is not None else 1
    if command == "leader":
        primary = leader(state)
        if primary is None:
            return 1
        print(primary["name"], primary["host"], primary["port"])
        return 0
    if command == "whole":
        return 0 if whole(state) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
