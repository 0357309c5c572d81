"""Medians across repeated runs of the bench (RUNS=3 bench/run.sh).

    python -m bench.summary --out DIR RUN_DIR [RUN_DIR ...]

One run of an open-model load on a shared machine is noisy; the median of a few is the figure
to compare between commits. Writes summary.json and summary.md to --out.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

import orjson

# (label, path into report.json) of the figures worth comparing between runs.
FIGURES: list[tuple[str, tuple[str, ...]]] = [
    ("contagem", ("contagem", "count")),
    ("201s", ("created_201",)),
    ("lost", ("contagem", "lost")),
    ("convergence s", ("contagem", "convergence_s")),
    ("storable maximum", ("context", "storable_maximum")),
    ("lookups 404 after 201", ("lookups_404_after_201",)),
    ("requests", ("groups", "all", "count")),
    ("KO", ("groups", "all", "ko")),
    ("KO timeout", ("groups", "all", "ko_by_kind", "timeout")),
    ("KO connection", ("groups", "all", "ko_by_kind", "connection")),
    ("KO status", ("groups", "all", "ko_by_kind", "unexpected_status")),
    ("p50 ms", ("groups", "all", "latency_ms", "p50")),
    ("p75 ms", ("groups", "all", "latency_ms", "p75")),
    ("p95 ms", ("groups", "all", "latency_ms", "p95")),
    ("p99 ms", ("groups", "all", "latency_ms", "p99")),
    ("max ms", ("groups", "all", "latency_ms", "max")),
    ("POST p99 ms", ("groups", "POST create", "latency_ms", "p99")),
    ("mean req/s", ("throughput", "mean_rps")),
    ("arrival lag p99 ms", ("arrival_lag_ms", "p99")),
    ("arrival lag max ms", ("arrival_lag_ms", "max")),
]


# The same from cpu.json (bench/server_cpu.py), when the run recorded it.
CPU_FIGURES: list[tuple[str, tuple[str, ...]]] = [
    ("server CPU-s (processes)", ("server_cpu_s",)),
    ("envelope CPU-s (cgroup)", ("envelope", "usage_s")),
    ("envelope throttled s", ("envelope", "throttled_s")),
]
COMPONENTS = [
    "nginx",
    "api1",
    "api2",
    "api",
    "worker",
    "postgres",
    "redis",
    "rabbitmq",
    "supervisor",
    "loadtool",
]


def _get(report: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = report
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def summarize(runs: list[Path]) -> dict[str, Any]:
    reports = [orjson.loads((run / "report.json").read_bytes()) for run in runs]
    cpus = [
        orjson.loads((run / "cpu.json").read_bytes()) if (run / "cpu.json").exists() else {} for run in runs
    ]
    figures = [(label, path, reports) for label, path in FIGURES]
    figures += [(label, path, cpus) for label, path in CPU_FIGURES]
    figures += [
        (f"CPU-s {name}", ("cpu_s", name), cpus)
        for name in COMPONENTS
        if any(name in c.get("cpu_s", {}) for c in cpus)
    ]
    figures += [
        (f"peak RSS MB {name}", ("peak_rss_mb", name), cpus)
        for name in COMPONENTS
        if any(name in c.get("peak_rss_mb", {}) for c in cpus)
    ]
    rows: dict[str, Any] = {}
    for label, path, sources in figures:
        values = [_get(r, path) for r in sources]
        present = [v for v in values if isinstance(v, int | float)]
        # A missing figure (e.g. no convergence) is left out of the median, and said so.
        median = statistics.median(present) if present else None
        rows[label] = {"runs": values, "median": median, "missing": len(values) - len(present)}
    return {"runs": [str(r) for r in runs], "figures": rows}


def _as_shown(value: float) -> float:
    return value if isinstance(value, int) else round(value, 3)


def markdown(summary: dict[str, Any]) -> str:
    n = len(summary["runs"])
    head = "| figure | " + " | ".join(f"run {i + 1}" for i in range(n)) + " | median |"
    lines = [f"# pessoas bench: median of {n} runs", "", head, "|---" * (n + 2) + "|"]
    for label, row in summary["figures"].items():
        cells = " | ".join("-" if v is None else str(v) for v in row["runs"])
        # An even number of runs has a mean of two as its median: shown as the runs are.
        median = "-" if row["median"] is None else str(_as_shown(row["median"]))
        lines.append(f"| {label} | {cells} | **{median}** |")
    lines += ["", "Runs: " + ", ".join(f"`{r}`" for r in summary["runs"]), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("runs", type=Path, nargs="+")
    args = parser.parse_args(argv)
    summary = summarize(args.runs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    (args.out / "summary.md").write_text(markdown(summary), encoding="utf-8")
    print(markdown(summary))


if __name__ == "__main__":
    main()
