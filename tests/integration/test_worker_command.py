"""``pessoas worker``, that is dramatiq's own command over pessoas.entrypoints.worker, as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from pessoas.adapters.rabbitmq_queue import RabbitmqPersistenceQueue
from tests.integration.rabbitmq_fixtures import AMQP_URL, amqp_channel, make_pessoa, queue_depth, queue_name

pytestmark = pytest.mark.integration

__all__ = ["amqp_channel", "queue_name"]  # fixtures, re-exported for pytest

PESSOAS = Path(sys.executable).with_name("pessoas")


async def stored_count(pool) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) FROM pessoas")
        row = await cursor.fetchone()
    return int(row[0])


async def test_the_command_stores_the_queued_pessoas_and_stops_gracefully_on_sigterm(
    schema, pool, queue_name, amqp_channel, tmp_path
):
    queue = RabbitmqPersistenceQueue(AMQP_URL, queue_name, window_ms=1, batch_max=8)
    await queue.open()
    pessoas = [make_pessoa(n) for n in range(40)]
    try:
        await asyncio.gather(*(queue.put(p) for p in pessoas))
    finally:
        await queue.close()

    env = {k: v for k, v in os.environ.items() if not k.startswith("PESSOAS_")}
    env |= {
        "PESSOAS_DATABASE_URL": schema,
        "PESSOAS_AMQP_URL": AMQP_URL,
        "PESSOAS_QUEUE_NAME": queue_name,
        "PESSOAS_DATABASE_POOL_MIN": "1",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = await asyncio.create_subprocess_exec(
            str(PESSOAS), "worker", "--threads", "2", env=env, stdout=out, stderr=out
        )
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while await stored_count(pool) < len(pessoas):
            assert worker.returncode is None, log.read_text()
            assert asyncio.get_running_loop().time() < deadline, log.read_text()
            await asyncio.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(worker.wait(), 30)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    output = log.read_text()
    assert code == 0, output
    assert "Worker process is ready" in output  # dramatiq's command ran it
    assert await stored_count(pool) == len(pessoas)
    assert await queue_depth(amqp_channel, queue_name) == 0


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_a_worker_process_left_without_its_main_process_stops(schema, queue_name, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESSOAS_")}
    env |= {
        "PESSOAS_DATABASE_URL": schema,
        "PESSOAS_AMQP_URL": AMQP_URL,
        "PESSOAS_QUEUE_NAME": queue_name,
        "PESSOAS_DATABASE_POOL_MIN": "1",
    }
    log = tmp_path / "worker.log"
    child: int | None = None
    with log.open("wb") as out:
        main = await asyncio.create_subprocess_exec(str(PESSOAS), "worker", env=env, stdout=out, stderr=out)
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while "Worker process is ready" not in log.read_text():
            assert main.returncode is None, log.read_text()
            assert asyncio.get_running_loop().time() < deadline, log.read_text()
            await asyncio.sleep(0.1)
        children = Path(f"/proc/{main.pid}/task/{main.pid}/children").read_text().split()
        assert len(children) == 1
        child = int(children[0])
        main.kill()  # SIGKILL: the main process cannot stop its worker process
        await main.wait()
        deadline = asyncio.get_running_loop().time() + 15
        while _running(child):
            assert asyncio.get_running_loop().time() < deadline, "the orphaned worker process still runs"
            await asyncio.sleep(0.1)
    finally:
        if main.returncode is None:
            main.kill()
            await main.wait()
        if child is not None and _running(child):
            os.kill(child, signal.SIGKILL)
