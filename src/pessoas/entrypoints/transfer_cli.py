"""``pessoas export`` and ``pessoas import``: every pessoa as JSON lines, out of storage and into it.

Storage is the one ``pessoas serve`` would use under the same PESSOAS_* settings: the embedded
SQLite file by default, PostgreSQL with PESSOAS_DATABASE_URL. So moving data from the embedded
default to the stack is an export under one setting and an import under the other (and back).
Only storage is opened: the cache and the queue are left alone, and imported pessoas are made
searchable by the import itself.

Both stream: an export holds one page of pessoas at a time, an import one batch of lines. On a
terminal a progress bar shows on stderr; otherwise stderr gets only the report.

``pessoas import`` reports every skipped line by number and ends with a summary; its exit status
is 0 when every line was imported or already present, :data:`LINES_SKIPPED` when some line was
invalid or in conflict, and 1 when storage failed (run it again: what was stored counts as
already present).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pessoas.settings import Settings

#: The exit status of an import that skipped some line (invalid, or in conflict).
LINES_SKIPPED = 3
#: Pessoas a page of an export, lines a batch (one transaction) of an import.
BATCH = 1000
STDIO = "-"


def add_commands(commands: Any, epilog: str, formatter: type[argparse.HelpFormatter]) -> None:
    """Adds ``export`` and ``import`` to the ``pessoas`` command's subcommands."""
    export = commands.add_parser(
        "export",
        help="write every stored pessoa as JSON lines",
        description="Writes every stored pessoa, one JSON object a line (id, apelido, nome, nascimento,"
        " stack), in id order, from one snapshot of storage. A file is written whole or not at all.",
        epilog=epilog,
        formatter_class=formatter,
    )
    export.add_argument("output", nargs="?", default=STDIO, help="the file to write (default: stdout)")
    export.add_argument("--batch", type=_positive, default=BATCH, help=f"pessoas a page (default: {BATCH})")
    export.set_defaults(run=export_command)

    imports = commands.add_parser(
        "import",
        help="store the pessoas of a JSON lines file, keeping their ids",
        description="Stores each line's pessoa, checked as a creation is, with its id. Invalid lines"
        " and conflicts are reported by line number and skipped; a pessoa already stored unchanged"
        f" is left as it is. Exit status: 0 nothing skipped, {LINES_SKIPPED} some line skipped,"
        " 1 storage failed (run it again).",
        epilog=epilog,
        formatter_class=formatter,
    )
    imports.add_argument("input", nargs="?", default=STDIO, help="the file to read (default: stdin)")
    imports.add_argument(
        "--batch", type=_positive, default=BATCH, help=f"lines a transaction (default: {BATCH})"
    )
    imports.set_defaults(run=import_command)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def export_command(args: argparse.Namespace, settings: Settings) -> None:
    _refuse_memory(settings, "export")
    if settings.chosen_storage == "sqlite" and not Path(settings.sqlite_path).exists():
        sys.exit(f"pessoas export: there is no SQLite file at {settings.sqlite_path}")
    from pessoas.entrypoints.transfer_run import export

    written = export(settings, args.output, args.batch)
    where = "stdout" if args.output == STDIO else args.output
    print(f"pessoas export: {written} pessoas written to {where}", file=sys.stderr)


def import_command(args: argparse.Namespace, settings: Settings) -> None:
    _refuse_memory(settings, "import")
    from pessoas.entrypoints.transfer_run import import_lines

    summary = import_lines(settings, args.input, args.batch)
    if summary.skipped:
        sys.exit(LINES_SKIPPED)


def _refuse_memory(settings: Settings, command: str) -> None:
    if settings.chosen_storage == "memory":
        sys.exit(f"pessoas {command}: PESSOAS_STORAGE=memory keeps nothing beyond one process")
