"""Summarises one trial (bench/probes/trial.sh): the load's figures, API memory, CPU by process.

usage: python -m bench.probes.trial_summary DIR LABEL
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path


def main() -> None:
    out, label = Path(sys.argv[1]), sys.argv[2]
    report = json.loads((out / "report.json").read_text())
    every, count = report["groups"]["all"], report["contagem"]
    latency = every["latency_ms"]
    print(
        f"{label}: all p50={latency['p50']} p95={latency['p95']} p99={latency['p99']} "
        f"max={latency['max']} ko={every['ko']} | count={count['count']} "
        f"201s={count['created_201']} lost={count['lost']} conv={count['convergence_s']} | "
        f"storable={report['score']['storable_maximum']} 404s={report['lookups_404_after_201']}"
    )
    for group, figures in report["groups"].items():
        ms = figures["latency_ms"]
        print(
            f"   {group:15s} n={figures['count']} p50={ms['p50']} p99={ms['p99']} max={ms['max']} "
            f"ko={figures['ko']}"
        )
    rss = out / "rss.txt"
    if rss.exists():
        print("   rss MB:", [round(int(line.split()[0]) / 1024) for line in rss.read_text().splitlines()])
    samples = [
        line.split()[1:] for line in (out / "cpu.log").read_text().splitlines() if "total(server)" in line
    ]
    busiest = sorted(samples, key=lambda sample: -float(sample[-1].split("=")[1]))
    busiest = busiest[: max(1, len(busiest) // 4)]
    mean: collections.defaultdict[str, float] = collections.defaultdict(float)
    for sample in busiest:
        for pair in sample[:-1]:
            if "=" in pair:
                name, value = pair.split("=")
                mean[name] += float(value) / len(busiest)
    server = sum(value for name, value in mean.items() if name != "loadtool")
    parts = " ".join(f"{name}={value:.2f}" for name, value in sorted(mean.items()))
    print(f"   cpu(busiest quarter): {parts} server={server:.2f}")


if __name__ == "__main__":
    main()
