"""``pessoas worker``: refuses settings that could lose pessoas, then becomes dramatiq's own command.

Kept light (the settings only, not the container): the process that checks is the process that
execs dramatiq, so whatever it imported is start-up time and CPU spent again at every restart.
"""

from __future__ import annotations

import os
import sys

from pessoas.entrypoints.startup import refuse
from pessoas.settings import Settings

#: How long a stopping worker waits for the messages in hand: a batch in progress commits and is
#: acked; the message of a batch cut short is not acked, so RabbitMQ redelivers it.
STOP_TIMEOUT_MS = 30_000


def refusal(settings: Settings) -> str | None:
    """Why a worker with these settings must not start, or None.

    A queue without a database is already refused by the settings themselves (a worker would
    store the pessoas in its own memory and acknowledge them); what is left is a worker with no
    queue to consume.
    """
    if not settings.amqp_url:
        return "pessoas worker needs PESSOAS_AMQP_URL (and PESSOAS_DATABASE_URL): it has no queue to consume"
    return None


def refuse_unsafe(settings: Settings) -> None:
    """Exits, non-zero and with the one-line reason, when :func:`refusal` finds one."""
    reason = refusal(settings)
    if reason is not None:
        refuse(reason)


def dramatiq_command(processes: int, threads: int) -> list[str]:
    """dramatiq's own command running this service's worker, as ``pessoas worker`` runs it."""
    return [
        sys.executable,
        "-m",
        "dramatiq",
        "pessoas.entrypoints.worker",
        "--processes",
        str(max(processes, 1)),
        "--threads",
        str(max(threads, 1)),
        "--worker-shutdown-timeout",
        str(STOP_TIMEOUT_MS),
    ]


def run_worker(settings: Settings, processes: int, threads: int) -> None:
    """Checks the settings, then replaces this process with dramatiq's command (same process id).

    Checking here too, not only in the worker processes, gives the one-line reason and the exit
    status before dramatiq starts any process. A metrics port given on the command line reaches
    the worker processes through their environment.
    """
    refuse_unsafe(settings)
    command = dramatiq_command(processes, threads)
    environment = {**os.environ, "PESSOAS_METRICS_PORT": str(settings.metrics_port)}
    os.execve(command[0], command, environment)  # noqa: S606 - our own interpreter, fixed arguments
