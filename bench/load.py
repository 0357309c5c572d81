"""Open-model load generator reproducing the Rinha de Backend 2023 Q3 stress test (docs/performance.md).

    .venv/bin/python -m bench.load [--base-url http://127.0.0.1:9999] [--scale 1] [--time 1]
                                   [--seed 42] [--out DIR] [--connections user|pool]

Run from the repository root. Users arrive on a precomputed schedule (bench/schedule.py) whether
or not earlier users have finished; each runs its scenario once. After the load it waits for
/contagem-pessoas to reach the number of 201s, then writes report.json, report.md, plots and the
list of created ids to --out (default bench/results/<timestamp>/).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import resource
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
import uvloop

from bench import report, schedule
from bench.generate import DEFAULT_DIR, PAYLOADS_FILE, TERMS_FILE
from bench.httpclient import TIMEOUT, Client, Connection, RequestFailed, Response
from bench.validation import storable_maximum

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Request groups, as Gatling names its requests; the index is what each record stores.
POST_CREATE, GET_LOOKUP, VALID_SEARCH, INVALID_SEARCH = range(4)
GROUPS = ["POST create", "GET lookup", "valid search", "invalid search"]
# Which statuses are OK for each group (the simulation's checks).
OK_STATUSES: list[frozenset[int] | None] = [
    frozenset({201, 422, 400}),  # status.in(201, 422, 400)
    frozenset({200}),  # the lookup of a pessoa that got a 201 must find it
    None,  # any 2xx (Gatling's implicit check); None means "200..299"
    frozenset({400}),  # status.is(400)
]
# Outcome codes for KOs that are not HTTP answers; statuses are stored as themselves.
KO_TIMEOUT, KO_CONNECTION = -1, -2

REQUEST_TIMEOUT = 60.0  # Gatling's default requestTimeout, and the reference test's KO threshold
# The search-lag probe polls a sampled pessoa's apelido this often, for at most this long. Its
# searches are extra load, about (samples x lag / poll): a tighter poll, or more samples, load
# the server the probe measures, and a saturated server lags more, which adds polls.
SEARCH_LAG_POLL = 0.05
SEARCH_LAG_LIMIT = report.SEARCH_LAG_LIMIT
# Start the clock a little after setup so the first arrivals are not already late.
START_DELAY = 0.25
# uvloop's loop.time() is libuv's millisecond clock, cached per loop iteration: too coarse to
# measure sub-millisecond latencies and lags, so every measurement uses this one instead.
clock = time.perf_counter
USER_AGENT = b"Agente do Caos - 2023"  # the simulation's userAgentHeader


@dataclass
class Run:
    """Everything the users record while the load runs; turned into a report afterwards."""

    # (group, start offset s, latency s, outcome): outcome is a status or a KO_* code.
    records: list[tuple[int, float, float, int]] = field(default_factory=list)
    # (scheduled offset s, arrival lag s) of every user: how late its first request left.
    lags: list[tuple[float, float]] = field(default_factory=list)
    created_ids: list[str] = field(default_factory=list)
    # (offset s, share of one core the tool used over the past second)
    cpu: list[tuple[float, float]] = field(default_factory=list)
    lookup_404: int = 0
    posts_sent: int = 0
    active: int = 0
    # The search-lag probe (--search-lag-every): seconds from a sampled 201 to the first search
    # that found that pessoa; pessoas never found within SEARCH_LAG_LIMIT; probes whose every
    # answer held the limit of 50 others (the term was too common to tell).
    search_lags: list[float] = field(default_factory=list)
    search_lag_not_found: int = 0
    search_lag_ambiguous: int = 0


class Load:
    def __init__(self, args: argparse.Namespace, payloads: list[bytes], terms: list[str]) -> None:
        url = urlsplit(args.base_url)
        if url.scheme != "http" or not url.hostname:
            raise SystemExit(f"--base-url must be http://host[:port], not {args.base_url!r}")
        self.host = url.hostname
        self.port = url.port or 80
        self.shared = args.connections == "pool"
        self.client: Client
        self.loop: asyncio.AbstractEventLoop
        self.run = Run()
        self.rng = random.Random(f"{args.seed}:pauses")
        self.payloads = payloads
        self.t0 = 0.0
        self.done = asyncio.Event()
        self.dispatching = True
        host = url.netloc.encode()
        common = b"Host: " + host + b"\r\nUser-Agent: " + USER_AGENT + b"\r\n"
        self.post_head = b"POST /pessoas HTTP/1.1\r\n" + common
        self.get_head = common + b"\r\n"
        # Search requests are prebuilt: the terms file is small and the bytes never change.
        # Gatling URL-encodes the term (spaces become %20).
        self.searches = [
            b"GET /pessoas?t=" + quote(term, safe="").encode() + b" HTTP/1.1\r\n" + self.get_head
            for term in terms
        ]
        self.search_i = 0
        self.invalid_search = b"GET /pessoas HTTP/1.1\r\n" + self.get_head
        self.search_lag_every = args.search_lag_every

    # one virtual user per arrival ----------------------------------------------------------

    async def create_user(self, due: float) -> None:
        body = self.payloads[self.run.posts_sent % len(self.payloads)]  # circular feeder
        self.run.posts_sent += 1
        request = b"%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
            self.post_head,
            len(body),
            body,
        )
        user = _User(self)
        try:
            response = await user.call(POST_CREATE, request, due)
            # .pause(1 ms, 30 ms): uniform, and it happens whatever the status was.
            await asyncio.sleep(self.rng.uniform(0.001, 0.030))
            if response is None or response.location is None:
                return
            path = _path_of(response.location)
            if response.status == 201:
                self.run.created_ids.append(path.rsplit("/", 1)[-1])
                if self.search_lag_every and len(self.run.created_ids) % self.search_lag_every == 0:
                    self._start(self.search_lag_probe(body, path.rsplit("/", 1)[-1], clock()))
            lookup = await user.call(GET_LOOKUP, b"GET " + path.encode() + b" HTTP/1.1\r\n"
                                     + self.get_head, None)  # fmt: skip
            if response.status == 201 and lookup is not None and lookup.status == 404:
                self.run.lookup_404 += 1
        finally:
            user.close()

    async def search_user(self, due: float) -> None:
        request = self.searches[self.search_i % len(self.searches)]  # circular feeder
        self.search_i += 1
        user = _User(self)
        try:
            await user.call(VALID_SEARCH, request, due)
        finally:
            user.close()

    async def invalid_search_user(self, due: float) -> None:
        user = _User(self)
        try:
            await user.call(INVALID_SEARCH, self.invalid_search, due)
        finally:
            user.close()

    async def search_lag_probe(self, body: bytes, pessoa_id: str, created_at: float) -> None:
        """Searches the new pessoa's apelido until the answer holds it: the search lag of one 201.

        Not part of the reference load (off unless --search-lag-every is given): it adds its
        own searches, on the shared pool, so that it opens no connection per poll.
        """
        term = orjson.loads(body)["apelido"]
        request = b"GET /pessoas?t=" + quote(term, safe="").encode() + b" HTTP/1.1\r\n" + self.get_head
        needle = pessoa_id.encode()
        ambiguous = True
        while clock() - created_at < SEARCH_LAG_LIMIT:
            try:
                response = await self.client.pooled(request, self.loop.time() + REQUEST_TIMEOUT)
            except RequestFailed:
                response = None
            if response is not None and response.status == 200:
                if needle in response.body:
                    self.run.search_lags.append(clock() - created_at)
                    return
                ambiguous = ambiguous and len(orjson.loads(response.body)) >= 50
            await asyncio.sleep(SEARCH_LAG_POLL)
        if ambiguous:
            self.run.search_lag_ambiguous += 1
        else:
            self.run.search_lag_not_found += 1

    def _start(self, coroutine: Any) -> None:
        self.run.active += 1
        self.loop.create_task(coroutine).add_done_callback(self._user_done)

    # the injector ----------------------------------------------------------------------------

    async def execute(self, arrivals: list[tuple[float, int]]) -> float:
        """Start every user on schedule, then wait for all of them; returns the load's length."""
        self.loop = asyncio.get_running_loop()
        self.client = Client(self.host, self.port, REQUEST_TIMEOUT)
        starters = [self.create_user, self.search_user, self.invalid_search_user]
        progress = self.loop.create_task(self._progress(arrivals[-1][0] if arrivals else 0.0))
        self.t0 = clock() + START_DELAY
        i, n = 0, len(arrivals)
        while i < n:
            now = clock() - self.t0
            # Start everyone due by now (and within half a millisecond: sleeping less than
            # that costs more than it gains), then sleep until the next arrival.
            while i < n and arrivals[i][0] <= now + 0.0005:
                offset, scenario = arrivals[i]
                self._start(starters[scenario](self.t0 + offset))
                i += 1
            if i < n:
                await asyncio.sleep(max(0.0, arrivals[i][0] - (clock() - self.t0)))
        self.dispatching = False
        if self.run.active:
            await self.done.wait()
        progress.cancel()
        return clock() - self.t0

    def _user_done(self, task: asyncio.Task[None]) -> None:
        self.run.active -= 1
        if not task.cancelled() and task.exception() is not None:
            # A bug in the tool, not a KO: say so loudly rather than skew the figures.
            print(f"user crashed: {task.exception()!r}", file=sys.stderr)
        if not self.dispatching and self.run.active == 0:
            self.done.set()

    async def _progress(self, last_arrival: float) -> None:
        """Samples the tool's own CPU use every second; prints a line every 10 seconds.

        The CPU series shows whether the generator itself neared a full core at the peak,
        which the mean over the whole run would hide.
        """
        seen, second = 0, 0
        cpu_before, wall_before = time.process_time(), clock()
        while True:
            await asyncio.sleep(1)
            cpu_now, wall_now = time.process_time(), clock()
            self.run.cpu.append((wall_now - self.t0, (cpu_now - cpu_before) / (wall_now - wall_before)))
            cpu_before, wall_before = cpu_now, wall_now
            second += 1
            if second % 10:
                continue
            records = self.run.records
            recent = records[seen:]
            seen = len(records)
            kos = sum(1 for r in recent if r[3] < 0)
            print(f"[{wall_now - self.t0:6.1f}/{last_arrival:.0f}s] {len(recent) / 10:8.1f} "
                  f"answers/s, {self.run.active} users active, {kos} KOs in 10 s, "
                  f"tool CPU {self.run.cpu[-1][1]:.2f} core", flush=True)  # fmt: skip

    # after the load ----------------------------------------------------------------------------

    async def converge(self, expected: int, limit: float = 10.0) -> dict[str, Any]:
        """Poll /contagem-pessoas until it equals the number of 201s or `limit` seconds pass."""
        request = b"GET /contagem-pessoas HTTP/1.1\r\n" + self.get_head
        start = clock()
        count: int | None = None
        polls = 0
        errors: list[str] = []
        while True:
            polls += 1
            try:
                response = await self.client.pooled(request, self.loop.time() + limit)
                if response.status == 200:
                    count = int(response.body.strip())
                else:
                    errors.append(f"status {response.status}")
            except (RequestFailed, ValueError) as exc:
                errors.append(str(exc))
            elapsed = clock() - start
            if count == expected or elapsed >= limit:
                break
            await asyncio.sleep(0.05)
        converged = count == expected
        return {
            "count": count,
            "created_201": expected,
            "lost": max(0, expected - count) if count is not None else None,
            "extra": max(0, count - expected) if count is not None else None,
            "converged": converged,
            "convergence_s": round(elapsed, 3) if converged else None,
            "waited_s": round(elapsed, 3),
            "polls": polls,
            "errors": errors[-5:],
        }


class _User:
    """A virtual user's connection handling: its own connection, or the shared pool."""

    __slots__ = ("conn", "load")

    def __init__(self, load: Load) -> None:
        self.load = load
        self.conn: Connection | None = None

    async def call(self, group: int, request: bytes, due: float | None) -> Response | None:
        load = self.load
        start = clock()
        if due is not None:  # the user's first request: how late did it leave?
            load.run.lags.append((due - load.t0, start - due))
        # Deadlines are on the loop's clock (its timers use it); measurements are on clock().
        deadline = load.loop.time() + REQUEST_TIMEOUT
        try:
            if load.shared:
                response = await load.client.pooled(request, deadline)
            else:
                if self.conn is None or self.conn.closed:
                    self.conn = await load.client.connect(deadline)
                response = await load.client.request(self.conn, request, deadline)
        except RequestFailed as exc:
            outcome = KO_TIMEOUT if exc.kind == TIMEOUT else KO_CONNECTION
            load.run.records.append((group, start - load.t0, clock() - start, outcome))
            if self.conn is not None:
                self.conn.abort()
            return None
        load.run.records.append((group, start - load.t0, clock() - start, response.status))
        return response

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _path_of(location: str) -> str:
    # Location may be a path (as the contract says) or an absolute URL: request only its path.
    if location.startswith("/"):
        return location
    split = urlsplit(location)
    return split.path + (f"?{split.query}" if split.query else "")


def _raise_fd_limit() -> int:
    # An open model against a stalled server holds one socket per waiting user (up to 60 s of
    # arrivals): ask for as many descriptors as the hard limit allows.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:9999")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every rate")
    parser.add_argument("--time", type=float, default=1.0, help="multiplies every duration")
    parser.add_argument("--seed", type=int, default=42, help="Poisson arrivals and pauses")
    parser.add_argument("--out", type=Path, default=None, help="report directory")
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR, help="payloads and terms")
    parser.add_argument(
        "--connections",
        choices=["user", "pool"],
        default="user",
        help="user: a connection per virtual user, as Gatling does (default); "
        "pool: one shared keep-alive pool",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument(
        "--search-lag-every",
        type=int,
        default=0,
        metavar="N",
        help="after every Nth 201, poll a search for that pessoa's apelido until it is found: "
        "the search lag (extra searches beyond the reference load; 0, the default, is off)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    payload_path, term_path = args.data / PAYLOADS_FILE, args.data / TERMS_FILE
    if not payload_path.exists() or not term_path.exists():
        raise SystemExit(f"no data in {args.data}: run `python -m bench.generate` first")
    payloads = payload_path.read_bytes().splitlines()
    terms = term_path.read_text(encoding="ascii").splitlines()
    out = args.out or RESULTS_DIR / datetime.now().strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)

    steps = schedule.rinha_steps(args.scale, args.time)
    rng = random.Random(f"{args.seed}:arrivals")
    arrivals = [
        (t, index)
        for index, name in enumerate(["create", "search", "invalid"])
        for t in schedule.arrivals(steps[name], rng)
    ]
    arrivals.sort()
    fd_limit = _raise_fd_limit()
    print(f"{len(arrivals)} users over {arrivals[-1][0]:.1f} s against {args.base_url} "
          f"({args.connections} connections, fd limit {fd_limit})", flush=True)  # fmt: skip

    # Everything loaded so far lives until the end: keep the collector from rescanning it.
    gc.collect()
    gc.freeze()
    load = Load(args, payloads, terms)
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    started_at = datetime.now().astimezone().isoformat(timespec="seconds")
    wall_start = time.monotonic()

    async def body() -> tuple[float, dict[str, Any]]:
        duration = await load.execute(arrivals)
        convergence = await load.converge(
            sum(1 for r in load.run.records if r[0] == POST_CREATE and r[3] == 201)
        )
        load.client.close()
        return duration, convergence

    duration, convergence = uvloop.run(body())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)

    sent = [orjson.loads(payloads[i % len(payloads)]) for i in range(load.run.posts_sent)]
    context = {
        "started_at": started_at,
        "base_url": args.base_url,
        "scale": args.scale,
        "time": args.time,
        "seed": args.seed,
        "connections": args.connections,
        "scheduled_users": {
            name: sum(1 for _, s in arrivals if s == i)
            for i, name in enumerate(["create", "search", "invalid"])
        },
        "load_duration_s": round(duration, 3),
        "wall_s": round(time.monotonic() - wall_start, 3),
        "tool_cpu_s": round(cpu, 3),
        "connections_opened": load.client.opened,
        "posts_sent": load.run.posts_sent,
        "storable_maximum": storable_maximum(sent),
    }
    result = report.build(context, load.run, convergence)
    report.write(out, result, load.run, plots=not args.no_plots)
    print(report.summary(result))
    print(f"report: {out / 'report.md'}")
    return out


if __name__ == "__main__":
    main()
