"""One fault scenario: load, fault, recovery, more load, then an exact audit in PostgreSQL.

A 201 means PostgreSQL committed the pessoa; Redis and RabbitMQ may lose anything. So the audit
checks every 201 against the ``pessoas`` table at once (nothing lost, nothing doubled, every field
as sent), reads every stored pessoa back by id, finds each one by searching its whole apelido
within ``SEARCHABLE_BOUND_S`` of the load's end (the worker's announcements or, for those lost,
its reconciler), and compares the API's count with the table's. Nothing in Redis or on the queue
is audited: either may legitimately hold nothing.

The audit is scoped by apelido prefix: every creation of a scenario carries its own prefix, so the
scenarios can share one stack (and one database) and still be audited one by one, exactly.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from bench.httpclient import Client, RequestFailed

from tests.faults import machine
from tests.faults.load import CREATE, LOOKUP, Load, LoadConfig, Rec, read_back, search_back

# The contract: after load stops, the count reaches the 201s within one second (here every 201 is in the
# table when it is answered). The wait goes on longer only so that a failure can say by how much.
CONVERGE_BOUND_S = 1.0
CONVERGE_TIMEOUT_S = 30.0
# Every stored pessoa is found by a search for its whole apelido within this long after the load's
# last answer: the worker's lag, or the reconciler's two passes for an announcement that was lost.
SEARCHABLE_BOUND_S = 10.0
REFUSALS = ("502", "503", "KO:timeout")


@dataclass(frozen=True)
class Bounds:
    """What a fault may cost, stated per fault (docs/faults.md gives the reasons for each figure).

    - ``recover_s``: from the fault being cleared to the first 201 answered to a creation sent after it;
      also how long after clearing a refusal may still be sent (none later).
    - ``refusals_max``: refusals (502, 503, client timeouts) over the whole scenario, all routes.
    - ``unconfirmed``: what a client may have seen for a pessoa that is stored without a 201: the
      creation was answered with one of these (a refusal that did not know the outcome).
    """

    recover_s: float
    refusals_max: int
    unconfirmed: frozenset[str] = frozenset({"503", "KO:timeout"})


@dataclass
class Marks:
    """Times (monotonic) the fault function records while it runs."""

    injected: float = 0.0
    cleared: float = 0.0
    down_from: float | None = None  # the dependency certainly stopped answering (a stopped service)
    down_until: float | None = None  # ...until here, when its start command was run
    notes: dict[str, Any] = field(default_factory=dict)


FaultFn = Callable[[Marks], None]


@dataclass
class Timeline:
    before_s: float = 8.0  # load before the fault
    after_s: float = 12.0  # load after the fault is cleared
    min_total_s: float = 25.0


def _phase(rec: Rec, marks: Marks) -> str:
    if rec.t0 < marks.injected:
        return "before"
    if rec.t0 < marks.cleared:
        return "during"
    return "after"


def _stored_rows(prefix: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(machine.DATABASE_URL, autocommit=True) as conn:
        return conn.execute(
            "SELECT id::text, apelido, nome, nascimento, stack FROM pessoas WHERE starts_with(apelido, %s)",
            (prefix,),
        ).fetchall()


def _table_counts(prefix: str) -> tuple[int, int]:
    """Rows of the whole ``pessoas`` table, and search rows of this prefix's stored pessoas."""
    with psycopg.connect(machine.DATABASE_URL, autocommit=True) as conn:
        total = conn.execute("SELECT count(*) FROM pessoas").fetchone()
        indexed = conn.execute(
            "SELECT count(*) FROM pessoas_search AS s JOIN pessoas AS p ON p.id = s.id "
            "WHERE starts_with(p.apelido, %s)",
            (prefix,),
        ).fetchone()
    assert total is not None and indexed is not None
    return int(total[0]), int(indexed[0])


async def _count_through_api(client: Client) -> int | None:
    """GET /contagem-pessoas through nginx: the count, or None if it did not answer 200."""
    request = b"GET /contagem-pessoas HTTP/1.1\r\nHost: 127.0.0.1:9999\r\n\r\n"
    try:
        response = await client.pooled(request, client.loop.time() + 60.0)
    except RequestFailed:
        return None
    return int(response.body) if response.status == 200 else None


async def _search_until_found(
    client: Client, apelidos: dict[str, str], deadline: float
) -> tuple[dict[str, float], list[dict[str, Any]], Counter[str]]:
    """Searches each pessoa's whole apelido until the search answers it, or the deadline passes.

    Returns when each id was first found (monotonic), the answers that held the id with other
    fields than stored, and the statuses of the searches that failed.
    """
    pending = dict(apelidos)
    found: dict[str, float] = {}
    wrong: list[dict[str, Any]] = []
    failed: Counter[str] = Counter()
    while pending:
        answers = await search_back(client, pending)
        now = time.monotonic()
        for pessoa_id, (status, body) in answers.items():
            if status != 200 or not isinstance(body, list):
                failed[str(status) if status is not None else f"KO:{body}"] += 1
                continue
            hits = [item for item in body if isinstance(item, dict) and item.get("id") == pessoa_id]
            if hits:
                found[pessoa_id] = now
                if hits[0].get("apelido") != pending[pessoa_id]:
                    wrong.append({"id": pessoa_id, "got": hits[0]})
                del pending[pessoa_id]
        if not pending or now >= deadline:
            break
        await asyncio.sleep(0.25)
    return found, wrong, failed


def _expected(rec: Rec) -> dict[str, Any]:
    assert rec.payload is not None
    return {"id": rec.pessoa_id, **rec.payload}


def _row_as_api(row: tuple[Any, ...]) -> dict[str, Any]:
    pessoa_id, apelido, nome, nascimento, stack = row
    return {
        "id": pessoa_id,
        "apelido": apelido,
        "nome": nome,
        "nascimento": nascimento.isoformat(),
        "stack": list(stack) if stack is not None else None,
    }


_NOISE = re.compile(r"^(\[[^]]*\] \[PID \d+\] |\S+ \S+ \d+ )")  # timestamp and pid of a log line


def _log_errors(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    markers = ("Error", "ERROR", "WARNING", "[error]", "[crit]", "[warn]")
    interesting = [line for line in lines if any(m in line for m in markers)]
    distinct = list(dict.fromkeys(_NOISE.sub("", line)[:240] for line in interesting))
    return {
        "tracebacks": sum(1 for line in lines if line.startswith("Traceback")),
        "error_lines": len(interesting),
        "reconciled_lines": sum(1 for line in lines if "that no announcement had brought" in line),
        "samples": distinct[:8],
    }


def _outcome(rec: Rec) -> str:
    return str(rec.status) if rec.status is not None else f"KO:{rec.ko}"


async def run_scenario(
    name: str, fault: FaultFn, bounds: Bounds, timeline: Timeline | None = None, seed: int = 0
) -> dict[str, Any]:
    timeline = timeline or Timeline()
    machine.wait_creations_work()
    prefix = f"{name[:3]}{secrets.token_hex(2)}-"
    load = Load(prefix, LoadConfig(seed=seed))
    offsets = {log: machine.log_size(log) for log in ("api1", "api2", "worker", "supervisord", "nginx-error")}
    marks = Marks()
    stop = asyncio.Event()
    started = time.monotonic()
    runner = asyncio.get_running_loop().create_task(load.run(stop))
    fault_error: BaseException | None = None
    try:
        await asyncio.sleep(timeline.before_s)
        load.fault_at = marks.injected = time.monotonic()
        try:
            await asyncio.to_thread(fault, marks)
        except BaseException as exc:
            fault_error = exc
            marks.cleared = marks.cleared or time.monotonic()
        if fault_error is None:
            end = max(marks.cleared + timeline.after_s, started + timeline.min_total_s)
            await asyncio.sleep(max(end - time.monotonic(), 0))
    finally:
        stop.set()
        sent_until = time.monotonic()
        await runner
        answered_until = time.monotonic()
    if fault_error is not None:
        await asyncio.to_thread(machine.ensure_services)
        raise RuntimeError(f"{name}: the fault itself failed: {fault_error!r}") from fault_error

    creations = [r for r in load.records if r.route == CREATE]
    ok201 = [r for r in creations if r.status == 201]
    ids201 = {r.pessoa_id: r for r in ok201 if r.pessoa_id}

    # Every acknowledged id must be stored already (committed before its 201); the wait only
    # measures by how much a failure misses, 30 s at most.
    converged_s: float | None = None
    rows: list[tuple[Any, ...]] = []
    deadline = answered_until + CONVERGE_TIMEOUT_S
    while True:
        rows = await asyncio.to_thread(_stored_rows, prefix)
        if set(ids201) <= {row[0] for row in rows}:
            converged_s = time.monotonic() - answered_until
            break
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # anything stored late (an uncertain commit) would show up here
    rows = await asyncio.to_thread(_stored_rows, prefix)
    stored = {row[0]: row for row in rows}

    # Every stored pessoa (every 201 among them) found by searching its whole apelido, through
    # nginx, within SEARCHABLE_BOUND_S of the load's last answer; then the counts.
    client = Client("127.0.0.1", 9999, timeout=60.0)
    try:
        found_at, search_wrong, search_failed = await _search_until_found(
            client,
            {pessoa_id: row[1] for pessoa_id, row in stored.items()},
            answered_until + SEARCHABLE_BOUND_S,
        )
        table_total, search_rows = await asyncio.to_thread(_table_counts, prefix)
        count_api = await _count_through_api(client)
    finally:
        client.close()
    unsearchable = sorted(stored[i][1] for i in set(stored) - set(found_at))
    unsearchable_201 = sorted(i for i in ids201 if i in stored and i not in found_at)
    searchable_s = max(found_at.values(), default=answered_until) - answered_until

    # -- the audit -------------------------------------------------------------------------------
    lost = sorted(set(ids201) - set(stored))
    by_apelido: dict[str, list[Rec]] = {}
    for rec in creations:
        if rec.apelido is not None:
            by_apelido.setdefault(rec.apelido, []).append(rec)
    apelidos_with_two_201 = sorted(
        a for a, recs in by_apelido.items() if sum(r.status == 201 for r in recs) > 1
    )
    # The table's unique apelido column makes "stored twice" impossible to observe there: what
    # can go wrong is a client told 201 twice for one apelido, or one id answered twice.
    ids_twice = sorted(i for i, n in Counter(r.pessoa_id for r in ok201).items() if n > 1)
    dup_of_acked_201 = [r for r in creations if r.dup_of_acked and r.status == 201]
    invalid_201 = [r for r in creations if r.kind == "invalid" and r.status == 201]
    doubled = len(apelidos_with_two_201) + len(ids_twice)

    stored_mismatch = [
        i for i, rec in ids201.items() if i in stored and _row_as_api(stored[i]) != _expected(rec)
    ]
    # Stored without a 201: legitimate only when a creation of that apelido was refused without a
    # verdict (bounds.unconfirmed: 503 uncertain, a timeout; a 502 where an API process is killed).
    without_201: Counter[str] = Counter()
    without_201_unexplained: list[str] = []
    for pessoa_id, row in stored.items():
        if pessoa_id in ids201:
            continue
        seen = sorted({_outcome(r) for r in by_apelido.get(row[1], [])})
        without_201["/".join(seen) or "an invalid body (no apelido recorded)"] += 1
        if not set(seen) & bounds.unconfirmed:
            without_201_unexplained.append(row[1])

    # Every stored pessoa, read back by id through nginx, as it was created.
    client = Client("127.0.0.1", 9999, timeout=60.0)
    try:
        answers = await read_back(client, list(stored))
    finally:
        client.close()
    readback_mismatch: list[dict[str, Any]] = []
    for pessoa_id, (status, body) in answers.items():
        want = _expected(ids201[pessoa_id]) if pessoa_id in ids201 else _row_as_api(stored[pessoa_id])
        if status != 200 or body != want:
            readback_mismatch.append({"id": pessoa_id, "status": status, "got": body, "want": want})

    # -- the figures -----------------------------------------------------------------------------
    fivexx: dict[str, Counter[str]] = {}
    fivexx_by_phase: dict[str, dict[str, Counter[str]]] = {}
    kos: dict[str, Counter[str]] = {}
    for rec in load.records:
        if rec.status is not None and rec.status >= 500:
            fivexx.setdefault(rec.route, Counter())[str(rec.status)] += 1
            fivexx_by_phase.setdefault(_phase(rec, marks), {}).setdefault(rec.route, Counter())[
                str(rec.status)
            ] += 1
        if rec.ko is not None:
            kos.setdefault(rec.route, Counter())[rec.ko] += 1
    creation_by_phase: dict[str, Counter[str]] = {}
    for rec in creations:
        key = str(rec.status) if rec.status is not None else f"KO:{rec.ko}"
        creation_by_phase.setdefault(_phase(rec, marks), Counter())[key] += 1
    lookups = [r for r in load.records if r.route == LOOKUP]
    lookup_by_phase: dict[str, Counter[str]] = {}
    for rec in lookups:
        key = str(rec.status) if rec.status is not None else f"KO:{rec.ko}"
        lookup_by_phase.setdefault(_phase(rec, marks), Counter())[key] += 1
    dup_pre_fault_after: Counter[str] = Counter(
        str(r.status) if r.status is not None else f"KO:{r.ko}"
        for r in creations
        if r.kind == "dup-before-fault" and r.t0 >= marks.cleared
    )
    while_down: Counter[str] = Counter()
    if marks.down_from is not None and marks.down_until is not None:
        for rec in creations:
            if marks.down_from <= rec.t0 and rec.t1 <= marks.down_until:
                while_down[str(rec.status) if rec.status is not None else f"KO:{rec.ko}"] += 1
    answered_201_after_clear = sorted(r.t1 for r in ok201 if r.t0 >= marks.cleared)
    times_201 = sorted([started, *(r.t1 for r in ok201), sent_until])
    gaps = [(b - a, a) for a, b in itertools.pairwise(times_201)]
    longest_gap, gap_start = max(gaps) if gaps else (0.0, started)
    failed_creations_after_clear = [
        r.t1 for r in creations if r.t0 >= marks.cleared and (r.ko is not None or (r.status or 0) >= 500)
    ]
    count_500 = sum(c.get("500", 0) for c in fivexx.values())
    refusals: dict[str, Counter[str]] = {}
    refusals_before_fault = refusals_late = 0
    for rec in load.records:
        if _outcome(rec) in REFUSALS:
            refusals.setdefault(rec.route, Counter())[_outcome(rec)] += 1
            refusals_before_fault += rec.t1 < marks.injected
            refusals_late += rec.t0 > marks.cleared + bounds.recover_s

    def rel(t: float) -> float:
        return round(t - started, 3)

    figures: dict[str, Any] = {
        "scenario": name,
        "prefix": prefix,
        "load": {
            "requests": len(load.records),
            "skipped_over_in_flight_cap": load.skipped,
            "seconds_sending": round(sent_until - started, 2),
            "seconds_until_last_answer": round(answered_until - started, 2),
            "answers_by_route": load.counts(),
        },
        "timeline_s": {
            "fault_injected": rel(marks.injected),
            "fault_cleared": rel(marks.cleared),
            "service_down_from": rel(marks.down_from) if marks.down_from else None,
            "service_start_command_at": rel(marks.down_until) if marks.down_until else None,
            "load_stopped": rel(sent_until),
            "last_answer": rel(answered_until),
        },
        "fault_notes": marks.notes,
        "created_201": len(ok201),
        "distinct_ids_201": len(ids201),
        "stored": len(stored),
        "lost": len(lost),
        "lost_ids": lost[:20],
        "doubled": doubled,
        "doubled_detail": {
            "apelidos_with_two_201": apelidos_with_two_201[:20],
            "ids_in_two_201": ids_twice[:20],
        },
        "dup_of_acknowledged_got_201": len(dup_of_acked_201),
        "invalid_got_201": len(invalid_201),
        "stored_without_201_by_client_outcome": dict(without_201),
        "stored_without_201_unexplained": len(without_201_unexplained),
        "stored_without_201_unexplained_apelidos": without_201_unexplained[:20],
        "unsearchable": len(unsearchable),
        "unsearchable_201": len(unsearchable_201),
        "unsearchable_apelidos": unsearchable[:20],
        "searchable_after_load_s": round(searchable_s, 3),
        "search_wrong_answers": len(search_wrong),
        "search_wrong_samples": search_wrong[:5],
        "search_failures": dict(search_failed),
        "search_rows": search_rows,
        "count_api": count_api,
        "count_table": table_total,
        "bounds": {
            "recover_s": bounds.recover_s,
            "refusals_max": bounds.refusals_max,
            "unconfirmed": sorted(bounds.unconfirmed),
            "converge_s": CONVERGE_BOUND_S,
            "searchable_s": SEARCHABLE_BOUND_S,
        },
        "refusals": sum(sum(c.values()) for c in refusals.values()),
        "refusals_by_route": {route: dict(c) for route, c in refusals.items()},
        "refusals_answered_before_fault": refusals_before_fault,
        "refusals_sent_after_recovery_bound": refusals_late,
        "stored_fields_mismatch": len(stored_mismatch),
        "readback_checked": len(answers),
        "readback_mismatch": len(readback_mismatch),
        "readback_mismatch_samples": readback_mismatch[:5],
        "count_500": count_500,
        "5xx_by_route": {route: dict(c) for route, c in fivexx.items()},
        "5xx_by_phase": {p: {route: dict(c) for route, c in d.items()} for p, d in fivexx_by_phase.items()},
        "kos_by_route": {route: dict(c) for route, c in kos.items()},
        "creations_by_phase": {p: dict(sorted(c.items())) for p, c in creation_by_phase.items()},
        "lookups_by_phase": {p: dict(sorted(c.items())) for p, c in lookup_by_phase.items()},
        "lookup_404_after_201": sum(1 for r in lookups if r.status == 404),
        "creations_sent_while_down": dict(sorted(while_down.items())),
        "dups_of_pre_fault_apelidos_after_clear": dict(dup_pre_fault_after),
        "time_to_recover_s": (
            round(answered_201_after_clear[0] - marks.cleared, 3) if answered_201_after_clear else None
        ),
        "last_failed_creation_after_clear_s": (
            round(max(failed_creations_after_clear) - marks.cleared, 3)
            if failed_creations_after_clear
            else None
        ),
        "fault_duration_s": round(marks.cleared - marks.injected, 3),
        "longest_gap_without_201_s": round(longest_gap, 3),
        "longest_gap_starts_s": rel(gap_start),
        "converged_after_load_s": round(converged_s, 3) if converged_s is not None else None,
        "logs": {log: _log_errors(machine.log_since(log, offset)) for log, offset in offsets.items()},
        "supervisor_lines": [
            line
            for line in machine.log_since("supervisord", offsets["supervisord"]).splitlines()
            if line.strip()
        ][:20],
    }
    machine.OUT.mkdir(parents=True, exist_ok=True)
    (machine.OUT / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
    machine.log(
        f"{name}: 201={len(ok201)} stored={len(stored)} lost={len(lost)} doubled={doubled} "
        f"refusals={figures['refusals_by_route']} KOs={figures['kos_by_route']} "
        f"recover={figures['time_to_recover_s']}s "
        f"converged={figures['converged_after_load_s']}s readback_mismatch={len(readback_mismatch)} "
        f"unsearchable={len(unsearchable)} searchable_after={figures['searchable_after_load_s']}s "
        f"count api/table={count_api}/{table_total}"
    )
    return figures


def check(figures: dict[str, Any]) -> None:
    """The promises every scenario must keep, and the bounds stated for its fault."""
    bounds = figures["bounds"]
    assert figures["lost"] == 0, (
        f"{figures['lost']} pessoas got a 201 and are not stored: {figures['lost_ids']}"
    )
    assert figures["doubled"] == 0, f"doubled: {figures['doubled_detail']}"
    assert figures["count_500"] == 0, f"500s: {figures['5xx_by_route']}"
    assert figures["dup_of_acknowledged_got_201"] == 0
    assert figures["invalid_got_201"] == 0
    assert figures["stored_fields_mismatch"] == 0
    assert figures["readback_mismatch"] == 0, figures["readback_mismatch_samples"]
    assert figures["stored_without_201_unexplained"] == 0, (
        f"stored without a 201 and never refused with {bounds['unconfirmed']}: "
        f"{figures['stored_without_201_by_client_outcome']}"
    )
    assert figures["lookup_404_after_201"] == 0, figures["lookups_by_phase"]
    assert figures["time_to_recover_s"] is not None, "no creation got a 201 after the fault was cleared"
    assert figures["time_to_recover_s"] <= bounds["recover_s"], (
        f"recovered in {figures['time_to_recover_s']} s, bound {bounds['recover_s']} s"
    )
    assert figures["refusals_answered_before_fault"] == 0, figures["refusals_by_route"]
    assert figures["refusals_sent_after_recovery_bound"] == 0, (
        f"{figures['refusals_sent_after_recovery_bound']} refusals of requests sent more than "
        f"{bounds['recover_s']} s after the fault was cleared: {figures['refusals_by_route']}"
    )
    assert figures["refusals"] <= bounds["refusals_max"], (
        f"{figures['refusals']} refusals, bound {bounds['refusals_max']}: {figures['refusals_by_route']}"
    )
    assert figures["converged_after_load_s"] is not None, "the stored count never reached the 201s"
    assert figures["converged_after_load_s"] <= bounds["converge_s"], (
        f"the stored count reached the 201s {figures['converged_after_load_s']} s after the load"
    )
    # Searchable: every stored pessoa found by its whole apelido, within the bound, as stored,
    # and the search table holds exactly one row for each of them (no more, no fewer).
    assert figures["unsearchable"] == 0, (
        f"{figures['unsearchable']} stored pessoas ({figures['unsearchable_201']} with a 201) not found "
        f"by a search for their apelido {bounds['searchable_s']} s after the load: "
        f"{figures['unsearchable_apelidos']} (failed searches: {figures['search_failures']})"
    )
    assert figures["searchable_after_load_s"] <= bounds["searchable_s"], (
        f"the last pessoa became searchable {figures['searchable_after_load_s']} s after the load"
    )
    assert figures["search_wrong_answers"] == 0, figures["search_wrong_samples"]
    assert figures["search_rows"] == figures["stored"], (
        f"{figures['search_rows']} search rows for {figures['stored']} stored pessoas"
    )
    # The count: every stored pessoa of the table, as the API answers it.
    assert figures["count_api"] == figures["count_table"], (
        f"GET /contagem-pessoas answered {figures['count_api']}, the table holds {figures['count_table']}"
    )
