"""The ``pessoas`` command: serve the API, run the worker, set up the schema and queue, back up,
or move pessoas in and out of storage as JSON lines."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from pessoas import __version__
from pessoas.domain.errors import StorageUnusable
from pessoas.entrypoints.startup import settings_or_exit
from pessoas.entrypoints.transfer_cli import add_commands as add_transfer_commands
from pessoas.settings import Settings, setting_names

T = TypeVar("T")


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from pessoas.container import describe_adapters
    from pessoas.entrypoints.logs import configure_logging
    from pessoas.entrypoints.metrics_server import serve_metrics

    settings = _with_metrics_port(settings, args)
    if settings.chosen_storage == "sqlite":
        # Before any socket opens: a file that is not a pessoas database ends the start in one line.
        _or_exit(lambda: asyncio.run(_prepare_storage(settings)))
    configure_logging(settings.log_level)
    host = args.host or settings.host
    port = args.port or settings.port
    address = f"unix:{args.uds}" if args.uds else f"http://{host}:{port}"
    logging.getLogger("pessoas").info(
        "pessoas API starting on %s",
        address,
        extra={
            "address": address,
            "version": __version__,
            "adapters": describe_adapters(settings),
            "metrics_address": serve_metrics(settings, "api"),
            "access_log": settings.access_log,
        },
    )
    uvicorn.run(
        "pessoas.entrypoints.http.app:create_app",
        factory=True,
        host=host,
        port=port,
        uds=args.uds,
        lifespan="on",
        access_log=False,  # the service's own access log (PESSOAS_ACCESS_LOG) carries the request id
        log_config=None,  # configure_logging above: uvicorn's lines are JSON too
        log_level=settings.log_level,
        timeout_graceful_shutdown=10,
        **server_limits(args, settings),
    )


def server_limits(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Stock uvicorn's public settings that bound what clients may do (docs/operations.md, "HTTP limits")."""
    return {
        "loop": "uvloop",
        "http": _http_parser(args, settings),
        # h11 keeps at most this much of an incomplete request head, then answers 400 and closes.
        "h11_max_incomplete_event_size": settings.max_head_bytes,
        "backlog": 4096,
        "timeout_keep_alive": settings.keepalive_timeout,
        "limit_concurrency": settings.max_connections or None,
    }


def _http_parser(args: argparse.Namespace, settings: Settings) -> str:
    chosen: str = args.http or settings.http_parser
    return chosen


def _worker(args: argparse.Namespace, settings: Settings) -> None:
    from pessoas.entrypoints.worker_command import run_worker

    run_worker(
        _with_metrics_port(settings, args),
        processes=args.processes,
        threads=args.threads,
    )


def _with_metrics_port(settings: Settings, args: argparse.Namespace) -> Settings:
    if args.metrics_port is None:
        return settings
    return settings.model_copy(update={"metrics_port": args.metrics_port})


def _migrate(args: argparse.Namespace, settings: Settings) -> None:
    from pessoas.entrypoints.migrate import migrate

    migrate()


async def _prepare_storage(settings: Settings) -> None:
    from pessoas.container import build_container

    await build_container(settings).storage.prepare()


def _backup(args: argparse.Namespace, settings: Settings) -> None:
    if settings.chosen_storage != "sqlite":
        sys.exit("pessoas: backup copies the SQLite storage; this configuration uses another one")
    from pessoas.container import build_container

    copied = _or_exit(lambda: build_container(settings).storage.backup(args.destination))
    print(f"pessoas: {copied} pessoas copied from {settings.sqlite_path} to {args.destination}")


def _or_exit(step: Callable[[], T]) -> T:
    try:
        return step()
    except (StorageUnusable, ValueError) as exc:
        sys.exit(f"pessoas: {exc}")


def _settings_help() -> str:
    lines = ["settings (environment variables, or lines of a .env file in the working directory):"]
    lines += [f"  {name:28} {meaning}" for name, meaning in setting_names().items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="pessoas", description=__doc__, epilog=_settings_help(), formatter_class=formatter
    )
    parser.add_argument("--version", action="version", version=f"pessoas {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="serve the HTTP API", epilog=_settings_help(), formatter_class=formatter
    )
    serve.add_argument("--host", default=None, help="default: PESSOAS_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: PESSOAS_PORT or 9999")
    serve.add_argument("--uds", default=None, help="listen on this unix socket instead")
    serve.add_argument(
        "--metrics-port", type=int, default=None, help="default: PESSOAS_METRICS_PORT or 9100 (0: not served)"
    )
    serve.add_argument(
        "--http",
        choices=("h11", "httptools"),
        default=None,
        help="the HTTP parser (default: PESSOAS_HTTP_PARSER, httptools; h11 also bounds a request head"
        " at PESSOAS_MAX_HEAD_BYTES while it arrives)",
    )
    serve.set_defaults(run=_serve)

    worker = commands.add_parser(
        "worker",
        help="store queued pessoas in PostgreSQL",
        description="Runs dramatiq's own command over pessoas.entrypoints.worker with these options,"
        " its log lines in JSON. Refuses to start without PESSOAS_AMQP_URL and PESSOAS_DATABASE_URL.",
        epilog=_settings_help(),
        formatter_class=formatter,
    )
    worker.add_argument("--processes", type=int, default=1, help="worker processes (default: 1)")
    worker.add_argument("--threads", type=int, default=1, help="worker threads per process (default: 1)")
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="default: PESSOAS_METRICS_PORT or 9100 (0: not served); one port serves every worker process",
    )
    worker.set_defaults(run=_worker)

    migrate = commands.add_parser(
        "migrate",
        help="create the schema and the queue (idempotent)",
        epilog=_settings_help(),
        formatter_class=formatter,
    )
    migrate.set_defaults(run=_migrate)

    backup = commands.add_parser(
        "backup",
        help="copy the SQLite file while the service runs",
        epilog=_settings_help(),
        formatter_class=formatter,
    )
    backup.add_argument("destination", help="the file to write (overwritten)")
    backup.set_defaults(run=_backup)

    add_transfer_commands(commands, _settings_help(), formatter)

    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace, Settings], None] = args.run
    run(args, settings_or_exit())


if __name__ == "__main__":
    main()
