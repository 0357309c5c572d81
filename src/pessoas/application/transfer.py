"""Moving pessoas between storages as JSON lines: one pessoa a line, in the API's JSON shape.

Export reads every stored pessoa a page at a time, in id order, and turns each into its line.
Import reads lines, checks each with the domain's own rules (those of a creation) and keeps its
id, then stores the valid ones in batches through the writer and makes them searchable.

A line is stored whole or not at all. One that cannot be a pessoa (not JSON, a rule broken, no
valid id) is skipped as *invalid*; one that storage refuses (its apelido or its id held by
another pessoa) is skipped as a *conflict*; both are reported with their line number. A line
whose pessoa is already stored exactly as it says (an import run again) is *already present*:
nothing is skipped, so an import stopped halfway can simply be run again.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import orjson

from pessoas.domain.errors import PessoaError
from pessoas.domain.model import Pessoa, new_pessoa
from pessoas.ports.repository import PessoaExport, PessoaReader, PessoaWriter, SearchIndex


def pessoa_line(pessoa: Pessoa) -> bytes:
    """The pessoa as the API shows it, on one line of JSON ending with a newline."""
    return orjson.dumps(_as_json(pessoa)) + b"\n"


def _as_json(pessoa: Pessoa) -> dict[str, Any]:
    return {
        "id": str(pessoa.id),
        "apelido": pessoa.apelido,
        "nome": pessoa.nome,
        "nascimento": pessoa.nascimento.isoformat(),
        "stack": list(pessoa.stack) if pessoa.stack is not None else None,
    }


class InvalidLine(Exception):
    """A line that cannot be read as a pessoa; the message says why."""


def pessoa_from_line(line: bytes) -> Pessoa:
    """Reads one line as a pessoa, by the rules of a creation, keeping the line's id."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InvalidLine(f"not JSON (at column {exc.colno})") from None
    try:
        pessoa = new_pessoa(record)
    except PessoaError as exc:
        raise InvalidLine(str(exc)) from None
    # new_pessoa has checked that the record is an object.
    text = record.get("id")
    if text is None:
        raise InvalidLine("id is required")
    if not isinstance(text, str):
        raise InvalidLine("id must be a string")
    try:
        pessoa_id = uuid.UUID(text)
    except ValueError:
        raise InvalidLine("id must be a UUID") from None
    return dataclasses.replace(pessoa, id=pessoa_id)


class Skip(enum.Enum):
    INVALID = "invalid"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class SkippedLine:
    number: int
    why: Skip
    reason: str


@dataclass(frozen=True, slots=True)
class ImportedBatch:
    """What became of one batch of lines."""

    read: int
    imported: int
    already_present: int
    skipped: list[SkippedLine]


@dataclass(slots=True)
class ImportSummary:
    """The counts of a whole import, batch after batch."""

    read: int = 0
    imported: int = 0
    already_present: int = 0
    invalid: int = 0
    conflicts: int = 0

    def add(self, batch: ImportedBatch) -> None:
        self.read += batch.read
        self.imported += batch.imported
        self.already_present += batch.already_present
        self.invalid += sum(1 for line in batch.skipped if line.why is Skip.INVALID)
        self.conflicts += sum(1 for line in batch.skipped if line.why is Skip.CONFLICT)

    @property
    def skipped(self) -> int:
        return self.invalid + self.conflicts


class ExportPessoas:
    """Every stored pessoa as its line, a page of lines at a time, from one snapshot of storage."""

    def __init__(self, source: PessoaExport, page_size: int) -> None:
        self._source = source
        self._page_size = page_size

    async def __call__(self) -> AsyncGenerator[list[bytes], None]:
        async with aclosing(self._source.pages(self._page_size)) as pages:
            async for page in pages:
                yield [pessoa_line(pessoa) for pessoa in page]


class ImportPessoas:
    """Stores one batch of numbered lines: each valid line's pessoa, with its id, then indexed.

    ``reader`` must see every commit of ``writer`` at once (the primary, not a standby): it tells
    a conflict from a pessoa already present.
    """

    def __init__(self, writer: PessoaWriter, reader: PessoaReader, index: SearchIndex) -> None:
        self._writer = writer
        self._reader = reader
        self._index = index

    async def __call__(self, lines: Sequence[tuple[int, bytes]]) -> ImportedBatch:
        skipped: list[SkippedLine] = []
        batch: dict[uuid.UUID, tuple[int, Pessoa]] = {}
        # A second line with an id of this batch waits for the first to be stored, then is
        # judged against what storage holds, as a line of a later batch would be.
        held_back: list[tuple[int, Pessoa]] = []
        for number, line in lines:
            try:
                pessoa = pessoa_from_line(line)
            except InvalidLine as exc:
                skipped.append(SkippedLine(number, Skip.INVALID, str(exc)))
                continue
            if pessoa.id in batch:
                held_back.append((number, pessoa))
            else:
                batch[pessoa.id] = (number, pessoa)
        stored = await self._writer.add_many([pessoa for _, pessoa in batch.values()])
        if stored:
            await self._index.index(sorted(stored))
        already_present = 0
        not_stored = [entry for pessoa_id, entry in batch.items() if pessoa_id not in stored]
        for number, pessoa in sorted([*not_stored, *held_back], key=lambda entry: entry[0]):
            conflict = await self._conflict(pessoa)
            if conflict is None:
                already_present += 1
            else:
                skipped.append(SkippedLine(number, Skip.CONFLICT, conflict))
        skipped.sort(key=lambda line: line.number)
        return ImportedBatch(len(lines), len(stored), already_present, skipped)

    async def _conflict(self, pessoa: Pessoa) -> str | None:
        """Why storage did not take this pessoa, or None when it holds it already, unchanged."""
        holder = await self._reader.get(pessoa.id)
        if holder is None:
            return f"apelido {pessoa.apelido!r} is held by another pessoa"
        if holder != pessoa:
            return f"id {pessoa.id} is held by another pessoa (apelido {holder.apelido!r})"
        return None
