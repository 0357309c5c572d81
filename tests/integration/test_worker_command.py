"""``pessoas worker``, that is dramatiq's own command over pessoas.entrypoints.worker, as a process.

The worker makes committed pessoas searchable: those the API announces, through their messages,
and those whose announcement never came, through its reconciler. Each test runs it on the test
database and a queue of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import httpx
import orjson
import pytest

from pessoas.adapters.postgres_store import PostgresPessoaStore
from pessoas.adapters.rabbitmq_message import QueueNames
from pessoas.adapters.rabbitmq_queue import RabbitmqIndexQueue
from pessoas.adapters.rabbitmq_topology import declare_queues
from pessoas.domain.model import Pessoa
from tests.integration.conftest import wait_for
from tests.integration.processes import WorkerProcess, running_worker, service_env
from tests.integration.rabbitmq_fixtures import (
    AMQP_URL,
    amqp_channel,
    make_pessoa,
    message_for_the_index_actor,
    publish_raw,
    queue_depth,
    queue_name,
    wait_for_depth,
)
from tests.ports import free_port

pytestmark = pytest.mark.integration

__all__ = ["amqp_channel", "queue_name"]  # fixtures, re-exported for pytest

# A reconciler that, after its pass at boot, never runs again within a test: only messages index.
NO_RECONCILER = "3600"


async def searchable(store: PostgresPessoaStore, pessoas: list[Pessoa]) -> bool:
    for pessoa in pessoas:
        if await store.search(pessoa.apelido, 2) != [pessoa]:
            return False
    return True


async def _boot_pass_done(worker: WorkerProcess, store: PostgresPessoaStore) -> None:
    """Waits until the worker's reconciler made its pass at boot, seen on a pessoa only it can index.

    The pessoa was committed before the worker started and never announced.
    """
    canary = make_pessoa(0)
    await store.add_many([canary])
    await worker.until_ready()
    await wait_for(lambda: searchable(store, [canary]), 10, "the reconciler's pass at boot")


async def test_announced_pessoas_become_searchable_and_sigterm_stops_gracefully(
    schema, pool, queue_name, amqp_channel, tmp_path
):
    store = PostgresPessoaStore(pool)
    env = service_env(schema, queue_name, reconcile_interval=NO_RECONCILER)
    async with running_worker(env, tmp_path / "worker.log") as worker:
        await _boot_pass_done(worker, store)
        pessoas = [make_pessoa(n) for n in range(1, 41)]
        queue = RabbitmqIndexQueue(AMQP_URL, queue_name, window_ms=1, batch_max=8)
        await queue.open()
        try:
            assert await store.add_many(pessoas) == {p.id for p in pessoas}
            assert await store.search(pessoas[0].apelido, 2) == []
            await asyncio.gather(*(queue.announce([p.id]) for p in pessoas))
        finally:
            await queue.close()
        # Only the messages can index them now: within a couple of seconds.
        await wait_for(lambda: searchable(store, pessoas), 3, "the announced pessoas searchable")
        code = await worker.stop()
        output = worker.output()
    assert code == 0, output
    assert "Worker process is ready" in output  # dramatiq's command ran it
    # Every line is a JSON object: dramatiq's own lines (its main process's included) as ours.
    lines = [orjson.loads(line) for line in output.splitlines()]
    loggers = {line["logger"] for line in lines}
    assert {"dramatiq.MainProcess", "dramatiq.WorkerProcess(0)", "pessoas.entrypoints.worker"} <= loggers
    assert await queue_depth(amqp_channel, queue_name) == 0


async def test_a_poison_message_is_dead_lettered_without_blocking_the_next(
    schema, pool, queue_name, amqp_channel, tmp_path
):
    store = PostgresPessoaStore(pool)
    names = QueueNames.of(queue_name)
    await declare_queues(amqp_channel, queue_name)
    env = service_env(schema, queue_name, reconcile_interval=NO_RECONCILER)
    async with running_worker(env, tmp_path / "worker.log", threads=1) as worker:
        await _boot_pass_done(worker, store)
        valid = make_pessoa(1)
        await store.add_many([valid])
        # For the index actor, but its argument is not a list of ids: it can never succeed.
        poison = message_for_the_index_actor(queue_name, {"ids": [str(valid.id)]})
        await publish_raw(amqp_channel, queue_name, poison)
        await publish_raw(amqp_channel, queue_name, message_for_the_index_actor(queue_name, [str(valid.id)]))

        await wait_for(lambda: searchable(store, [valid]), 3, "the valid message's pessoa searchable")
        await wait_for_depth(amqp_channel, names.dead_letter, 1, timeout=5)
        assert await queue_depth(amqp_channel, names.delay) == 0  # not retried: dead at once
        assert await worker.stop() == 0, worker.output()
    dead = await amqp_channel.basic_get(names.dead_letter, no_ack=True)
    assert dead.body == poison
    assert await queue_depth(amqp_channel, queue_name) == 0


async def test_a_pessoa_never_announced_is_found_by_the_reconciler(schema, pool, queue_name, tmp_path):
    store = PostgresPessoaStore(pool)
    env = service_env(schema, queue_name, reconcile_interval="0.2")
    async with running_worker(env, tmp_path / "worker.log") as worker:
        await _boot_pass_done(worker, store)
        # Committed while the worker runs, and no message will ever name them (RabbitMQ lost it).
        unannounced = [make_pessoa(n) for n in range(1, 6)]
        await store.add_many(unannounced[:3])
        await store.add_many(unannounced[3:])
        await wait_for(lambda: searchable(store, unannounced), 3, "the reconciler indexed them")
        assert await worker.stop() == 0, worker.output()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def _metrics(port: int) -> str:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{port}/metrics", timeout=2)).text


async def test_every_process_of_a_command_left_without_its_main_process_stops(schema, queue_name, tmp_path):
    # Two worker processes and the metrics' exposition process: none may outlive a killed main
    # process, or go on consuming (or hold the port) beside the command a supervisor restarts.
    port = free_port()
    env = service_env(schema, queue_name, metrics_port=str(port))
    children: list[int] = []
    async with running_worker(env, tmp_path / "worker.log", processes=2) as worker:
        try:
            await worker.until_ready()

            async def all_started() -> bool:
                return len(_children(worker.process.pid)) == 3

            await wait_for(all_started, 15, "two worker processes and the exposition process")
            children = _children(worker.process.pid)
            worker.process.kill()  # SIGKILL: the main process cannot stop its children
            await worker.process.wait()

            async def stopped() -> bool:
                return not any(_running(child) for child in children)

            await wait_for(stopped, 15, "the orphaned processes stopping")
        finally:
            for child in children:
                if _running(child):
                    os.kill(child, signal.SIGKILL)
    # The next command serves its metrics on the same port.
    async with running_worker(env, tmp_path / "again.log") as worker:
        await worker.until_ready()

        async def served() -> bool:
            with contextlib.suppress(httpx.TransportError):
                return "pessoas_worker_last_message_age_seconds" in await _metrics(port)
            return False

        await wait_for(served, 15, "the next command's metrics served")
        assert await worker.stop() == 0, worker.output()


async def test_one_port_serves_the_metrics_of_every_worker_process(
    schema, pool, queue_name, amqp_channel, tmp_path
):
    store = PostgresPessoaStore(pool)
    # The queues exist before anything is published, as `pessoas migrate` leaves them in service: a
    # worker declares them only when its consumer starts, which may come after its process logs
    # that it is ready, and a message published to a queue not yet declared is dropped.
    await declare_queues(amqp_channel, queue_name)
    port = free_port()
    env = service_env(schema, queue_name, reconcile_interval=NO_RECONCILER, metrics_port=str(port))
    async with running_worker(env, tmp_path / "worker.log", processes=2) as worker:
        await _boot_pass_done(worker, store)
        pessoas = [make_pessoa(n) for n in range(1, 21)]
        await store.add_many(pessoas)
        for pessoa in pessoas:
            message = message_for_the_index_actor(queue_name, [str(pessoa.id)])
            await publish_raw(amqp_channel, queue_name, message)
        await wait_for(lambda: searchable(store, pessoas), 10, "the published pessoas searchable")

        async def counted() -> bool:
            with contextlib.suppress(httpx.TransportError):  # the exposition process may start late
                text = await _metrics(port)
                return 'pessoas_worker_messages_total{outcome="indexed"} 20.0' in text
            return False

        await wait_for(counted, 10, "the messages of both processes counted on one port")
        text = await _metrics(port)
        assert 'pessoas_indexed_total{path="announced"} 20.0' in text
        assert "dramatiq_messages_total{" in text  # Dramatiq's own middleware
        assert "process_cpu_seconds_total" in text
        assert await worker.stop() == 0, worker.output()
