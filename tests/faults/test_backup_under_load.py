"""A backup of the stack's PostgreSQL under the fault suite's load, then its restore (make faults).

The "fault" is deploy/local/backup.sh's backup, taken mid-load: it must refuse, lose and double
nothing (the scenario's whole audit). Its snapshot is one the test exported and read itself, so
the restore is checked exactly: a fresh database holds the same count and the same rows, field
for field, and every one of them is searchable.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.faults import backups, machine
from tests.faults.scenario import Bounds, Marks, check, run_scenario

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("stack")]

# A backup refuses nothing; a few client timeouts at most on a noisy machine.
BACKUP_BOUNDS = Bounds(recover_s=2.0, refusals_max=10)


def test_backup_under_load_restores_its_snapshot(tmp_path: Path) -> None:
    dump = tmp_path / "stack.dump"
    snapshot: dict[str, Any] = {}

    def fault(marks: Marks) -> None:
        snapshot.update(backups.backup_of_snapshot(dump))
        marks.cleared = time.monotonic()
        marks.notes["backup_s"] = round(snapshot["backup_s"], 3)
        marks.notes["snapshot_rows"] = len(snapshot["rows"])
        marks.notes["snapshot_not_yet_searchable"] = len(snapshot["rows"]) - len(snapshot["search_ids"])
        marks.notes["dump_bytes"] = snapshot["dump_bytes"]

    figures = asyncio.run(run_scenario("backup_under_load", fault, BACKUP_BOUNDS, seed=21))
    check(figures)
    assert figures["creations_by_phase"].get("during", {}).get("201", 0) > 0, "no creation during the backup"

    restore = backups.restored(dump)
    machine.log(
        f"backup_under_load: snapshot {len(snapshot['rows'])} rows "
        f"({figures['fault_notes']['snapshot_not_yet_searchable']} not yet searchable), "
        f"backup {figures['fault_notes']['backup_s']} s, {figures['fault_notes']['dump_bytes']} bytes; "
        f"restore {restore['restore_s']:.2f} s"
    )
    assert len(restore["rows"]) == len(snapshot["rows"])
    assert restore["rows"] == snapshot["rows"]
    assert restore["search_ids"] == [row[0] for row in restore["rows"]]
