"""The composition root: the one place that picks and constructs adapters, from settings.

Storage, cache and queue are each an adapter group, a small container of its own, so that only
the chosen groups' resources (pools, connections) are ever opened. :func:`build_container`
picks one group per port from the settings (which have already refused the combinations that
could lose a pessoa): a backing service whose URL is set is used, and one left unset is
replaced by its in-process twin.
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
    #: Provides ``writer``, ``reader`` and ``prepare`` (create the schema).
    storage = providers.DependenciesContainer()
    #: Provides ``cache``.
    cache = providers.DependenciesContainer()
    #: Provides ``queue`` and ``prepare`` (declare the queues).
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


def build_container(settings: Settings | None = None) -> Container:
    settings = settings if settings is not None else Settings()
    storage = _storage_group(settings)
    return Container(
        settings=settings,
        storage=storage,
        cache=_cache_group(settings),
        queue=_queue_group(settings, storage),
    )


# Each group module is imported only when chosen, so a process loads no driver it does not use.


def _storage_group(settings: Settings) -> containers.Container:
    if settings.database_url:
        from pessoas.container.postgres import PostgresStorage

        return PostgresStorage(settings=settings)
    return MemoryStorage()


def _cache_group(settings: Settings) -> containers.Container:
    if settings.redis_url:
        from pessoas.container.redis import RedisCache

        return RedisCache(settings=settings)
    return MemoryCache()


def _queue_group(settings: Settings, storage: containers.Container) -> containers.Container:
    if settings.amqp_url:
        from pessoas.container.rabbitmq import RabbitmqQueue

        return RabbitmqQueue(settings=settings)
    return DirectQueue(writer=storage.writer)
