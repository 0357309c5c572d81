"""`pessoas serve` as an operator runs it: JSON log lines, a start-up line, metrics on their own port."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import orjson
import pytest

from tests.integration.conftest import REDIS_URL
from tests.integration.processes import PESSOAS
from tests.integration.rabbitmq_fixtures import AMQP_URL, queue_name
from tests.ports import free_port

pytestmark = pytest.mark.integration

__all__ = ["queue_name"]

# Ready once PostgreSQL answers: the start itself, with room for a slow machine.
START_SECONDS = 30.0


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "pessoas serve exited"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer 200 in {seconds}s")


def _metrics_once_announced(metrics_port: int, seconds: float = 5.0) -> str:
    """The exposition, once the creation's announcement (sent after its 201) is counted."""
    deadline = time.monotonic() + seconds
    while True:
        exposition = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        if "pessoas_announcement_size_count 1.0" in exposition or time.monotonic() > deadline:
            return exposition
        time.sleep(0.05)


def test_serve_logs_json_lines_and_serves_metrics_on_its_own_port(schema, redis_prefix, queue_name, pool):
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "PESSOAS_DATABASE_URL": schema,
        "PESSOAS_REDIS_URL": REDIS_URL,
        "PESSOAS_REDIS_PREFIX": redis_prefix,
        "PESSOAS_AMQP_URL": AMQP_URL,
        "PESSOAS_QUEUE_NAME": queue_name,
        "PESSOAS_DATABASE_POOL_MIN": "1",
        "PESSOAS_METRICS": "on",
        "PESSOAS_METRICS_PORT": str(metrics_port),
        "PESSOAS_ACCESS_LOG": "on",
        "PESSOAS_PUBLISH_WINDOW_MS": "1",
    }
    process = subprocess.Popen(
        [str(PESSOAS), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/ready", process, seconds=START_SECONDS)
        created = httpx.post(
            f"{base}/pessoas",
            json={"apelido": "logada", "nome": "Log", "nascimento": "2000-01-01"},
            headers={"X-Request-ID": "from-the-test"},
        )
        assert created.status_code == 201
        assert created.headers["x-request-id"] == "from-the-test"
        assert httpx.get(f"{base}/metrics").status_code == 404  # never through the public port
        exposition = _metrics_once_announced(metrics_port)
        assert 'http_requests_total{method="POST",route="/pessoas",status="201"} 1.0' in exposition
        assert 'pessoas_creations_total{outcome="committed",reason=""} 1.0' in exposition
        assert "pessoas_commit_batch_size_count 1.0" in exposition
        assert "pessoas_announcement_size_count 1.0" in exposition
        assert "pessoas_ready 1.0" in exposition
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)

    lines = [orjson.loads(line) for line in stderr.splitlines()]  # every line is one JSON object
    for line in lines:
        assert {"timestamp", "level", "logger", "message", "process"} <= line.keys(), line
    (start,) = [line for line in lines if line["message"].startswith("pessoas API starting")]
    assert start["address"] == f"http://127.0.0.1:{port}"
    assert start["adapters"] == {
        "storage": "postgresql",
        "cache": "redis, behind 20000 pessoas in process memory",
        "queue": "rabbitmq",
        "metrics": "prometheus",
    }
    assert start["version"]
    assert start["metrics_address"] == f"http://127.0.0.1:{metrics_port}/metrics"
    assert any(
        line["logger"] == "uvicorn.error" and "running on" in line["message"].lower() for line in lines
    )
    (access,) = [line for line in lines if line["logger"] == "pessoas.access" and line["path"] == "/pessoas"]
    assert access["request_id"] == "from-the-test"
    assert access["status"] == 201
