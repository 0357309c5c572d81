"""The embedded SQLite service through HTTP when the file cannot take writes: 503, nothing promised."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from asgi_lifespan import LifespanManager
from dependency_injector import providers

from pessoas.adapters.sqlite_writer import SqliteWriter
from pessoas.container import Container, build_container
from pessoas.container.sqlite import SqliteEmbedded
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings

BODY = {"apelido": "ana", "nome": "Ana", "nascimento": "2000-01-01", "stack": ["Go"]}


def _settings(tmp_path) -> Settings:
    return Settings(
        storage="sqlite",
        sqlite_path=tmp_path / "pessoas.sqlite3",
        sqlite_busy_ms=200,
        outage_pause_ms=0,  # the tests retry at once once the file takes writes again
        database_url=None,
        redis_url=None,
        amqp_url=None,
    )


async def _serve(container):
    manager = LifespanManager(create_app(container))
    await manager.__aenter__()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://pessoas")
    return manager, http


async def test_a_file_locked_by_another_process_gives_503_then_the_apelido_is_free(tmp_path):
    manager, http = await _serve(build_container(_settings(tmp_path)))
    try:
        kept = await http.post("/pessoas", json=dict(BODY, apelido="antes"))
        assert kept.status_code == 201
        other = sqlite3.connect(tmp_path / "pessoas.sqlite3", isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            assert (await http.post("/pessoas", json=BODY)).status_code == 503
        finally:
            other.execute("ROLLBACK")
            other.close()
        # Nothing was promised: the apelido is free, and the reads never stopped.
        created = await http.post("/pessoas", json=BODY)
        assert created.status_code == 201
        assert (await http.get("/contagem-pessoas")).text == "2"
        assert (await http.get(kept.headers["location"])).json() == kept.json()
    finally:
        await http.aclose()
        await manager.__aexit__(None, None, None)


@pytest.mark.parametrize("reason", ["full", "read-only"])
async def test_a_file_that_refuses_writes_gives_503_and_stores_nothing(tmp_path, reason):
    settings = _settings(tmp_path)
    path = settings.sqlite_path

    def refusing_connection() -> sqlite3.Connection:
        if reason == "read-only":
            return sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
        return conn

    # The group build_container would make, with the writer's connection replaced.
    group = SqliteEmbedded(settings=settings)
    group.writer_thread.override(providers.Singleton(SqliteWriter, connect=refusing_connection))
    manager, http = await _serve(Container(settings=settings, storage=group, cache=group, queue=group))
    try:
        bodies = [dict(BODY, apelido=f"a{i}", nome="n" * 100) for i in range(60)]
        answers = [await http.post("/pessoas", json=body) for body in bodies]
        created = [a for a in answers if a.status_code == 201]
        assert {a.status_code for a in answers} <= {201, 503}
        assert len(created) < len(answers)
        assert (await http.get("/contagem-pessoas")).text == str(len(created))
        for answer in created:
            assert (await http.get(answer.headers["location"])).status_code == 200
    finally:
        await http.aclose()
        await manager.__aexit__(None, None, None)
