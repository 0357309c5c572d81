"""The composition root: the one place that picks and constructs adapters, from settings.

Storage, cache and queue are each an adapter group, a small container of its own, so that only
the chosen groups' resources (pools, connections, threads) are ever opened. :func:`build_container`
picks the groups from the settings (which have already refused the combinations that could lose a
pessoa or hide one). With the embedded SQLite storage (the default when no database URL is set) one group
serves as storage, cache and queue at once. Otherwise a backing service whose URL is set is used,
and one left unset is replaced by its in-process twin.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from pessoas.adapters.prometheus_metrics import (
    CountedCreations,
    observe_announced_indexed,
    observe_commit,
    observe_readiness,
    observe_reconciled_indexed,
    observed,
)
from pessoas.application.readiness import Readiness
from pessoas.application.use_cases import (
    CountPessoas,
    CreatePessoa,
    GetPessoa,
    IndexPessoas,
    ReconcileIndex,
    SearchPessoas,
    StoreQueuedPessoas,
)
from pessoas.container.memory import DirectQueue, MemoryCache, MemoryStorage
from pessoas.settings import Settings


def _metrics_switch(settings: Settings) -> str:
    """ "on" or "off": the key of every metrics Selector below."""
    return "on" if settings.metrics else "off"


def _seconds(milliseconds: float) -> float:
    return milliseconds / 1000


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    #: Provides ``writer``, ``reader``, ``search_index`` and ``prepare`` (create the schema).
    storage = providers.DependenciesContainer()
    #: Provides ``cache``.
    cache = providers.DependenciesContainer()
    #: Provides ``queue``, ``prepare`` (declare the queues) and ``at_start`` (run once by the API).
    queue = providers.DependenciesContainer()

    # With metrics on, the use cases see each adapter through one proxy that counts its failures
    # (and, for the writer and the index, observes what they did); with metrics off, the adapters
    # themselves.
    metrics = providers.Callable(_metrics_switch, settings)
    observed_cache = providers.Selector(
        metrics, on=providers.Singleton(observed, cache.cache, "cache"), off=cache.cache
    )
    observed_reader = providers.Selector(
        metrics, on=providers.Singleton(observed, storage.reader, "storage"), off=storage.reader
    )
    observed_writer = providers.Selector(
        metrics,
        on=providers.Singleton(observed, storage.writer, "storage", add_many=observe_commit),
        off=storage.writer,
    )
    observed_index = providers.Selector(
        metrics,
        on=providers.Singleton(
            observed,
            storage.search_index,
            "storage",
            index=observe_announced_indexed,
            index_missing=observe_reconciled_indexed,
        ),
        off=storage.search_index,
    )
    observed_queue = providers.Selector(
        metrics, on=providers.Singleton(observed, queue.queue, "queue"), off=queue.queue
    )

    # Use cases hold no per-request state, so one of each serves every request.
    _create_pessoa = providers.Singleton(
        CreatePessoa,
        writer=observed_writer,
        cache=observed_cache,
        queue=observed_queue,
        batch_max=settings.provided.create_batch_max,
        commits_in_flight=settings.provided.commits_in_flight,
        window=providers.Callable(_seconds, settings.provided.create_window_ms),
        pause_after_outage=providers.Callable(_seconds, settings.provided.outage_pause_ms),
    )
    create_pessoa = providers.Selector(
        metrics, on=providers.Singleton(CountedCreations, _create_pessoa), off=_create_pessoa
    )
    get_pessoa = providers.Singleton(GetPessoa, cache=observed_cache, reader=observed_reader)
    search_pessoas = providers.Singleton(SearchPessoas, reader=observed_reader)
    count_pessoas = providers.Singleton(CountPessoas, reader=observed_reader)
    index_pessoas = providers.Singleton(
        IndexPessoas, index=observed_index, batch_max=settings.provided.worker_batch_max
    )
    reconcile_index = providers.Singleton(ReconcileIndex, index=observed_index)
    store_queued_pessoas = providers.Singleton(
        StoreQueuedPessoas, writer=observed_writer, reader=observed_reader, index=observed_index
    )

    # What /ready answers. It probes the adapter itself: its own checks are not failures of the
    # service's calls.
    _readiness = providers.Singleton(
        Readiness, reader=storage.reader, interval=settings.provided.ready_interval
    )
    readiness = providers.Selector(
        metrics, on=providers.Singleton(observe_readiness, _readiness), off=_readiness
    )


def describe_adapters(settings: Settings) -> dict[str, str]:
    """Which adapter serves each port under these settings (for the start-up log line)."""
    if settings.chosen_storage == "sqlite":
        embedded = f"sqlite ({settings.sqlite_path})"
        return {"storage": embedded, "cache": embedded, "queue": embedded, "metrics": _metrics(settings)}
    return {
        "storage": "postgresql" if settings.chosen_storage == "postgres" else "memory",
        "cache": _cache(settings),
        "queue": "rabbitmq" if settings.amqp_url else "direct (no broker)",
        "metrics": _metrics(settings),
    }


def _cache(settings: Settings) -> str:
    if not settings.redis_url:
        return "memory"
    if settings.near_cache_max:
        return f"redis, behind {settings.near_cache_max} pessoas in process memory"
    return "redis"


def _metrics(settings: Settings) -> str:
    return "prometheus" if settings.metrics else "off"


def _embedded(settings: Settings) -> Container:
    # One process: no Redis or broker (the settings refuse either without a database URL).
    from pessoas.container.sqlite import SqliteEmbedded

    group = SqliteEmbedded(settings=settings)
    return Container(settings=settings, storage=group, cache=group, queue=group)


def build_container(settings: Settings | None = None) -> Container:
    settings = settings if settings is not None else Settings()
    if settings.chosen_storage == "sqlite":
        return _embedded(settings)
    storage = _storage_group(settings)
    return Container(
        settings=settings,
        storage=storage,
        cache=_cache_group(settings),
        queue=_queue_group(settings, storage),
    )


# Each group module is imported only when chosen, so a process loads no driver it does not use.


def _storage_group(settings: Settings) -> containers.Container:
    if settings.chosen_storage == "postgres":
        from pessoas.container.postgres import PostgresStorage

        return PostgresStorage(settings=settings)
    return MemoryStorage()


def _cache_group(settings: Settings) -> containers.Container:
    if settings.redis_url:
        from pessoas.container.redis import RedisCache

        return RedisCache(settings=settings)
    return MemoryCache(settings=settings)


def _queue_group(settings: Settings, storage: containers.Container) -> containers.Container:
    if settings.amqp_url:
        from pessoas.container.rabbitmq import RabbitmqQueue

        return RabbitmqQueue(settings=settings)
    return DirectQueue(index=storage.search_index)
