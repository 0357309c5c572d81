"""Asks a supervisord of the stack's or the cluster's (deploy/local/supervisord.conf.in,
deploy/cluster/supervisord.conf.in) about the programs of its `pessoas` group.

Through its XML-RPC interface on the unix socket in the run directory, as supervisorctl does, but
without starting a process per question: the fault suite polls it while a load runs.
"""

from __future__ import annotations

import xmlrpc.client
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

GROUP = "pessoas"  # the [group:...] of the programs in the rendered config


def rpc(run_dir: Path) -> Any:
    transport = SupervisorTransport(None, None, f"unix://{run_dir / 'supervisor.sock'}")
    return xmlrpc.client.ServerProxy("http://localhost", transport=transport)


def program_info(run_dir: Path, name: str) -> dict[str, Any] | None:
    """supervisord's record of a program (state name, pid, ...), or None when it does not answer."""
    try:
        info = rpc(run_dir).supervisor.getProcessInfo(f"{GROUP}:{name}")
    except (OSError, xmlrpc.client.Fault):
        return None
    return dict(info)


def program_pid(run_dir: Path, name: str) -> int | None:
    """The pid of a running program, or None (not running, or no supervisord)."""
    info = program_info(run_dir, name)
    return info["pid"] if info and info["pid"] else None
