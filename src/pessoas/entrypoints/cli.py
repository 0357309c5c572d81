"""The ``pessoas`` command: serve the API, run the worker, or set up the schema and queue."""

from __future__ import annotations

import argparse

from pessoas.settings import Settings


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = Settings()
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
    from pessoas.entrypoints.worker_command import run_worker

    run_worker(processes=args.processes, threads=args.threads)


def _migrate(args: argparse.Namespace) -> None:
    from pessoas.entrypoints.migrate import migrate

    migrate()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pessoas", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default=None, help="default: PESSOAS_HOST or 0.0.0.0")
    serve.add_argument("--port", type=int, default=None, help="default: PESSOAS_PORT or 9999")
    serve.add_argument("--uds", default=None, help="listen on this unix socket instead")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser(
        "worker",
        help="store queued pessoas in PostgreSQL",
        description="Runs `dramatiq pessoas.entrypoints.worker` with these options (dramatiq's own"
        " command takes the others). Refuses to start without PESSOAS_AMQP_URL and PESSOAS_DATABASE_URL.",
    )
    worker.add_argument("--processes", type=int, default=1, help="worker processes (default: 1)")
    worker.add_argument("--threads", type=int, default=1, help="worker threads per process (default: 1)")
    worker.set_defaults(run=_worker)

    migrate = commands.add_parser("migrate", help="create the schema and the queue (idempotent)")
    migrate.set_defaults(run=_migrate)

    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
