"""The in-memory twins: no outside service, nothing kept after the process ends."""

from dependency_injector import containers, providers

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.memory_queue import DirectPersistenceQueue
from pessoas.adapters.memory_setup import nothing_to_prepare
from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.ports.repository import PessoaWriter


class MemoryStorage(containers.DeclarativeContainer):
    store = providers.Singleton(InMemoryPessoaStore)
    writer = store
    reader = store
    prepare = providers.Callable(nothing_to_prepare)


class MemoryCache(containers.DeclarativeContainer):
    cache = providers.Singleton(InMemoryPessoaCache)


class DirectQueue(containers.DeclarativeContainer):
    """No broker: a created pessoa is written to storage before its 201."""

    #: Whatever storage group was chosen: the pessoa is written there before its 201.
    writer: providers.Dependency[PessoaWriter] = providers.Dependency()
    queue = providers.Singleton(DirectPersistenceQueue, writer=writer)
    prepare = providers.Callable(nothing_to_prepare)
