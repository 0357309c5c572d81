"""The composition root: the one place that picks and constructs adapters, from settings.

Storage is chosen by ``settings.chosen_storage``. With SQLite (the default when no database URL is
set) one group serves as storage, cache and queue at once. Otherwise cache and queue are chosen
independently: each backing service whose URL is set is used, and each left unset falls back to
its in-memory twin. Every adapter group is a small container of its own, so only the chosen
groups' resources (pools, connections, threads) are opened.
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
    if settings.chosen_storage == "postgres":
        if not settings.database_url:
            raise ValueError("PESSOAS_STORAGE=postgres needs PESSOAS_DATABASE_URL")
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


def _embedded(settings: Settings) -> Container:
    if settings.redis_url or settings.amqp_url:
        raise ValueError(
            "the SQLite storage runs in one process and takes no Redis or RabbitMQ: unset "
            "PESSOAS_REDIS_URL and PESSOAS_AMQP_URL, or set PESSOAS_DATABASE_URL for the full stack"
        )
    from pessoas.container.sqlite import SqliteEmbedded

    group = SqliteEmbedded(settings=settings)
    return Container(settings=settings, storage=group, cache=group, queue=group)


def build_container(settings: Settings | None = None) -> Container:
    settings = settings if settings is not None else Settings()
    if settings.chosen_storage == "sqlite":
        return _embedded(settings)
    storage = _storage(settings)
    return Container(
        settings=settings,
        storage=storage,
        cache=_cache(settings),
        queue=_queue(settings, storage),
    )
