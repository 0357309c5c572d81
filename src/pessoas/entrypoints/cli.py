"""The ``pessoas`` command: serve the API, run the worker, or set up the schema and queue."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib.metadata import version

from pessoas.entrypoints.startup import settings_or_exit
from pessoas.settings import Settings, setting_names


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

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


def _worker(args: argparse.Namespace, settings: Settings) -> None:
    from pessoas.entrypoints.worker_command import run_worker

    run_worker(settings, processes=args.processes, threads=args.threads)


def _migrate(args: argparse.Namespace, settings: Settings) -> None:
    from pessoas.entrypoints.migrate import migrate

    migrate()


def _settings_help() -> str:
    lines = ["settings (environment variables, or lines of a .env file in the working directory):"]
    lines += [f"  {name:28} {meaning}" for name, meaning in setting_names().items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="pessoas", description=__doc__, epilog=_settings_help(), formatter_class=formatter
    )
    parser.add_argument("--version", action="version", version=f"pessoas {version('pessoas')}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="serve the HTTP API", epilog=_settings_help(), formatter_class=formatter
    )
    serve.add_argument("--host", default=None, help="default: PESSOAS_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: PESSOAS_PORT or 9999")
    serve.add_argument("--uds", default=None, help="listen on this unix socket instead")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser(
        "worker",
        help="store queued pessoas in PostgreSQL",
        description="Runs `dramatiq pessoas.entrypoints.worker` with these options (dramatiq's own"
        " command takes the others). Refuses to start without PESSOAS_AMQP_URL and PESSOAS_DATABASE_URL.",
        epilog=_settings_help(),
        formatter_class=formatter,
    )
    worker.add_argument("--processes", type=int, default=1, help="worker processes (default: 1)")
    worker.add_argument("--threads", type=int, default=1, help="worker threads per process (default: 1)")
    worker.set_defaults(run=_worker)

    migrate = commands.add_parser(
        "migrate",
        help="create the schema and the queue (idempotent)",
        epilog=_settings_help(),
        formatter_class=formatter,
    )
    migrate.set_defaults(run=_migrate)

    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace, Settings], None] = args.run
    run(args, settings_or_exit())


if __name__ == "__main__":
    main()
