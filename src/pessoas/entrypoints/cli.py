"""The ``pessoas`` command: serve the API, run the worker, set up the schema and queue, or back up."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import TypeVar

from pessoas.container import build_container
from pessoas.domain.errors import StorageUnusable
from pessoas.settings import Settings

T = TypeVar("T")


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = Settings()
    if settings.chosen_storage == "sqlite":
        # Before any socket opens: a file that is not a pessoas database ends the start in one line.
        _or_exit(lambda: asyncio.run(_prepare_storage(settings)))
    uvicorn.run(
        "pessoas.entrypoints.http.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        uds=args.uds,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        backlog=4096,
        timeout_graceful_shutdown=10,
    )


def _worker(args: argparse.Namespace) -> None:
    from pessoas.entrypoints.worker import run_worker

    run_worker(processes=args.processes, threads=args.threads)


def _migrate(args: argparse.Namespace) -> None:
    from pessoas.entrypoints.migrate import migrate

    migrate()


async def _prepare_storage(settings: Settings) -> None:
    await build_container(settings).storage.prepare()


def _backup(args: argparse.Namespace) -> None:
    settings = Settings()
    if settings.chosen_storage != "sqlite":
        sys.exit("pessoas: backup copies the SQLite storage; this configuration uses another one")
    copied = _or_exit(lambda: build_container(settings).storage.backup(args.destination))
    print(f"pessoas: {copied} pessoas copied from {settings.sqlite_path} to {args.destination}")


def _or_exit(step: Callable[[], T]) -> T:
    try:
        return step()
    except (StorageUnusable, ValueError) as exc:
        sys.exit(f"pessoas: {exc}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pessoas", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default=None, help="default: PESSOAS_HOST or 0.0.0.0")
    serve.add_argument("--port", type=int, default=None, help="default: PESSOAS_PORT or 9999")
    serve.add_argument("--uds", default=None, help="listen on this unix socket instead")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="store queued pessoas in PostgreSQL")
    worker.add_argument("--processes", type=int, default=1)
    worker.add_argument("--threads", type=int, default=1)
    worker.set_defaults(run=_worker)

    migrate = commands.add_parser("migrate", help="create the schema and the queue (idempotent)")
    migrate.set_defaults(run=_migrate)

    backup = commands.add_parser("backup", help="copy the SQLite file while the service runs")
    backup.add_argument("destination", help="the file to write (overwritten)")
    backup.set_defaults(run=_backup)

    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
