"""The service's own commands as processes on the test services: `pessoas worker` and `pessoas serve`.

Each process logs to a file (a pipe nobody reads would fill and stall it) and is killed at the end
of its context if it is still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.integration.conftest import wait_for
from tests.integration.rabbitmq_fixtures import AMQP_URL
from tests.ports import free_port

PESSOAS = Path(sys.executable).with_name("pessoas")


def service_env(schema: str, queue_name: str, **settings: str) -> dict[str, str]:
    """The environment of a process of the service: this test's database and queue, and ``settings``.

    ``settings`` are named without their prefix (``reconcile_interval="0.2"``). Other ``PESSOAS_``
    variables of the test's own environment are left out.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESSOAS_")}
    env |= {
        "PESSOAS_DATABASE_URL": schema,
        "PESSOAS_AMQP_URL": AMQP_URL,
        "PESSOAS_QUEUE_NAME": queue_name,
        "PESSOAS_DATABASE_POOL_MIN": "1",
        "PESSOAS_METRICS_PORT": "0",  # collected, not served: no port to collide on
    }
    env |= {f"PESSOAS_{key.upper()}": value for key, value in settings.items()}
    return env


class ServiceProcess:
    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text()

    async def stop(self) -> int:
        """SIGTERM, then the exit status (a graceful stop is 0)."""
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 30)


class WorkerProcess(ServiceProcess):
    async def until_ready(self, timeout: float = 30.0) -> None:
        async def ready() -> bool:
            assert self.process.returncode is None, self.output()
            return "Worker process is ready" in self.output()

        await wait_for(ready, timeout, "the worker process started")


class ApiProcess(ServiceProcess):
    def __init__(self, process: asyncio.subprocess.Process, log: Path, port: int) -> None:
        super().__init__(process, log)
        self.base_url = f"http://127.0.0.1:{port}"

    async def until_ready(self, timeout: float = 30.0) -> None:
        async def ready() -> bool:
            assert self.process.returncode is None, self.output()
            with contextlib.suppress(httpx.TransportError):
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{self.base_url}/ready", timeout=1)).status_code == 200
            return False

        await wait_for(ready, timeout, "pessoas serve ready", interval=0.1)


@contextlib.asynccontextmanager
async def _running(
    arguments: list[str], env: dict[str, str], log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            str(PESSOAS), *arguments, env=env, stdout=out, stderr=out
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def running_worker(
    env: dict[str, str], log: Path, threads: int = 2, processes: int = 1
) -> AsyncIterator[WorkerProcess]:
    arguments = ["worker", "--threads", str(threads), "--processes", str(processes)]
    async with _running(arguments, env, log) as process:
        yield WorkerProcess(process, log)


@contextlib.asynccontextmanager
async def running_api(env: dict[str, str], log: Path) -> AsyncIterator[ApiProcess]:
    port = free_port()
    async with _running(["serve", "--host", "127.0.0.1", "--port", str(port)], env, log) as process:
        yield ApiProcess(process, log, port)
