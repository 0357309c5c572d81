"""Where pessoas are kept for good: the durable record, its reads, and its search index."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Sequence
from typing import Protocol

from pessoas.domain.model import Pessoa


class PessoaWriter(Protocol):
    async def add_many(self, pessoas: Sequence[Pessoa]) -> set[uuid.UUID]:
        """Commits the pessoas durably, in one transaction, and returns the ids it stored.

        Storage decides apelidos: a pessoa whose apelido is already stored, or taken by an
        earlier pessoa of the same call, is not stored (its id is not returned); neither is a
        pessoa whose id is already stored. When this returns, every id it returned survives a
        crash of any process.

        Raises :class:`pessoas.domain.errors.StorageUnavailable` when nothing was stored, and
        :class:`pessoas.domain.errors.StorageUncertain` when the commit's outcome is unknown.
        """
        ...


class PessoaReader(Protocol):
    async def get(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        """The stored pessoa with this id: every committed pessoa, at once."""
        ...

    async def search(self, term: str, limit: int) -> list[Pessoa]:
        """At most ``limit`` searchable pessoas with ``term`` inside one field, case-insensitively.

        A pessoa becomes searchable once :class:`SearchIndex` has indexed it, which may trail
        its commit (storage that indexes as it commits finds it at once).
        """
        ...

    async def count(self) -> int:
        """How many pessoas are stored: every committed pessoa, at once."""
        ...

    async def check(self) -> None:
        """Returns when storage answers; raises StorageUnavailable when it does not (readiness)."""
        ...


class PessoaExport(Protocol):
    def pages(self, size: int) -> AsyncGenerator[list[Pessoa], None]:
        """Every stored pessoa, in ascending id order, in pages of at most ``size``, as of one moment.

        Memory stays bounded by one page whatever the number of pessoas: storage reads them as the
        caller asks for the next page. The pages are one consistent snapshot, taken when the first
        page is asked for: a pessoa committed meanwhile is either wholly in them or not at all.
        The caller closes the iterator (``aclose``) when it stops before the end.

        Raises :class:`pessoas.domain.errors.StorageUnavailable` when storage cannot be read.
        """
        ...


class SearchIndex(Protocol):
    """Makes stored pessoas searchable: the deferred half of a creation."""

    async def index(self, ids: Sequence[uuid.UUID]) -> int:
        """Makes these stored pessoas searchable (again is harmless); unknown ids are ignored.

        Returns how many were newly indexed.
        """
        ...

    async def index_missing(self) -> int:
        """Indexes the stored pessoas that are still not searchable, wherever their announcement went.

        The first call of an object looks at every stored pessoa. Each later call looks at the
        pessoas committed before the previous call began and not looked at yet: one interval of
        grace for their announcement, so that repeated calls stay cheap and leave the normal
        path its work. Returns how many were newly indexed.
        """
        ...
