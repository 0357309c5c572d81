"""The capacity sweep's bar, knee and table, on synthetic runs."""

from pathlib import Path

import orjson
import pytest

from bench import sweep
from bench.sweep import Row, knees, meets_the_bar


def row(offered: float, *, cpus: float = 1.5, scale: float | None = None, run: int = 1,
        p99: float = 20.0, ko: int = 0, stored: int | None = 1000, storable: int = 1000) -> Row:  # fmt: skip
    return Row(
        scale=offered / 100 if scale is None else scale,
        cpus=cpus,
        run=run,
        offered_rps=offered,
        requests=10_000,
        ko=ko,
        p99_ms=p99,
        route_p99_ms={"POST create": p99},
        stored=stored,
        storable=storable,
    )


def test_the_bar_is_all_stored_no_ko_and_p99_at_most_100_ms():
    assert meets_the_bar(stored=1000, storable=1000, ko=0, p99_ms=100.0)
    assert not meets_the_bar(stored=1000, storable=1000, ko=0, p99_ms=100.01)
    assert not meets_the_bar(stored=1000, storable=1000, ko=1, p99_ms=5.0)
    assert not meets_the_bar(stored=999, storable=1000, ko=0, p99_ms=5.0)
    assert not meets_the_bar(stored=None, storable=1000, ko=0, p99_ms=5.0)  # never converged


def test_the_knee_is_the_last_point_meeting_the_bar_before_the_first_failure():
    rows = [row(300, p99=250.0), row(100), row(200, p99=90.0), row(400, ko=3)]
    (knee,) = knees(rows)
    assert knee.knee is not None and knee.knee.offered_rps == 200
    assert knee.first_failure is not None and knee.first_failure.offered_rps == 300
    assert knee.passes_above_failure == []


def test_a_pass_above_the_first_failure_does_not_move_the_knee():
    rows = [row(100), row(200, stored=990), row(300)]
    (knee,) = knees(rows)
    assert knee.knee is not None and knee.knee.offered_rps == 100
    assert knee.first_failure is not None and knee.first_failure.offered_rps == 200
    assert [p.offered_rps for p in knee.passes_above_failure] == [300]


def test_no_knee_when_the_lowest_rate_fails_and_no_failure_when_all_pass():
    (failing,) = knees([row(100, ko=1), row(200)])
    assert failing.knee is None and failing.first_failure is not None
    assert failing.first_failure.offered_rps == 100
    (passing,) = knees([row(100), row(200)])
    assert passing.knee is not None and passing.knee.offered_rps == 200
    assert passing.first_failure is None


def test_each_envelope_has_its_own_knee():
    rows = [row(100, cpus=0.75), row(200, cpus=0.75, p99=400.0), row(100), row(200)]
    found = {k.cpus: k for k in knees(rows)}
    assert set(found) == {0.75, 1.5}
    assert found[0.75].knee is not None and found[0.75].knee.offered_rps == 100
    assert found[1.5].knee is not None and found[1.5].knee.offered_rps == 200
    assert found[1.5].first_failure is None


def test_a_scale_meets_the_bar_only_if_every_run_of_it_does():
    rows = [row(100, scale=1), row(104, scale=1, run=2, ko=2), row(50, scale=0.5)]
    (knee,) = knees(rows)
    assert knee.knee is not None and knee.knee.scale == 0.5
    assert knee.first_failure is not None and knee.first_failure.scale == 1
    assert knee.first_failure.offered_rps == 102  # the median of its runs


def _write_run(directory: Path, scale: float, cpus: float, p99: float, ko: int) -> Path:
    directory.mkdir(parents=True)
    groups = {name: {"count": 100, "ko": 0, "latency_ms": {"p99": p99 / 2}} for name in sweep.ROUTES} | {
        "all": {"count": 400, "ko": ko, "latency_ms": {"p99": p99}}
    }
    report = {
        "throughput": {"mean_rps": 200.0 * scale},
        "groups": groups,
        "contagem": {"count": 50},
        "context": {"storable_maximum": 50},
    }
    cpu = {
        "server_cpu_s": 80.5,
        "cpu_s": {"postgres": 12.25, "api1": 20.0, "loadtool": 30.0, "postgres-other": 0.5},
        "envelope": {"usage_s": 81.0, "throttled_s": 3.5},
        "peak_rss_mb": {"api1": 96.5, "api2": 101.0, "postgres": 300.0},
    }
    (directory / "report.json").write_bytes(orjson.dumps(report))
    (directory / "cpu.json").write_bytes(orjson.dumps(cpu))
    (directory / "point.json").write_bytes(orjson.dumps({"scale": scale, "cpus": cpus, "run": 1}))
    return directory


def test_the_report_reads_each_run_and_names_the_knees(tmp_path: Path) -> None:
    runs = [
        _write_run(tmp_path / "a", scale=0.5, cpus=1.5, p99=40.0, ko=0),
        _write_run(tmp_path / "b", scale=1.0, cpus=1.5, p99=900.0, ko=4),
    ]
    sweep.main(["--out", str(tmp_path / "out"), *map(str, runs)])
    first = sweep.read_run(runs[0])
    assert (first.scale, first.cpus, first.offered_rps, first.stored, first.storable) == (
        0.5,
        1.5,
        100.0,
        50,
        50,
    )
    assert first.route_p99_ms["valid search"] == 20.0
    assert first.throttled_s == 3.5 and first.server_cpu_s == 80.5
    # The larger of the two API instances, not PostgreSQL's.
    assert first.api_peak_rss_mb == 101.0
    # Only server components: the load tool and other PostgreSQL clusters are outside the envelope.
    assert first.component_cpu_s == {"postgres": 12.25, "api1": 20.0}
    text = (tmp_path / "out" / "report.md").read_text()
    assert "| 1.5 | 100.0 req/s (scale 0.5) | 200.0 req/s (scale 1) | - |" in text
    assert "| 1 | 1.5 | 1 | 200.0 | 400 | 1.00 | 900.0 |" in text
    assert (tmp_path / "out" / "sweep.png").stat().st_size > 0
    summary = orjson.loads((tmp_path / "out" / "sweep.json").read_bytes())
    assert summary["knees"][0]["knee"]["scale"] == 0.5


@pytest.mark.parametrize("columns_of", ["head", "separator", "row"])
def test_every_line_of_the_table_has_as_many_columns(columns_of: str) -> None:
    lines = sweep.markdown([row(100)], knees([row(100)]), None).splitlines()
    start = lines.index("## Runs") + 2
    head, separator, body = lines[start : start + 3]
    line = {"head": head, "separator": separator, "row": body}[columns_of]
    assert line.count("|") == head.count("|")
