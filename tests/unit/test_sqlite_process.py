"""`pessoas serve` on a SQLite file, as a process: start-up refusals, kill -9 under load, backup.

Each server listens on a unix socket in the test's own folder, so nothing here takes a port.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

PESSOAS = str(Path(sys.executable).with_name("pessoas"))


def _env(path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESSOAS_")}
    env["PESSOAS_SQLITE_PATH"] = str(path)  # no other setting: the embedded default
    return env


class Server:
    def __init__(self, folder: Path) -> None:
        self.socket = folder / "api.sock"
        self.process = subprocess.Popen(
            [PESSOAS, "serve", "--uds", str(self.socket)],
            env=_env(folder / "data" / "pessoas.sqlite3"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"pessoas serve did not start: {self.process.stderr.read().decode()}")
            time.sleep(0.1)

    def _healthy(self) -> bool:
        try:
            with httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket))) as http:
                return http.get("http://pessoas/health").status_code == 200
        except httpx.TransportError:
            return False

    def client(self) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(uds=str(self.socket))
        return httpx.AsyncClient(transport=transport, base_url="http://pessoas", timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def _refused(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PESSOAS, "serve", "--uds", str(path.parent / "never.sock")],
        env=_env(path),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_file_that_is_not_a_database_stops_the_start_in_one_line(tmp_path):
    path = tmp_path / "pessoas.sqlite3"
    path.write_text("notes, not a database\n" * 200)
    result = _refused(path)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "refusing the SQLite file" in result.stderr and "not a readable SQLite database" in result.stderr
    assert not (tmp_path / "never.sock").exists()


def test_another_applications_database_stops_the_start_in_one_line(tmp_path):
    path = tmp_path / "pessoas.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (total REAL)")
    conn.commit()
    conn.close()
    result = _refused(path)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "another application's database" in result.stderr


async def _create_then_kill(server: Server, prefix: str, acknowledged: dict[str, dict], kill_at: int) -> None:
    """Concurrent creations, each 201 recorded in ``acknowledged``; kill -9 right after the ``kill_at``-th.

    The kill comes the moment that 201 is read, before anything else runs here, so the pessoa it
    acknowledged had no time to reach the file unless it was there before its 201 was sent.
    """

    async def user(n: int) -> None:
        async with server.client() as http:
            i = 0
            while True:
                i += 1
                body = {"apelido": f"{prefix}{n}-{i}", "nome": f"Nome {n} {i}", "nascimento": "1990-05-17"}
                try:
                    answer = await http.post("/pessoas", json=body)
                except httpx.TransportError:
                    return  # the server is gone
                if answer.status_code == 201:
                    acknowledged[answer.headers["location"]] = answer.json()
                    if len(acknowledged) == kill_at:
                        server.process.send_signal(signal.SIGKILL)

    await asyncio.gather(*(user(n) for n in range(24)))


async def test_kill_9_under_load_loses_no_acknowledged_pessoa(tmp_path):
    acknowledged: dict[str, dict] = {}
    for round_ in range(3):  # each round starts on the file the previous one was killed on
        server = Server(tmp_path)
        await asyncio.wait_for(
            _create_then_kill(server, f"r{round_}-", acknowledged, len(acknowledged) + 200), timeout=60
        )
        server.process.wait()

    server = Server(tmp_path)
    try:
        async with server.client() as http:
            count = int((await http.get("/contagem-pessoas")).text)
            # Every 201 is stored; a creation committed just before the kill may lack its 201.
            assert count >= len(acknowledged)
            for location, pessoa in acknowledged.items():
                answer = await http.get(location)
                assert answer.status_code == 200 and answer.json() == pessoa
            found = (
                await http.get("/pessoas", params={"t": next(iter(acknowledged.values()))["apelido"]})
            ).json()
            assert found
    finally:
        server.stop()
    conn = sqlite3.connect(tmp_path / "data" / "pessoas.sqlite3")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


async def test_an_online_backup_copies_the_file_while_it_serves(tmp_path):
    server = Server(tmp_path)
    try:
        async with server.client() as http:
            for i in range(20):
                assert (
                    await http.post(
                        "/pessoas", json={"apelido": f"b{i}", "nome": "B", "nascimento": "2000-01-01"}
                    )
                ).status_code == 201
            backup = tmp_path / "copies" / "backup.sqlite3"
            result = await asyncio.to_thread(
                subprocess.run,
                [PESSOAS, "backup", str(backup)],
                env=_env(tmp_path / "data" / "pessoas.sqlite3"),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 0, result.stderr
            assert "20 pessoas copied" in result.stdout
            assert (
                await http.post(
                    "/pessoas", json={"apelido": "depois", "nome": "D", "nascimento": "2000-01-01"}
                )
            ).status_code == 201
    finally:
        server.stop()
    conn = sqlite3.connect(backup)
    assert conn.execute("SELECT count(*) FROM pessoas").fetchone()[0] == 20
    conn.close()
