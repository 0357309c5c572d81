"""The service's use cases, one class each, written against the ports only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pessoas.domain.errors import ApelidoTaken, InvalidSearchTerm, StorageUnavailable
from pessoas.domain.model import SEARCH_LIMIT, Pessoa, new_pessoa
from pessoas.ports.cache import PessoaCache
from pessoas.ports.queue import PersistenceQueue
from pessoas.ports.repository import PessoaReader, PessoaWriter


class CreatePessoa:
    """Validates a body, takes its apelido and hands the pessoa over for storage.

    When this returns, the pessoa is a promise: readable by id on every instance, its apelido
    taken everywhere, and its storage confirmed by the queue.
    """

    def __init__(self, cache: PessoaCache, queue: PersistenceQueue) -> None:
        self._cache = cache
        self._queue = queue

    async def __call__(self, body: object) -> Pessoa:
        pessoa = new_pessoa(body)
        if not await self._cache.reserve(pessoa):
            raise ApelidoTaken(f"apelido {pessoa.apelido!r} is already taken")
        try:
            await self._queue.put(pessoa)
        except StorageUnavailable:
            # The queue says for certain that nothing was handed over: free the apelido again.
            # Any other failure (StorageUncertain included) leaves the reservation in place,
            # since the pessoa may yet be stored, and a held apelido is safer than a doubled one.
            await self._cache.release(pessoa)
            raise
        return pessoa


class GetPessoa:
    """Reads a pessoa by id: the shared cache first (it knows every pessoa not yet stored), then storage."""

    def __init__(self, cache: PessoaCache, reader: PessoaReader) -> None:
        self._cache = cache
        self._reader = reader

    async def __call__(self, pessoa_id: uuid.UUID) -> Pessoa | None:
        try:
            pessoa = await self._cache.get(pessoa_id)
        except StorageUnavailable:
            pessoa = None  # the cache is down or restarting: storage still answers
        if pessoa is not None:
            return pessoa
        return await self._reader.get(pessoa_id)


class SearchPessoas:
    def __init__(self, reader: PessoaReader) -> None:
        self._reader = reader

    async def __call__(self, term: str | None) -> list[Pessoa]:
        if not term:
            raise InvalidSearchTerm("the query parameter t is required and must not be empty")
        return await self._reader.search(term, SEARCH_LIMIT)


class CountPessoas:
    def __init__(self, reader: PessoaReader) -> None:
        self._reader = reader

    async def __call__(self) -> int:
        return await self._reader.count()


class StorePessoas:
    """The worker's use case: stores a batch handed over by the queue, idempotently."""

    def __init__(self, writer: PessoaWriter) -> None:
        self._writer = writer

    async def __call__(self, pessoas: Sequence[Pessoa]) -> int:
        return await self._writer.add_many(pessoas)
