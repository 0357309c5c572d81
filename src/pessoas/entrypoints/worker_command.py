"""``pessoas worker``: refuses settings that could lose pessoas, then runs dramatiq's own command.

The command is dramatiq's (``dramatiq.cli.main``), run in this very process: its main process,
which starts the worker processes and forwards signals to them, is the process a supervisor
started. Two things are prepared first, because dramatiq's command cannot do them itself:

- JSON log lines. dramatiq's command would configure plain-text logging in each of its processes;
  it is told not to (``--skip-logging``), and the JSON handler is set here instead, before it
  starts any process, so its main process and the processes it forks log as JSON too. Each
  worker process sets it again when it imports :mod:`pessoas.entrypoints.worker`.
- The metrics' shared directory. With metrics served, the worker processes write their metrics
  to prometheus_client's multiprocess directory, read by the one exposition process the command
  starts (:mod:`pessoas.entrypoints.worker_metrics`). prometheus_client reads the directory when
  it is first imported, so it comes from the environment the command starts with; it is emptied
  at each start, since files left by a previous run's processes would be counted as live.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from pessoas.entrypoints.startup import refuse
from pessoas.settings import Settings

#: How long a stopping worker waits for the messages in hand: a batch in progress commits and is
#: acked; the message of a batch cut short is not acked, so RabbitMQ redelivers it.
STOP_TIMEOUT_MS = 30_000

#: The module dramatiq's command imports in each worker process.
WORKER_MODULE = "pessoas.entrypoints.worker"


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


def dramatiq_arguments(processes: int, threads: int) -> list[str]:
    """The arguments of dramatiq's command that run this service's worker."""
    return [
        WORKER_MODULE,
        "--processes",
        str(max(processes, 1)),
        "--threads",
        str(max(threads, 1)),
        "--worker-shutdown-timeout",
        str(STOP_TIMEOUT_MS),
        "--skip-logging",  # the JSON handler is already in place (see the module's docstring)
    ]


def dramatiq_command(processes: int, threads: int) -> list[str]:
    """dramatiq's command as a separate program (its main process then logs plain text)."""
    return [sys.executable, "-m", "dramatiq", *dramatiq_arguments(processes, threads)]


def serves_metrics(settings: Settings) -> bool:
    return settings.metrics and bool(settings.metrics_port)


def metrics_address(settings: Settings) -> str | None:
    """Where the command's exposition process serves every worker process's metrics, if it does."""
    if not serves_metrics(settings):
        return None
    return f"http://{settings.metrics_host}:{settings.metrics_port}/metrics"


def metrics_environment(settings: Settings) -> dict[str, str]:
    """The environment that makes the command's processes share their metrics, served on one port.

    ``dramatiq_prom_*`` are the variables of Dramatiq's Prometheus middleware,
    ``PROMETHEUS_MULTIPROC_DIR`` prometheus_client's; one directory per metrics port, so two
    commands on one machine never share one.
    """
    if not serves_metrics(settings):
        return {}
    directory = Path(tempfile.gettempdir()) / f"pessoas-worker-metrics-{settings.metrics_port}"
    return {
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "dramatiq_prom_db": str(directory),
        "dramatiq_prom_host": settings.metrics_host,
        "dramatiq_prom_port": str(settings.metrics_port),
    }


def empty_metrics_directory(environment: dict[str, str]) -> None:
    if "PROMETHEUS_MULTIPROC_DIR" not in environment:
        return
    directory = Path(environment["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for left in directory.glob("*.db"):
        left.unlink(missing_ok=True)


def run_worker(settings: Settings, processes: int, threads: int) -> None:
    """Checks the settings, prepares logging and metrics, then runs dramatiq's command; exits with it.

    Checking here too, not only in the worker processes, gives the one-line reason and the exit
    status before dramatiq starts any process. A metrics port given on the command line reaches
    the worker processes through their environment.
    """
    refuse_unsafe(settings)
    environment = metrics_environment(settings)
    empty_metrics_directory(environment)
    os.environ.update(environment)
    os.environ["PESSOAS_METRICS_PORT"] = str(settings.metrics_port)

    from dramatiq import cli

    from pessoas.entrypoints.logs import configure_logging

    configure_logging(settings.log_level)
    parser = cli.make_argument_parser()  # type: ignore[no-untyped-call]  # dramatiq's cli is untyped
    sys.exit(cli.main(parser.parse_args(dramatiq_arguments(processes, threads))))  # type: ignore[no-untyped-call]
