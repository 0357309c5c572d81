"""A backup of the stack's PostgreSQL at the peak of the reference load, then its restore (make faults).

The reference load is the benchmark's own (`python -m bench.load` at 1x: the 205-second Rinha
ramp, docs/performance.md), run against the stack from a subprocess. When creations near their
peak rate, the test exports a snapshot, reads its rows, and has deploy/local/backup.sh dump that
very snapshot while the load goes on. Then:

- the load itself loses nothing: the count grows by its 201s, and by nothing else, every created
  id is a row, no lookup answers 404 after a 201, and no request gets a 5xx (a backup refuses
  nothing);
- the restore into a fresh database holds the snapshot's count and rows, field for field, and
  every one of them is searchable.

The bounded-rate variant of this scenario, under the fault suite's audit, is
test_backup_under_load.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import psycopg
import pytest
from bench import generate

from tests.faults import backups, machine

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("stack")]

# Creations ramp from 6 to 600 a second between 25 s and 205 s into the load: at 150 s they
# arrive at about 420 a second, and about 22,000 pessoas are stored.
BACKUP_AT_S = 150.0
LOAD_TIMEOUT_S = 600.0


def _stored_ids() -> set[str]:
    with psycopg.connect(machine.DATABASE_URL) as conn:
        return {row[0] for row in conn.execute("SELECT id::text FROM pessoas")}


@pytest.fixture(scope="module")
def load_data() -> None:
    """bench.load's seeded input files, generated as `make bench` does on its first run."""
    if not all(
        (generate.DEFAULT_DIR / name).exists() for name in (generate.PAYLOADS_FILE, generate.TERMS_FILE)
    ):
        generate.main([])


@pytest.mark.usefixtures("load_data")
def test_backup_at_the_peak_of_the_reference_load_restores_its_snapshot(tmp_path: Path) -> None:
    dump = tmp_path / "stack.dump"
    out = tmp_path / "load"
    before = _stored_ids()  # the stack's start-up check leaves a pessoa of its own
    load_log = (tmp_path / "load.log").open("w")
    load = subprocess.Popen(
        [sys.executable, "-m", "bench.load", "--out", str(out), "--no-plots"],
        cwd=machine.ROOT,
        stdout=load_log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        time.sleep(BACKUP_AT_S)
        assert load.poll() is None, "the load ended before the backup"
        snapshot = backups.backup_of_snapshot(dump)
        backup_done_while_loading = load.poll() is None
        load.wait(timeout=LOAD_TIMEOUT_S)
    finally:
        if load.poll() is None:
            load.kill()
        load_log.close()
    assert load.returncode == 0, (tmp_path / "load.log").read_text()[-4000:]
    assert backup_done_while_loading, "the backup outlasted the load: it was not taken under load"

    report = orjson.loads((out / "report.json").read_bytes())
    created = (out / report["files"]["created_ids"]).read_text(encoding="ascii").split()
    stored = _stored_ids()
    server_errors = {
        group: {status: n for status, n in stats["statuses"].items() if status.startswith("5")}
        for group, stats in report["groups"].items()
    }
    machine.log(
        f"backup_at_reference_peak: {len(created)} created, snapshot {len(snapshot['rows'])} rows, "
        f"backup {snapshot['backup_s']:.2f} s, {snapshot['dump_bytes']} bytes; "
        f"KO {report['groups']['all']['ko']}, p99 {report['groups']['all']['latency_ms']['p99']} ms"
    )
    # The load: nothing lost, nothing doubled, nothing refused.
    assert report["contagem"]["count"] == len(before) + len(created), report["contagem"]
    assert len(set(created)) == len(created) and stored - before == set(created) and before <= stored
    assert report["lookups_404_after_201"] == 0
    assert all(not errors for errors in server_errors.values()), server_errors
    assert 0 < len(snapshot["rows"]) < len(created), "the snapshot was not taken in the middle of creations"

    restore = backups.restored(dump)
    machine.log(
        f"backup_at_reference_peak: restore {restore['restore_s']:.2f} s, {len(restore['rows'])} rows"
    )
    assert len(restore["rows"]) == len(snapshot["rows"])
    assert restore["rows"] == snapshot["rows"]
    assert restore["search_ids"] == [row[0] for row in restore["rows"]]
