"""Turns a run's raw records into report.json, report.md, plots and the created-ids file.

Figures follow Gatling's report where it has one: per-request-group counts, OK/KO, response time
percentiles (a KO's time is its time to failure: 60 s for a timeout), and per-second series of
requests, response times and errors. Additions that Gatling lacks but the contract needs: the
arrival lag of the generator itself, lookups answered 404 after a 201, the /contagem-pessoas
convergence, and the storable maximum of the payloads actually sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

if TYPE_CHECKING:
    from bench.load import Run

GROUPS = ["POST create", "GET lookup", "valid search", "invalid search"]
KO_TIMEOUT, KO_CONNECTION = -1, -2
SEARCH_LAG_LIMIT = 10.0  # bench.load's: how long the search-lag probe polls one pessoa
PERCENTILES = (50, 75, 95, 99)


def _is_ok(group: int, outcome: int) -> bool:
    if outcome < 0:
        return False
    if group == 0:
        return outcome in (201, 422, 400)
    if group == 1:
        return outcome == 200
    if group == 2:
        return 200 <= outcome < 300
    return outcome == 400


def _latency(values: np.ndarray) -> dict[str, float | None]:
    if values.size == 0:
        return {f"p{p}": None for p in PERCENTILES} | {"max": None, "mean": None, "min": None}
    ms = values * 1000
    out: dict[str, float | None] = {
        f"p{p}": round(float(v), 2) for p, v in zip(PERCENTILES, np.percentile(ms, PERCENTILES), strict=True)
    }
    out |= {"max": round(float(ms.max()), 2), "mean": round(float(ms.mean()), 2),
            "min": round(float(ms.min()), 2)}  # fmt: skip
    return out


def _group_stats(group: np.ndarray, latency: np.ndarray, outcome: np.ndarray, ok: np.ndarray,
                 mask: np.ndarray) -> dict[str, Any]:  # fmt: skip
    del group
    out = outcome[mask]
    ok_mask = ok[mask]
    statuses, counts = np.unique(out[out >= 0], return_counts=True)
    return {
        "count": int(mask.sum()),
        "ok": int(ok_mask.sum()),
        "ko": int((~ok_mask).sum()),
        "ko_by_kind": {
            "timeout": int((out == KO_TIMEOUT).sum()),
            "connection": int((out == KO_CONNECTION).sum()),
            "unexpected_status": int(((out >= 0) & ~ok_mask).sum()),
        },
        "statuses": {str(int(s)): int(c) for s, c in zip(statuses, counts, strict=True)},
        "latency_ms": _latency(latency[mask]),
        "ok_latency_ms": _latency(latency[mask][ok_mask]),
    }


def build(context: dict[str, Any], run: Run, convergence: dict[str, Any]) -> dict[str, Any]:
    records = run.records
    group = np.array([r[0] for r in records], dtype=np.int8)
    start = np.array([r[1] for r in records], dtype=np.float64)
    latency = np.array([r[2] for r in records], dtype=np.float64)
    outcome = np.array([r[3] for r in records], dtype=np.int32)
    ok = np.array([_is_ok(r[0], r[3]) for r in records], dtype=bool)

    groups = {name: _group_stats(group, latency, outcome, ok, group == i) for i, name in enumerate(GROUPS)}
    groups["all"] = _group_stats(group, latency, outcome, ok, np.ones(len(records), dtype=bool))

    lag_at = np.array([lag[0] for lag in run.lags], dtype=np.float64)
    lag = np.array([lag[1] for lag in run.lags], dtype=np.float64) * 1000
    lag_stats: dict[str, Any] = {"users": int(lag.size)}
    if lag.size:
        p50, p99 = np.percentile(lag, (50, 99))
        lag_stats |= {"p50": round(float(p50), 3), "p99": round(float(p99), 3),
                      "max": round(float(lag.max()), 3),
                      "over_10ms": int((lag > 10).sum()), "over_100ms": int((lag > 100).sum())}  # fmt: skip

    search_lag: dict[str, Any] = {
        "samples": len(run.search_lags),
        "not_found": run.search_lag_not_found,
        "ambiguous": run.search_lag_ambiguous,
    }
    if run.search_lags:
        found = np.array(run.search_lags, dtype=np.float64) * 1000
        p50, p99 = np.percentile(found, (50, 99))
        search_lag |= {"p50_ms": round(float(p50), 1), "p99_ms": round(float(p99), 1),
                       "max_ms": round(float(found.max()), 1)}  # fmt: skip

    created = groups["POST create"]["statuses"].get("201", 0)
    seconds = _timeseries(group, start, latency, outcome, ok, lag_at, lag)
    seconds["tool_cpu_share"] = _cpu_series(run, len(seconds["second"]))
    duration = context["load_duration_s"]
    per_second_total = seconds["requests"]["all"]
    storable = context["storable_maximum"]
    count = convergence["count"]
    return {
        "context": context,
        "groups": groups,
        "created_201": created,
        "lookups_404_after_201": run.lookup_404,
        "arrival_lag_ms": lag_stats,
        "search_lag": search_lag,
        "throughput": {
            "requests": len(records),
            "mean_rps": round(len(records) / duration, 1) if duration else None,
            "peak_rps_1s": max(per_second_total) if per_second_total else 0,
            # One core is 1.0: how much of a core the tool used over the whole run.
            "tool_cpu_share": round(context["tool_cpu_s"] / context["wall_s"], 3),
            "tool_cpu_share_peak_1s": round(max((c for _, c in run.cpu), default=0.0), 3),
        },
        "contagem": convergence,
        "score": {
            "contagem": count,
            "storable_maximum": storable,
            "pct_of_storable": round(100 * count / storable, 2) if count and storable else None,
        },
        "timeseries": seconds,
    }


def _timeseries(group: np.ndarray, start: np.ndarray, latency: np.ndarray, outcome: np.ndarray,
                ok: np.ndarray, lag_at: np.ndarray, lag: np.ndarray) -> dict[str, Any]:  # fmt: skip
    """Per-second series, by the second the request started (as Gatling's charts do)."""
    last = int(max(start.max() if start.size else 0, lag_at.max() if lag_at.size else 0)) + 1
    sec = np.clip(start, 0, None).astype(np.int64)
    end_sec = np.clip(start + latency, 0, None).astype(np.int64)
    bins = last + int(latency.max() if latency.size else 0) + 1

    def count(mask: np.ndarray, which: np.ndarray = sec, n: int = last) -> list[int]:
        return np.bincount(which[mask], minlength=n)[:n].astype(int).tolist()

    series: dict[str, Any] = {"second": list(range(last))}
    series["requests"] = {name: count(group == i) for i, name in enumerate(GROUPS)}
    series["requests"]["all"] = count(np.ones_like(ok))
    series["responses"] = count(np.ones_like(ok), end_sec, bins)
    series["ko"] = {
        "timeout": count(outcome == KO_TIMEOUT),
        "connection": count(outcome == KO_CONNECTION),
        "unexpected_status": count((outcome >= 0) & ~ok),
    }
    order = np.argsort(sec, kind="stable")
    bounds = np.searchsorted(sec[order], np.arange(last + 1))
    pct: dict[str, list[float | None]] = {"p50": [], "p95": [], "p99": [], "max": []}
    for s in range(last):
        chunk = latency[order[bounds[s] : bounds[s + 1]]] * 1000
        values = np.percentile(chunk, (50, 95, 99)) if chunk.size else [None] * 3
        for key, v in zip(("p50", "p95", "p99"), values, strict=True):
            pct[key].append(None if v is None else round(float(v), 2))
        pct["max"].append(round(float(chunk.max()), 2) if chunk.size else None)
    series["latency_ms"] = pct
    lag_sec = np.clip(lag_at, 0, None).astype(np.int64)
    lag_p99: list[float | None] = []
    lag_max: list[float | None] = []
    for s in range(last):
        chunk = lag[lag_sec == s]
        lag_p99.append(round(float(np.percentile(chunk, 99)), 3) if chunk.size else None)
        lag_max.append(round(float(chunk.max()), 3) if chunk.size else None)
    series["lag_ms"] = {"p99": lag_p99, "max": lag_max}
    return series


def _cpu_series(run: Run, seconds: int) -> list[float | None]:
    # Sample i covers the second that ended at its offset: index it by that second.
    out: list[float | None] = [None] * seconds
    for at, share in run.cpu:
        index = int(at) - 1
        if 0 <= index < seconds:
            out[index] = round(share, 3)
    return out


def write(out: Path, result: dict[str, Any], run: Run, plots: bool = True) -> None:
    out.mkdir(parents=True, exist_ok=True)
    ids = out / "created_ids.txt"
    ids.write_text("".join(f"{i}\n" for i in run.created_ids), encoding="ascii")
    result["files"] = {"created_ids": ids.name}
    images = _plots(out, result["timeseries"]) if plots else {}
    result["files"] |= images
    (out / "report.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    (out / "report.md").write_text(_markdown(result, images), encoding="utf-8")


def summary(result: dict[str, Any]) -> str:
    c, g, lag = result["contagem"], result["groups"]["all"], result["arrival_lag_ms"]
    return (
        f"requests {g['count']} (KO {g['ko']}: {g['ko_by_kind']}), "
        f"mean {result['throughput']['mean_rps']} req/s, peak {result['throughput']['peak_rps_1s']}"
        f"/s, p99 {g['latency_ms']['p99']} ms\n"
        f"201s {result['created_201']}, contagem {c['count']}, lost {c['lost']}, converged in "
        f"{c['convergence_s']} s, storable max {result['score']['storable_maximum']}\n"
        f"arrival lag p50/p99/max {lag.get('p50')}/{lag.get('p99')}/{lag.get('max')} ms, "
        f"tool CPU {result['throughput']['tool_cpu_share']} core (peak second "
        f"{result['throughput']['tool_cpu_share_peak_1s']})" + _search_lag_line(result.get("search_lag", {}))
    )


def _search_lag_rows(lag: dict[str, Any]) -> list[str]:
    if not lag.get("samples") and not lag.get("not_found"):
        return []
    return [
        f"| search lag, 201 to found, p50 / p99 / max ({lag['samples']} sampled) | "
        f"{_fmt(lag.get('p50_ms'))} / {_fmt(lag.get('p99_ms'))} / {_fmt(lag.get('max_ms'))} ms |",
        f"| sampled pessoas not found by search within {SEARCH_LAG_LIMIT:g} s | {_fmt(lag['not_found'])} |",
    ]


def _search_lag_line(lag: dict[str, Any]) -> str:
    if not lag.get("samples") and not lag.get("not_found"):
        return ""
    return (
        f"\nsearch lag from 201 to found ({lag['samples']} sampled): p50/p99/max "
        f"{lag.get('p50_ms')}/{lag.get('p99_ms')}/{lag.get('max_ms')} ms, not found within "
        f"{SEARCH_LAG_LIMIT:g} s {lag['not_found']}, too common to tell {lag['ambiguous']}"
    )


# Markdown --------------------------------------------------------------------------------------


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:,}" if isinstance(v, int) else str(v)


def _markdown(result: dict[str, Any], images: dict[str, str]) -> str:
    ctx, c, lag = result["context"], result["contagem"], result["arrival_lag_ms"]
    lines = [
        "# pessoas load report (Rinha de Backend 2023 Q3 reproduction)",
        "",
        f"Started {ctx['started_at']} against `{ctx['base_url']}`: scale {ctx['scale']}, "
        f"time {ctx['time']}, seed {ctx['seed']}, {ctx['connections']} connections. "
        f"Load lasted {ctx['load_duration_s']} s; users scheduled {ctx['scheduled_users']}.",
        "",
        "## Score",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| /contagem-pessoas after the load | **{_fmt(c['count'])}** |",
        f"| 201s received | {_fmt(result['created_201'])} |",
        f"| lost (201s not counted) | {_fmt(c['lost'])} |",
        f"| counted but never given a 201 | {_fmt(c['extra'])} |",
        "| converged | "
        + (f"yes, in {c['convergence_s']} s" if c["converged"] else "no")
        + f" (waited {c['waited_s']} s, {c['polls']} polls) |",
        f"| storable maximum of the payloads sent | {_fmt(ctx['storable_maximum'])} "
        f"({_fmt(ctx['posts_sent'])} POSTs) |",
        f"| contagem / storable maximum | {_fmt(result['score']['pct_of_storable'])} % |",
        f"| lookups answered 404 after a 201 | {_fmt(result['lookups_404_after_201'])} |",
        *_search_lag_rows(result.get("search_lag", {})),
        "",
        "## Requests",
        "",
        "| group | count | OK | KO | timeouts | conn. errors | bad status | p50 | p75 | p95 "
        "| p99 | max (ms) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, g in result["groups"].items():
        lat, ko = g["latency_ms"], g["ko_by_kind"]
        lines.append(
            f"| {name} | {_fmt(g['count'])} | {_fmt(g['ok'])} | {_fmt(g['ko'])} "
            f"| {_fmt(ko['timeout'])} | {_fmt(ko['connection'])} | {_fmt(ko['unexpected_status'])} "
            f"| {_fmt(lat['p50'])} | {_fmt(lat['p75'])} | {_fmt(lat['p95'])} | {_fmt(lat['p99'])} "
            f"| {_fmt(lat['max'])} |"
        )
    lines += ["", "Statuses by group:", ""]
    for name, g in result["groups"].items():
        statuses = ", ".join(f"{k}: {_fmt(v)}" for k, v in g["statuses"].items()) or "none"
        lines.append(f"- {name}: {statuses}")
    t = result["throughput"]
    lines += [
        "",
        "## The generator",
        "",
        f"Arrival lag (scheduled start vs. actual send) over {_fmt(lag['users'])} users: "
        f"p50 {_fmt(lag.get('p50'))} ms, p99 {_fmt(lag.get('p99'))} ms, max {_fmt(lag.get('max'))}"
        f" ms; {_fmt(lag.get('over_10ms'))} users over 10 ms, {_fmt(lag.get('over_100ms'))} over "
        f"100 ms. Throughput mean {t['mean_rps']} req/s, peak {_fmt(t['peak_rps_1s'])} req/s in "
        f"one second; the tool used {t['tool_cpu_share']} of a core on average over the whole run "
        f"(convergence wait included) and "
        f"{t['tool_cpu_share_peak_1s']} in its busiest second "
        f"({ctx['tool_cpu_s']} s CPU), opened {_fmt(ctx['connections_opened'])} connections.",
        "",
    ]
    titles = {"rps": "Requests per second", "latency": "Response time percentiles per second",
              "errors": "KOs per second", "lag": "Arrival lag and the tool's CPU per second"}  # fmt: skip
    for key, title in titles.items():
        if key in images:
            lines += [f"## {title}", "", f"![{title}]({images[key]})", ""]
    lines += [f"Created ids: `{result['files']['created_ids']}`; every figure: `report.json`.", ""]
    return "\n".join(lines)


# Plots -----------------------------------------------------------------------------------------


def _plots(out: Path, series: dict[str, Any]) -> dict[str, str]:
    import matplotlib  # imported here: only the report needs it, and it is slow to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = series["second"]
    images: dict[str, str] = {}

    def save(fig: Any, key: str) -> None:
        fig.tight_layout()
        fig.savefig(out / f"{key}.png", dpi=100)
        plt.close(fig)
        images[key] = f"{key}.png"

    fig, ax = plt.subplots(figsize=(11, 4.5))
    for name, values in series["requests"].items():
        ax.plot(x, values, label=name, linewidth=2.0 if name == "all" else 1.2)
    responses = series["responses"]
    ax.plot(range(len(responses)), responses, label="responses (all)", linestyle=":")
    ax.set(xlabel="seconds since start", ylabel="per second", title="Requests per second")
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, "rps")

    fig, ax = plt.subplots(figsize=(11, 4.5))
    for key in ("p50", "p95", "p99", "max"):
        values = [np.nan if v is None else v for v in series["latency_ms"][key]]
        ax.plot(x, values, label=key, linewidth=0.8 if key == "max" else 1.4)
    ax.set(xlabel="second the request started", ylabel="ms (log)", yscale="log",
           title="Response time percentiles (all requests)")  # fmt: skip
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    save(fig, "latency")

    fig, ax = plt.subplots(figsize=(11, 4.5))
    bottom = np.zeros(len(x))
    for kind, values in series["ko"].items():
        ax.bar(x, values, bottom=bottom, label=kind, width=1.0)
        bottom += np.array(values)
    ax.set(xlabel="second the request started", ylabel="KOs", title="KOs per second by kind")
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, "errors")

    fig, ax = plt.subplots(figsize=(11, 3.5))
    for key in ("p99", "max"):
        values = [np.nan if v is None else v for v in series["lag_ms"][key]]
        ax.plot(x, values, label=key)
    ax.set(xlabel="scheduled second", ylabel="ms", title="Arrival lag of the generator")
    cpu = [np.nan if v is None else v for v in series["tool_cpu_share"]]
    twin = ax.twinx()
    twin.plot(x, cpu, color="grey", linestyle="--", label="tool CPU (cores)")
    twin.set(ylabel="cores", ylim=(0, 1.1))
    ax.legend(loc="upper left")
    twin.legend(loc="upper right")
    ax.grid(alpha=0.3)
    save(fig, "lag")
    return images
