"""The fault audit's verdict (tests/faults/scenario.check) fails on each broken promise.

The scenarios themselves need the stack (make faults, and the smoke in make test); here each
promise is broken in turn on the figures of a healthy run, so none of the checks can pass blindly.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.faults.scenario import check


def healthy() -> dict[str, Any]:
    return {
        "bounds": {
            "recover_s": 3.0,
            "refusals_max": 100,
            "unconfirmed": ["503", "KO:timeout"],
            "converge_s": 1.0,
            "searchable_s": 10.0,
        },
        "stored": 1200,
        "lost": 0,
        "lost_ids": [],
        "doubled": 0,
        "doubled_detail": {},
        "logs": {"worker": {"reconciled_lines": 0, "samples": []}},
        "count_500": 0,
        "5xx_by_route": {},
        "dup_of_acknowledged_got_201": 0,
        "invalid_got_201": 0,
        "stored_fields_mismatch": 0,
        "readback_mismatch": 0,
        "readback_mismatch_samples": [],
        "stored_without_201_unexplained": 0,
        "stored_without_201_by_client_outcome": {"503": 2},
        "lookup_404_after_201": 0,
        "lookups_by_phase": {},
        "time_to_recover_s": 0.5,
        "refusals": 40,
        "refusals_by_route": {"POST /pessoas": {"503": 40}},
        "refusals_answered_before_fault": 0,
        "refusals_sent_after_recovery_bound": 0,
        "converged_after_load_s": 0.02,
        "unsearchable": 0,
        "unsearchable_201": 0,
        "unsearchable_apelidos": [],
        "searchable_after_load_s": 1.4,
        "search_wrong_answers": 0,
        "search_wrong_samples": [],
        "search_failures": {},
        "search_rows": 1200,
        "count_api": 5000,
        "count_table": 5000,
    }


def test_a_healthy_run_passes():
    check(healthy())


def test_what_redis_or_the_queue_hold_is_not_audited():
    # Either may legitimately hold nothing (a restart, an eviction, a purge): the audit reads
    # neither, and a run passes with the reconciler having indexed what announcements missed.
    figures = healthy()
    figures["logs"]["worker"]["reconciled_lines"] = 12
    figures["messages_left_on_queue"] = 40  # figures of the old audit, no longer rules
    figures["reservation_mismatch"] = 7
    check(figures)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("lost",), 1),
        (("doubled",), 1),
        (("count_500",), 1),
        (("dup_of_acknowledged_got_201",), 1),
        (("invalid_got_201",), 1),
        (("stored_fields_mismatch",), 1),
        (("readback_mismatch",), 1),
        (("stored_without_201_unexplained",), 1),
        (("lookup_404_after_201",), 1),
        (("time_to_recover_s",), None),  # never recovered
        (("time_to_recover_s",), 3.5),
        (("refusals",), 101),
        (("refusals_answered_before_fault",), 1),
        (("refusals_sent_after_recovery_bound",), 1),  # e.g. 503 forever after the fault
        (("converged_after_load_s",), None),
        (("converged_after_load_s",), 1.2),
        (("unsearchable",), 1),  # a stored pessoa a search for its apelido never found
        (("searchable_after_load_s",), 10.5),
        (("search_wrong_answers",), 1),
        (("search_rows",), 1199),  # a stored pessoa without its search row
        (("search_rows",), 1201),  # a search row too many
        (("count_api",), 4999),
        (("count_api",), None),  # the count did not answer
    ],
    ids=lambda value: "/".join(value) if isinstance(value, tuple) else repr(value),
)
def test_each_broken_promise_fails_the_scenario(path, value):
    figures = copy.deepcopy(healthy())
    target = figures
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(AssertionError):
        check(figures)
