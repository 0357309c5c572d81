"""``pessoas worker``, that is dramatiq's own command over pessoas.entrypoints.worker, as a process.

The worker makes committed pessoas searchable: those the API announces, through their messages,
and those whose announcement never came, through its reconciler. Each test runs it on the test
database and a queue of its own.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

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


async def test_a_worker_process_left_without_its_main_process_stops(schema, queue_name, tmp_path):
    log = tmp_path / "worker.log"
    child: int | None = None
    async with running_worker(service_env(schema, queue_name), log) as worker:
        try:
            await worker.until_ready()
            main = worker.process
            children = Path(f"/proc/{main.pid}/task/{main.pid}/children").read_text().split()
            assert len(children) == 1
            child = int(children[0])
            main.kill()  # SIGKILL: the main process cannot stop its worker process
            await main.wait()

            async def stopped() -> bool:
                return not _running(child)

            await wait_for(stopped, 15, "the orphaned worker process stopping")
        finally:
            if child is not None and _running(child):
                os.kill(child, signal.SIGKILL)
