"""A throwaway in-memory pessoas server, only to self-test the load tool.

It answers the four routes of the contract from a dict, fast enough that the load tool, not the server,
is what a self-test measures. It is not the service and cuts every corner the bench does not see:
search is a linear scan, there is no persistence, one process, one event loop.

    python -m bench.fake_server --port 18999 [--lose 0.01] [--delay-ms 0]

--lose drops that fraction of created pessoas from /contagem-pessoas (to see `lost` in a report);
--delay-ms sleeps before each answer (to see latency and arrival lag in a report);
--search-window N searches only the N most recent pessoas (0: all), so that at high --scale the
fake's linear search does not become the bottleneck of a throughput self-test.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import random
import uuid
from typing import cast
from urllib.parse import unquote

import orjson
import uvloop

from bench.validation import CREATED, classify

CHUNK = 1000
_REASONS = {200: b"OK", 201: b"Created", 400: b"Bad Request", 404: b"Not Found",
            413: b"Content Too Large", 422: b"Unprocessable Content"}  # fmt: skip


class Store:
    def __init__(self, lose: float, search_window: int = 0) -> None:
        self.search_window = search_window
        self.by_id: dict[str, bytes] = {}
        self.by_apelido: set[str] = set()
        # Search index: pessoas in sealed chunks of CHUNK, each chunk's searchable text joined
        # into one string, so a search is a few C-speed str.find calls, not a Python loop.
        self.chunks: list[tuple[str, list[int], list[bytes]]] = []
        self.open_keys: list[str] = []
        self.open_encoded: list[bytes] = []
        self.counted = 0
        self.lose = lose
        self.rng = random.Random(0)

    def create(self, raw: bytes) -> tuple[int, bytes, str | None]:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return 400, b"", None
        status = classify(body)
        if status != CREATED:
            return status, b"", None
        if body["apelido"] in self.by_apelido:
            return 422, b"", None
        pessoa_id = str(uuid.uuid4())
        pessoa = {"id": pessoa_id, "apelido": body["apelido"], "nome": body["nome"],
                  "nascimento": body["nascimento"], "stack": body.get("stack")}  # fmt: skip
        encoded = orjson.dumps(pessoa)
        self.by_id[pessoa_id] = encoded
        self.by_apelido.add(body["apelido"])
        fields = [body["apelido"], body["nome"], *(body.get("stack") or [])]
        # Fields are joined by NUL, pessoas by SOH: no term contains either, so a match never
        # spans two fields or two pessoas.
        self.open_keys.append("\x00".join(fields).lower())
        self.open_encoded.append(encoded)
        if len(self.open_keys) == CHUNK:
            self._seal()
        if self.rng.random() >= self.lose:
            self.counted += 1
        return 201, encoded, f"/pessoas/{pessoa_id}"

    def _seal(self) -> None:
        self.chunks.append(_chunk(self.open_keys, self.open_encoded))
        self.open_keys, self.open_encoded = [], []

    def search(self, term: str) -> bytes:
        needle = term.lower()
        found: list[bytes] = []
        chunks = self.chunks
        if self.search_window:
            chunks = chunks[-(self.search_window // CHUNK) :] if self.search_window >= CHUNK else []
        for text, offsets, encoded in [*chunks, _chunk(self.open_keys, self.open_encoded)]:
            start = text.find(needle)
            while start >= 0 and len(found) < 50:
                index = bisect.bisect_right(offsets, start) - 1
                found.append(encoded[index])
                # Go on after this pessoa's text: each pessoa is returned once.
                if index + 1 == len(offsets):
                    break
                start = text.find(needle, offsets[index + 1])
            if len(found) >= 50:
                break
        return b"[" + b",".join(found) + b"]"


def _chunk(keys: list[str], encoded: list[bytes]) -> tuple[str, list[int], list[bytes]]:
    offsets, position = [], 0
    for key in keys:
        offsets.append(position)
        position += len(key) + 1
    return "\x01".join(keys), offsets, encoded


class HttpServer(asyncio.Protocol):
    def __init__(self, store: Store, delay: float) -> None:
        self.store = store
        self.delay = delay
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport but implement it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).split(b"\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buf) < end + 4 + length:
                return
            body = bytes(self.buf[end + 4 : end + 4 + length])
            del self.buf[: end + 4 + length]
            method, target, _ = head[0].split(b" ", 2)
            answer = self.route(method, target.decode("latin-1"), body)
            if self.delay > 0:
                asyncio.get_running_loop().call_later(self.delay, self.write, answer)
            else:
                self.write(answer)

    def write(self, answer: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer)

    def route(self, method: bytes, target: str, body: bytes) -> bytes:
        path, _, query = target.partition("?")
        if method == b"POST" and path == "/pessoas":
            if len(body) > 64 * 1024:
                return _answer(413)
            status, payload, location = self.store.create(body)
            return _answer(status, payload, location=location)
        if method == b"GET" and path == "/pessoas":
            params = dict(p.partition("=")[::2] for p in query.split("&") if p)
            term = unquote(params.get("t", ""))
            if not term:
                return _answer(400)
            return _answer(200, self.store.search(term))
        if method == b"GET" and path.startswith("/pessoas/"):
            found = self.store.by_id.get(path[len("/pessoas/") :])
            return _answer(200, found) if found is not None else _answer(404)
        if method == b"GET" and path == "/contagem-pessoas":
            return _answer(200, str(self.store.counted).encode(), content_type=b"text/plain")
        return _answer(404)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _answer(status: int, body: bytes = b"", location: str | None = None,
            content_type: bytes = b"application/json") -> bytes:  # fmt: skip
    head = [b"HTTP/1.1 %d %s" % (status, _REASONS[status]),
            b"Content-Type: " + content_type, b"Content-Length: %d" % len(body)]  # fmt: skip
    if location is not None:
        head.append(b"Location: " + location.encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + body


async def serve(host: str, port: int, lose: float, delay: float, window: int) -> None:
    store = Store(lose, window)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpServer(store, delay), host, port, backlog=4096)
    print(f"fake pessoas server on http://{host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="In-memory pessoas server for self-tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18999)
    parser.add_argument("--lose", type=float, default=0.0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--search-window", type=int, default=0)
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port, args.lose, args.delay_ms / 1000, args.search_window))


if __name__ == "__main__":
    main()
