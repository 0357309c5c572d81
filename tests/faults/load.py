"""A steady, mixed, open-model load for the fault scenarios, with every request recorded.

The load arrives on a fixed schedule whatever the service does (an open model, like the reference
test), so a stalled dependency shows up as requests piling up, not as a load that politely slows
down. Every request waits up to 60 s for its answer, so each one ends with a status, or with a KO
(connection failure or timeout) that is counted apart.

Creations (about 70% of the requests):
- new pessoas with a unique apelido under the scenario's prefix (some with a non-ASCII letter),
  its counter of fixed width, so that no apelido lies inside another and a search for one whole
  apelido finds exactly its pessoa (what the audit relies on);
- a few sent twice at the same moment (two concurrent POSTs of one apelido: at most one 201);
- duplicates of an apelido that already got a 201 (must be 422; after the fault, half of them are
  apelidos acknowledged *before* the fault);
- invalid bodies (not JSON, a field of the wrong type, a date that does not exist, an apelido
  too long): 400 or 422, never stored.
Lookups of ids that got a 201 (a 404 is a read-your-writes failure), and searches.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import resource
import string
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson
from bench.httpclient import Client, RequestFailed

REQUEST_TIMEOUT_S = 60.0

CREATE = "POST /pessoas"
LOOKUP = "GET /pessoas/{id}"
SEARCH = "GET /pessoas?t="
SEARCH_NO_TERM = "GET /pessoas"

STACKS = ["Javascript", "Python", "Go", "Java", "Kotlin", "PHP", "C#", "Swift", "Ruby", "Rust", "SQL"]


@dataclass(slots=True)
class Rec:
    """One request and how it ended."""

    route: str
    kind: str  # new, pair, dup, dup-before-fault, invalid, lookup, search, search-no-term
    t0: float  # monotonic send time
    t1: float = 0.0  # monotonic time of the answer (or the KO)
    status: int | None = None
    ko: str | None = None  # "connection" or "timeout" when no answer came
    apelido: str | None = None
    payload: dict[str, Any] | None = None  # the body sent, for a valid creation
    pessoa_id: str | None = None  # from Location, on a 201
    dup_of_acked: bool = False  # a creation whose apelido had already got a 201 when it was sent
    looked_up: str | None = None  # the id a lookup asked for


@dataclass
class LoadConfig:
    base_host: str = "127.0.0.1"
    base_port: int = 9999
    creations_per_s: float = 100.0
    lookups_per_s: float = 45.0
    searches_per_s: float = 15.0
    dup_share: float = 0.10
    invalid_share: float = 0.08
    pair_share: float = 0.03
    max_in_flight: int = 4000
    seed: int = 0


@dataclass
class Load:
    """Runs the schedule until `stop` is set; `records` holds every request sent."""

    prefix: str
    config: LoadConfig = field(default_factory=LoadConfig)
    records: list[Rec] = field(default_factory=list)
    acked: dict[str, Rec] = field(default_factory=dict)  # apelido -> the creation that got a 201
    acked_before_fault: list[str] = field(default_factory=list)
    fault_at: float | None = None  # set by the scenario when the fault is injected
    skipped: int = 0  # arrivals not sent because max_in_flight requests were pending
    in_flight: int = 0
    _counter: int = 0
    _ids: list[str] = field(default_factory=list)
    _acked_list: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.config.seed)
        self._tasks: set[asyncio.Task[None]] = set()

    # -- payloads ------------------------------------------------------------------------------

    def _next_apelido(self) -> str:
        self._counter += 1
        # Fixed width: "p-000001" is no substring of "p-000010", as "p-1" would be of "p-10".
        suffix = format(self._counter, "06x")
        return f"{self.prefix}{suffix}{'ç' if self._counter % 7 == 0 else ''}"

    def _payload(self, apelido: str) -> dict[str, Any]:
        rng = self.rng
        nome = "".join(rng.choice(string.ascii_letters + "  ") for _ in range(rng.randint(3, 40))).strip()
        nascimento = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 60 * 365))
        stack = [rng.choice(STACKS) for _ in range(rng.randint(1, 5))] if rng.random() < 0.8 else None
        return {"apelido": apelido, "nome": nome or "x", "nascimento": nascimento.isoformat(), "stack": stack}

    def _invalid_body(self) -> bytes:
        apelido = self._next_apelido()
        choice = self.rng.randrange(4)
        if choice == 0:
            return b'{"apelido": "' + apelido.encode() + b'", "nome": '  # not JSON: 400
        if choice == 1:
            return orjson.dumps({"apelido": apelido, "nome": 1, "nascimento": "2000-01-01"})  # 400
        if choice == 2:
            return orjson.dumps({"apelido": apelido, "nome": "Ana", "nascimento": "2023-02-29"})  # 422
        return orjson.dumps({"apelido": "x" * 35, "nome": "Ana", "nascimento": "2000-01-01"})  # 422

    # -- requests ------------------------------------------------------------------------------

    @staticmethod
    def _post(body: bytes) -> bytes:
        return (
            b"POST /pessoas HTTP/1.1\r\nHost: 127.0.0.1:9999\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )

    @staticmethod
    def _get(path: str) -> bytes:
        return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1:9999\r\n\r\n"

    async def _send(self, rec: Rec, request: bytes) -> None:
        self.in_flight += 1
        try:
            response = await self.client.pooled(request, self.client.loop.time() + REQUEST_TIMEOUT_S)
        except RequestFailed as exc:
            rec.t1 = time.monotonic()
            rec.ko = exc.kind
            return
        finally:
            self.in_flight -= 1
        rec.t1 = time.monotonic()
        rec.status = response.status
        if response.status == 201 and rec.apelido is not None:
            location = response.location or ""
            rec.pessoa_id = location.rsplit("/", 1)[-1] or None
            if rec.apelido not in self.acked:
                self.acked[rec.apelido] = rec
                self._acked_list.append(rec.apelido)
                if self.fault_at is None:
                    self.acked_before_fault.append(rec.apelido)
            if rec.pessoa_id:
                self._ids.append(rec.pessoa_id)

    def _spawn(self, rec: Rec, request: bytes) -> None:
        if self.in_flight >= self.config.max_in_flight:
            self.skipped += 1
            return
        self.records.append(rec)
        task = asyncio.get_running_loop().create_task(self._send(rec, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _creation(self, now: float) -> None:
        cfg, rng = self.config, self.rng
        roll = rng.random()
        if roll < cfg.invalid_share:
            self._spawn(Rec(CREATE, "invalid", now), self._post(self._invalid_body()))
            return
        if roll < cfg.invalid_share + cfg.dup_share and self._acked_list:
            before = self.fault_at is not None and self.acked_before_fault and rng.random() < 0.5
            apelido = rng.choice(self.acked_before_fault if before else self._acked_list)
            payload = self._payload(apelido)
            rec = Rec(CREATE, "dup-before-fault" if before else "dup", now, apelido=apelido, payload=payload)
            rec.dup_of_acked = True
            self._spawn(rec, self._post(orjson.dumps(payload)))
            return
        apelido = self._next_apelido()
        if rng.random() < cfg.pair_share:
            for _ in range(2):  # two concurrent POSTs of one apelido, each with its own body
                payload = self._payload(apelido)
                self._spawn(
                    Rec(CREATE, "pair", now, apelido=apelido, payload=payload),
                    self._post(orjson.dumps(payload)),
                )
            return
        payload = self._payload(apelido)
        self._spawn(
            Rec(CREATE, "new", now, apelido=apelido, payload=payload), self._post(orjson.dumps(payload))
        )

    def _lookup(self, now: float) -> None:
        if not self._ids:
            return
        pessoa_id = self.rng.choice(self._ids[-2000:])
        rec = Rec(LOOKUP, "lookup", now, looked_up=pessoa_id)
        self._spawn(rec, self._get(f"/pessoas/{pessoa_id}"))

    def _search(self, now: float) -> None:
        if self.rng.random() < 0.1:
            self._spawn(Rec(SEARCH_NO_TERM, "search-no-term", now), self._get("/pessoas"))
            return
        term = "".join(self.rng.choice(string.ascii_lowercase) for _ in range(self.rng.randint(2, 4)))
        if self.rng.random() < 0.3:
            term = self.rng.choice(STACKS)
        self._spawn(Rec(SEARCH, "search", now), self._get(f"/pessoas?t={quote(term)}"))

    async def run(self, stop: asyncio.Event) -> None:
        """Sends on schedule until `stop` is set, then waits for every answer (60 s at most each)."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:  # one socket per request in flight while a dependency stalls
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.client = Client(self.config.base_host, self.config.base_port, timeout=REQUEST_TIMEOUT_S)
        cfg = self.config
        rates = [(cfg.creations_per_s, self._creation), (cfg.lookups_per_s, self._lookup),
                 (cfg.searches_per_s, self._search)]  # fmt: skip
        owed = [0.0] * len(rates)
        last = time.monotonic()
        try:
            while not stop.is_set():
                await asyncio.sleep(0.005)
                now = time.monotonic()
                elapsed, last = now - last, now
                for i, (rate, send) in enumerate(rates):
                    owed[i] += rate * elapsed
                    while owed[i] >= 1.0:
                        owed[i] -= 1.0
                        send(now)
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
        finally:
            self.client.close()

    # -- summaries -----------------------------------------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        """Answers by route: status codes and KO kinds."""
        out: dict[str, Counter[str]] = {}
        for rec in self.records:
            key = str(rec.status) if rec.status is not None else f"KO:{rec.ko}"
            out.setdefault(rec.route, Counter())[key] += 1
        return {route: dict(sorted(c.items())) for route, c in sorted(out.items())}


async def search_back(
    client: Client, terms: dict[str, str], concurrency: int = 32
) -> dict[str, tuple[int | None, Any]]:
    """GET /pessoas?t=TERM through nginx for each key's term: key -> (status, parsed JSON or None)."""
    results: dict[str, tuple[int | None, Any]] = {}
    queue = list(terms.items())

    async def one_worker() -> None:
        while queue:
            key, term = queue.pop()
            request = Load._get(f"/pessoas?t={quote(term)}")
            try:
                response = await client.pooled(request, client.loop.time() + REQUEST_TIMEOUT_S)
            except RequestFailed as exc:
                results[key] = (None, exc.kind)
                continue
            body = orjson.loads(response.body) if response.status == 200 else None
            results[key] = (response.status, body)

    await asyncio.gather(*(one_worker() for _ in range(concurrency)))
    return results


async def read_back(
    client: Client, ids: list[str], concurrency: int = 32
) -> dict[str, tuple[int | None, Any]]:
    """GET /pessoas/{id} for each id through nginx: id -> (status, parsed JSON or None)."""
    results: dict[str, tuple[int | None, Any]] = {}
    queue = list(ids)

    async def one_worker() -> None:
        while queue:
            pessoa_id = queue.pop()
            request = Load._get(f"/pessoas/{pessoa_id}")
            try:
                response = await client.pooled(request, client.loop.time() + REQUEST_TIMEOUT_S)
            except RequestFailed as exc:
                results[pessoa_id] = (None, exc.kind)
                continue
            body = orjson.loads(response.body) if response.status == 200 else None
            results[pessoa_id] = (response.status, body)

    await asyncio.gather(*(one_worker() for _ in range(concurrency)))
    return results
