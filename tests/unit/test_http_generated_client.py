"""A client generated from /openapi.json by openapi-python-client works against the served app."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from pessoas.container import build_container
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings

NEW = {"apelido": "cliente", "nome": "Cliente Gerado", "nascimento": "1999-12-31", "stack": ["Python"]}


@pytest.fixture
def served():
    """The app on a free local port, by stock uvicorn, in a thread."""
    container = build_container(Settings(storage="memory", database_url=None, redis_url=None, amqp_url=None))
    app = create_app(container)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield app, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_a_generated_client_creates_reads_searches_and_counts(served, tmp_path, monkeypatch):
    app, base_url = served
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(app.openapi()))
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    generate = [bin_dir / "openapi-python-client", "generate", "--path", spec, "--meta", "none"]
    generate += ["--output-path", tmp_path / "pessoas_client"]
    subprocess.run(generate, check=True, capture_output=True, env=env, timeout=120)
    monkeypatch.syspath_prepend(str(tmp_path))

    from pessoas_client import Client
    from pessoas_client.api.default import count_pessoas, create_pessoa, get_pessoa, search_pessoas
    from pessoas_client.models import NewPessoa, Pessoa

    client = Client(base_url=base_url)
    created = create_pessoa.sync_detailed(client=client, body=NewPessoa.from_dict(NEW))
    assert created.status_code == 201
    assert isinstance(created.parsed, Pessoa)
    assert created.headers["location"] == f"/pessoas/{created.parsed.id}"

    read = get_pessoa.sync(pessoa_id=created.parsed.id, client=client)
    assert isinstance(read, Pessoa)
    assert read.to_dict() == created.parsed.to_dict()
    assert {k: read.to_dict()[k] for k in NEW} == NEW

    found = search_pessoas.sync(client=client, t="gerado")
    assert [p.id for p in found] == [created.parsed.id]

    assert count_pessoas.sync(client=client) == "1"
    taken = create_pessoa.sync_detailed(client=client, body=NewPessoa.from_dict(NEW))
    assert taken.status_code == 422
    assert taken.parsed.detail == "apelido 'cliente' is already taken"
