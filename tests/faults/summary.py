"""Prints the figures of the last fault run (run/faults/*.json) as a markdown table.

.venv/bin/python -m tests.faults.summary
"""

from __future__ import annotations

import json
from typing import Any

from tests.faults.machine import OUT

ORDER = [
    "worker_sigkill",
    "api_sigkill",
    "rabbitmq_restart",
    "redis_restart",
    "postgres_restart",
    "queue_purge",
    "api_sigterm",
    "worker_sigterm",
    "smoke_worker_sigkill",
    "smoke_api_sigkill",
]


def _fmt(counts: dict[str, dict[str, int]]) -> str:
    parts = [
        f"{route.split(' ', 1)[0]} {route.split(' ', 1)[1]}: "
        + ", ".join(f"{status}: {n}" for status, n in sorted(c.items()))
        for route, c in counts.items()
    ]
    return "; ".join(parts) or "none"


def row(f: dict[str, Any]) -> str:
    kos = sum(sum(c.values()) for c in f["kos_by_route"].values())
    recover = f["time_to_recover_s"]
    bounds = f["bounds"]
    recovered = "-" if recover is None else f"{recover:.2f}"
    return (
        f"| {f['scenario']} | {f['load']['requests']} | {f['created_201']} | {f['stored']} | {f['lost']} "
        f"| {f['doubled']} | {_fmt(f['refusals_by_route'])} | {f['refusals']} / {bounds['refusals_max']} "
        f"| {kos} | {f['lookup_404_after_201']} "
        f"| {f['fault_duration_s']:.1f} | {recovered} / {bounds['recover_s']:g} "
        f"| {f['longest_gap_without_201_s']:.2f} | {f['converged_after_load_s']} | {f['readback_mismatch']} "
        f"| {f['unsearchable']} | {f['searchable_after_load_s']} | {f['count_api']} / {f['count_table']} |"
    )


def main() -> None:
    print(
        "| scenario | requests | 201 | stored | lost | doubled | refusals by route (status: n) "
        "| refusals / bound | KOs | 404 after 201 | fault s | recover s / bound | longest gap w/o 201 s "
        "| converged s | read-back bad | unsearchable | searchable after s | count API / table |"
    )
    print("|" + " --- |" * 18)
    for name in ORDER:
        path = OUT / f"{name}.json"
        if path.exists():
            print(row(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
