"""The composition root: the one place that picks and constructs adapters, from settings.

Storage, cache and queue are chosen independently: each backing service whose URL is set is
used, and each left unset falls back to its in-memory twin. Every adapter group is a small
container of its own, so only the chosen groups' resources (pools, connections) are opened.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from pessoas.application.use_cases import (
    CountPessoas,
    CreatePessoa,
    GetPessoa,
    RestoreReservations,
    SearchPessoas,
    StorePessoas,
)
from pessoas.container.memory import DirectQueue, MemoryCache, MemoryStorage
from pessoas.settings import Settings


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    storage = providers.DependenciesContainer()
    cache = providers.DependenciesContainer()
    queue = providers.DependenciesContainer()

    # Use cases hold no per-request state, so one of each serves every request.
    restore_reservations = providers.Singleton(
        RestoreReservations, cache=cache.cache, reader=storage.reader, queue=queue.queue
    )
    create_pessoa = providers.Singleton(
        CreatePessoa, cache=cache.cache, queue=queue.queue, restore=restore_reservations
    )
    get_pessoa = providers.Singleton(GetPessoa, cache=cache.cache, reader=storage.reader)
    search_pessoas = providers.Singleton(SearchPessoas, reader=storage.reader)
    count_pessoas = providers.Singleton(CountPessoas, reader=storage.reader)
    store_pessoas = providers.Singleton(StorePessoas, writer=storage.writer)


def _storage(settings: Settings) -> containers.Container:
    if settings.database_url:
        from pessoas.container.postgres import PostgresStorage

        chosen: containers.Container = PostgresStorage(settings=settings)
        return chosen
    return MemoryStorage()


def _cache(settings: Settings) -> containers.Container:
    if settings.redis_url:
        from pessoas.container.redis import RedisCache

        chosen: containers.Container = RedisCache(settings=settings)
        return chosen
    return MemoryCache()


def _queue(settings: Settings, storage: containers.Container) -> containers.Container:
    if settings.amqp_url:
        from pessoas.container.rabbitmq import RabbitmqQueue

        chosen: containers.Container = RabbitmqQueue(settings=settings)
        return chosen
    return DirectQueue(writer=storage.writer)


def build_container(settings: Settings | None = None) -> Container:
    settings = settings if settings is not None else Settings()
    storage = _storage(settings)
    return Container(
        settings=settings,
        storage=storage,
        cache=_cache(settings),
        queue=_queue(settings, storage),
    )
