"""The in-memory twins: no outside service, nothing kept after the process ends."""

from dependency_injector import containers, providers

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.memory_queue import DirectIndexQueue
from pessoas.adapters.memory_setup import nothing_to_prepare
from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.application.use_cases import ReconcileIndex
from pessoas.ports.repository import SearchIndex
from pessoas.settings import Settings


async def reconcile_once(index: SearchIndex) -> None:
    await ReconcileIndex(index)()


class MemoryStorage(containers.DeclarativeContainer):
    store = providers.Singleton(InMemoryPessoaStore)
    writer = store
    reader = store
    search_index = store
    prepare = providers.Callable(nothing_to_prepare)


def _bound(near_cache_max: int) -> int | None:
    return near_cache_max or None


class MemoryCache(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    cache = providers.Singleton(
        InMemoryPessoaCache, max_pessoas=providers.Callable(_bound, settings.provided.near_cache_max)
    )


class DirectQueue(containers.DeclarativeContainer):
    """No broker: the API indexes what it committed itself, right after the commit."""

    #: Whatever storage group was chosen.
    index: providers.Dependency[SearchIndex] = providers.Dependency()
    queue = providers.Singleton(DirectIndexQueue, index=index)
    prepare = providers.Callable(nothing_to_prepare)
    # No worker runs a reconciler without a broker: a start-up pass indexes whatever an API
    # committed but did not index before it stopped.
    at_start = providers.Callable(reconcile_once, index)
