"""The capacity sweep's report: one table of every run and the knee of each envelope.

    python -m bench.sweep --out DIR RUN_DIR [RUN_DIR ...]

Each RUN_DIR is one `bench/run.sh` run (report.json, cpu.json) with the point.json bench/sweep.sh
writes beside them ({"scale": ..., "cpus": ..., "run": ...}). Writes DIR/report.md, DIR/sweep.json
and DIR/sweep.png (p99 and KO against the offered rate, one line per envelope).

A point meets the bar when the count reached the storable maximum, nothing was KO, and the p99 of
all requests is at most 100 ms. Per envelope, the knee is the highest offered rate that meets it
below the first (lowest) offered rate that does not: a point that passes again above a failure
does not move the knee (a noisy pass above a failure is no capacity to count on). With RUNS > 1,
a scale meets the bar only if each of its runs does, and its offered rate is their median.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

P99_BAR_MS = 100.0
ROUTES = ["POST create", "GET lookup", "valid search", "invalid search"]
COMPONENTS = ["nginx", "api1", "api2", "worker", "postgres", "redis", "rabbitmq", "supervisor"]


@dataclass
class Row:
    """One run of the sweep, as the table shows it."""

    scale: float
    cpus: float
    run: int
    offered_rps: float
    requests: int
    ko: int
    p99_ms: float
    route_p99_ms: dict[str, float | None]
    stored: int | None
    storable: int
    server_cpu_s: float | None = None
    component_cpu_s: dict[str, float] = field(default_factory=dict)
    throttled_s: float | None = None
    # The largest resident set of one API instance during the run (issue 11 bounds it at 2x).
    api_peak_rss_mb: float | None = None
    directory: str = ""

    @property
    def ko_pct(self) -> float:
        return 100.0 * self.ko / self.requests if self.requests else 0.0

    @property
    def meets(self) -> bool:
        return meets_the_bar(self.stored, self.storable, self.ko, self.p99_ms)


def meets_the_bar(stored: int | None, storable: int, ko: int, p99_ms: float) -> bool:
    return stored == storable and ko == 0 and p99_ms <= P99_BAR_MS


@dataclass
class Point:
    """One scale of one envelope: its runs together."""

    scale: float
    offered_rps: float
    meets: bool


@dataclass
class Knee:
    cpus: float
    knee: Point | None  # the highest point meeting the bar below the first failure
    first_failure: Point | None
    passes_above_failure: list[Point]


def points(rows: list[Row]) -> dict[float, list[Point]]:
    """Per envelope, its scales as points in order of offered rate."""
    runs: dict[tuple[float, float], list[Row]] = defaultdict(list)
    for row in rows:
        runs[(row.cpus, row.scale)].append(row)
    by_envelope: dict[float, list[Point]] = defaultdict(list)
    for (cpus, scale), group in runs.items():
        offered = statistics.median(r.offered_rps for r in group)
        by_envelope[cpus].append(Point(scale, offered, all(r.meets for r in group)))
    return {cpus: sorted(found, key=lambda p: p.offered_rps) for cpus, found in sorted(by_envelope.items())}


def knees(rows: list[Row]) -> list[Knee]:
    found = []
    for cpus, ordered in points(rows).items():
        failure = next((i for i, p in enumerate(ordered) if not p.meets), None)
        below = ordered if failure is None else ordered[:failure]
        found.append(
            Knee(
                cpus=cpus,
                knee=below[-1] if below else None,
                first_failure=None if failure is None else ordered[failure],
                passes_above_failure=[] if failure is None else [p for p in ordered[failure:] if p.meets],
            )
        )
    return found


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def read_run(directory: Path) -> Row:
    report = orjson.loads((directory / "report.json").read_bytes())
    point = orjson.loads((directory / "point.json").read_bytes())
    cpu_path = directory / "cpu.json"
    cpu = orjson.loads(cpu_path.read_bytes()) if cpu_path.exists() else {}
    return Row(
        scale=float(point["scale"]),
        cpus=float(point["cpus"]),
        run=int(point.get("run", 1)),
        offered_rps=float(report["throughput"]["mean_rps"] or 0.0),
        requests=int(report["groups"]["all"]["count"]),
        ko=int(report["groups"]["all"]["ko"]),
        p99_ms=float(report["groups"]["all"]["latency_ms"]["p99"]),
        route_p99_ms={route: _get(report, "groups", route, "latency_ms", "p99") for route in ROUTES},
        stored=_get(report, "contagem", "count"),
        storable=int(report["context"]["storable_maximum"]),
        server_cpu_s=cpu.get("server_cpu_s"),
        component_cpu_s={k: v for k, v in (cpu.get("cpu_s") or {}).items() if k in COMPONENTS},
        throttled_s=_get(cpu, "envelope", "throttled_s"),
        api_peak_rss_mb=max(
            (v for k, v in (cpu.get("peak_rss_mb") or {}).items() if k.startswith("api")), default=None
        ),
        directory=str(directory),
    )


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _point(point: Point | None) -> str:
    return "none" if point is None else f"{point.offered_rps:,.1f} req/s (scale {point.scale:g})"


def markdown(rows: list[Row], found: list[Knee], plot: str | None) -> str:
    lines = [
        "# pessoas capacity sweep",
        "",
        f"The bar: count = storable maximum, 0 KO, p99 of all requests <= {P99_BAR_MS:g} ms. The knee of"
        " an envelope is the highest offered rate meeting it below the first offered rate that does not.",
        "",
        "## Knees",
        "",
        "| envelope CPUs | knee (last meeting the bar) | first failing | meets again above the failure |",
        "|---|---|---|---|",
    ]
    for knee in found:
        again = ", ".join(_point(p) for p in knee.passes_above_failure) or "-"
        lines.append(f"| {knee.cpus:g} | {_point(knee.knee)} | {_point(knee.first_failure)} | {again} |")
    route_heads = " | ".join(f"p99 {r} ms" for r in ROUTES)
    cpu_heads = " | ".join(f"CPU-s {c}" for c in COMPONENTS)
    lines += [
        "",
        "## Runs",
        "",
        f"| scale | envelope CPUs | run | offered req/s | requests | KO % | p99 ms | {route_heads}"
        f" | stored / storable | meets | server CPU-s | {cpu_heads} | throttled s | API peak RSS MB |",
        "|---" * (12 + len(ROUTES) + len(COMPONENTS)) + "|",  # 12 columns besides those
    ]
    for row in sorted(rows, key=lambda r: (r.cpus, r.offered_rps, r.run)):
        routes = " | ".join(_num(row.route_p99_ms.get(r)) for r in ROUTES)
        cpus = " | ".join(_num(row.component_cpu_s.get(c)) for c in COMPONENTS)
        stored = "-" if row.stored is None else f"{row.stored:,}"
        lines.append(
            f"| {row.scale:g} | {row.cpus:g} | {row.run} | {row.offered_rps:,.1f} | {row.requests:,} | "
            f"{row.ko_pct:.2f} | {_num(row.p99_ms)} | {routes} | {stored} / {row.storable:,} | "
            f"{'yes' if row.meets else 'no'} | {_num(row.server_cpu_s)} | {cpus} | {_num(row.throttled_s)} | "
            f"{_num(row.api_peak_rss_mb)} |"
        )
    if plot:
        lines += ["", f"![p99 and KO against the offered rate]({plot})"]
    lines += ["", "Runs: " + ", ".join(f"`{r.directory}`" for r in rows), ""]
    return "\n".join(lines)


def plot(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(9, 7))
    by_envelope: dict[float, list[Row]] = defaultdict(list)
    for row in rows:
        by_envelope[row.cpus].append(row)
    for cpus, group in sorted(by_envelope.items()):
        group.sort(key=lambda r: r.offered_rps)
        x = [r.offered_rps for r in group]
        top.plot(x, [max(r.p99_ms, 0.1) for r in group], marker="o", label=f"{cpus:g} CPUs")
        bottom.plot(x, [r.ko_pct for r in group], marker="o", label=f"{cpus:g} CPUs")
    top.axhline(P99_BAR_MS, color="grey", linestyle="--", linewidth=1, label=f"{P99_BAR_MS:g} ms")
    top.set_yscale("log")
    top.set_ylabel("p99, all requests (ms)")
    top.legend()
    bottom.set_ylabel("KO (% of requests)")
    bottom.set_xlabel("offered rate (mean requests/s over the load)")
    bottom.legend()
    fig.suptitle("pessoas capacity sweep")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("runs", type=Path, nargs="+")
    args = parser.parse_args(argv)
    rows = [read_run(d) for d in args.runs]
    found = knees(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    picture = None
    if not args.no_plot:
        plot(rows, args.out / "sweep.png")
        picture = "sweep.png"
    text = markdown(rows, found, picture)
    (args.out / "report.md").write_text(text, encoding="utf-8")
    summary = {
        "rows": [vars(r) | {"ko_pct": round(r.ko_pct, 3), "meets": r.meets} for r in rows],
        "knees": [
            {
                "cpus": k.cpus,
                "knee": None if k.knee is None else vars(k.knee),
                "first_failure": None if k.first_failure is None else vars(k.first_failure),
                "passes_above_failure": [vars(p) for p in k.passes_above_failure],
            }
            for k in found
        ],
    }
    (args.out / "sweep.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    print(text)


if __name__ == "__main__":
    main()
