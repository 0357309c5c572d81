"""The in-memory twins: the embedded default, needing no outside service."""

from dependency_injector import containers, providers

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.memory_queue import DirectPersistenceQueue
from pessoas.adapters.memory_setup import nothing_to_prepare
from pessoas.adapters.memory_store import InMemoryPessoaStore


class MemoryStorage(containers.DeclarativeContainer):
    store = providers.Singleton(InMemoryPessoaStore)
    writer = store
    reader = store
    prepare = providers.Callable(nothing_to_prepare)


class MemoryCache(containers.DeclarativeContainer):
    cache = providers.Singleton(InMemoryPessoaCache)


class DirectQueue(containers.DeclarativeContainer):
    """No broker: a created pessoa is written to storage before its 201."""

    writer: providers.Dependency[InMemoryPessoaStore] = providers.Dependency()
    queue = providers.Singleton(DirectPersistenceQueue, writer=writer)
    prepare = providers.Callable(nothing_to_prepare)
