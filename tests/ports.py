"""Ports for the servers the tests start, chosen below the kernel's ephemeral range.

bind() to port 0 gets a port from the ephemeral range, where every outgoing connection also takes
its local port. With several test processes at once (`make test` runs three), a connection could
take such a port between the moment a test chooses it and the moment its server binds it, and the
server would then never listen. Below the range, only another server can take a port, and each
is checked free before it is handed out.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_LOWEST = 10_000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def free_port() -> int:
    """A port on 127.0.0.1 that no server holds and no outgoing connection is given."""
    highest = max(_ephemeral_start(), _LOWEST + 1_000)
    for _ in range(200):
        port = random.randrange(_LOWEST, highest)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between {_LOWEST} and {highest}")
