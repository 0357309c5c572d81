"""CPU per request of the HTTP layer alone: the app called in-process over the in-memory adapters.

No server and no sockets, so what differs between two runs is the dispatch and the handlers:
this is how a change to the HTTP layer is compared with the one before it. Run it from the
checkout being measured (it imports that checkout's ``pessoas``):

    .venv/bin/python -m bench.probes.asgi_overhead [--requests 20000] [--repeat 5]

It prints, for each route (and each dispatch path of a checkout that had two), the median over
``--repeat`` rounds of the process CPU time per request, in microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from asgi_lifespan import LifespanManager

from pessoas.container import build_container
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings

Scope = dict[str, Any]


def _apps() -> dict[str, Any]:
    def fresh() -> Any:
        return build_container(Settings(storage="memory", database_url=None, redis_url=None, amqp_url=None))

    if "fast_dispatch" in inspect.signature(create_app).parameters:
        # Checkouts whose app had a dispatch path beside FastAPI's router, and the router alone.
        return {
            "fast": create_app(fresh()),
            "fastapi": create_app(fresh(), fast_dispatch=False),  # type: ignore[call-arg]
        }
    return {"app": create_app(fresh())}


def _scope(method: str, path: str, query: bytes = b"", body: bytes = b"") -> Scope:
    headers = [(b"host", b"pessoas"), (b"content-type", b"application/json")]
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 9999),
    }


async def _call(app: Any, scope: Scope, body: bytes = b"") -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(dict(scope), receive, send)
    status = sent[0]["status"]
    return status, b"".join(m.get("body", b"") for m in sent[1:])


async def _measure(app: Any, requests: int) -> dict[str, float]:
    counter = iter(range(10**9))

    def creation() -> tuple[Scope, bytes]:
        n = next(counter)
        body = orjson.dumps({"apelido": f"a{n}", "nome": "Nome", "nascimento": "2000-01-01", "stack": ["Go"]})
        return _scope("POST", "/pessoas", body=body), body

    status, created = await _call(app, *creation())
    assert status == 201, status
    known = orjson.loads(created)["id"]
    cases: dict[str, Callable[[], tuple[Scope, bytes]]] = {
        "POST /pessoas": creation,
        "GET /pessoas/{id}": lambda: (_scope("GET", f"/pessoas/{known}"), b""),
        "GET /pessoas/{unknown}": lambda: (_scope("GET", f"/pessoas/{uuid.uuid4()}"), b""),
        "GET /pessoas (no t)": lambda: (_scope("GET", "/pessoas"), b""),
        "GET /contagem-pessoas": lambda: (_scope("GET", "/contagem-pessoas"), b""),
    }
    results = {}
    for name, make in cases.items():
        prepared = [make() for _ in range(requests)]
        started = time.process_time()
        for scope, body in prepared:
            await _call(app, scope, body)
        results[name] = (time.process_time() - started) / requests * 1e6
    return results


async def _main(requests: int, repeat: int) -> None:
    rounds: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeat):
        for label, app in _apps().items():
            async with LifespanManager(app) as manager:
                for route, micros in (await _measure(manager.app, requests)).items():
                    rounds.setdefault((route, label), []).append(micros)
    print(f"{'route':26} {'path':8} {'µs CPU/request (median)':>24} {'min':>8}")
    for (route, label), values in rounds.items():
        print(f"{route:26} {label:8} {statistics.median(values):24.1f} {min(values):8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(_main(args.requests, args.repeat))


if __name__ == "__main__":
    main()
