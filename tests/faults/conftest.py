"""Fixtures of the fault suite: the machine lock, the stack, and the system services left running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults import machine


@pytest.fixture(scope="module")
def machine_lock() -> Iterator[None]:
    """The machine is shared with benchmarks and other test runs: every stack run and fault happens
    under the exclusive machine lock, held for one module (so `make test` holds it only for the smoke).
    """
    with machine.machine_lock():
        yield


@pytest.fixture(scope="module")
def services_left_running(machine_lock: None) -> Iterator[None]:
    """Whatever happens, PostgreSQL, Redis and RabbitMQ run again when the module ends."""
    try:
        yield
    finally:
        machine.ensure_services()


@pytest.fixture(scope="module")
def stack(services_left_running: None) -> Iterator[None]:
    """A clean stack (down, reset, up) for the module, brought down at the end."""
    machine.ensure_services()
    try:
        machine.stack_up()
        yield
    finally:
        machine.stack_down()
