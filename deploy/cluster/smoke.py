#!/usr/bin/env python3
"""A quick end-to-end check of a running cluster through :9999 (standard library only).

Creates pessoas through nginx (so across the three APIs), reads each back by id, waits until the
count (the primary) reaches them, searches one (the standby), and refuses a duplicate apelido.
Exits non-zero on any wrong answer.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
import uuid

BASE = "http://127.0.0.1:9999"


def call(method: str, path: str, body: object | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    # BASE is a fixed http:// address on loopback: no other scheme can reach urlopen.
    request = urllib.request.Request(BASE + path, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            text = response.read()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        return error.code, None


def main(count: int) -> int:
    run = uuid.uuid4().hex[:6]
    created = []
    for n in range(count):
        body = {"apelido": f"c{run}{n}", "nome": f"Nome {n}", "nascimento": "1990-01-01", "stack": ["Go"]}
        status, answer = call("POST", "/pessoas", body)
        if status != 201:
            print(f"POST {n}: {status}")
            return 1
        created.append(answer)
    for pessoa in created:
        assert isinstance(pessoa, dict)
        status, answer = call("GET", f"/pessoas/{pessoa['id']}")
        if status != 200 or answer != pessoa:
            print(f"GET {pessoa['id']}: {status} {answer}")
            return 1
    status, _ = call("POST", "/pessoas", {"apelido": f"c{run}0", "nome": "x", "nascimento": "1990-01-01"})
    if status != 422:
        print(f"a duplicate apelido got {status}, not 422")
        return 1
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(BASE + "/contagem-pessoas", timeout=10) as response:  # noqa: S310
            stored = int(response.read())
        if stored >= count:
            break
        if time.monotonic() > deadline:
            print(f"count {stored} < {count} after 30 s")
            return 1
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while True:  # the standby may trail the primary by a moment
        status, found = call("GET", f"/pessoas?t=c{run}{count - 1}")
        if status == 200 and isinstance(found, list) and found:
            break
        if time.monotonic() > deadline:
            print(f"search did not find c{run}{count - 1}: {status} {found}")
            return 1
        time.sleep(0.2)
    print(
        f"smoke: {count} created through nginx, read back, counted {stored}, found by search,"
        " duplicate refused"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
