"""The use cases over the in-memory adapters: assertions on state, not on calls."""

import asyncio
import time
import uuid

import pytest

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.memory_queue import DirectPersistenceQueue
from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.application.use_cases import (
    CountPessoas,
    CreatePessoa,
    GetPessoa,
    RestoreReservations,
    SearchPessoas,
    StorePessoas,
)
from pessoas.domain.errors import (
    ApelidoTaken,
    InvalidPessoa,
    InvalidSearchTerm,
    ReservationsLost,
    StorageUnavailable,
    UnreadablePessoa,
)
from tests.contracts.pessoas_factory import make_pessoa

BODY = {"apelido": "ana", "nome": "Ana Souza", "nascimento": "1990-05-17", "stack": ["Go"]}


class UnavailableQueue:
    """A broker that is down: it says for certain that nothing was handed over."""

    async def put(self, pessoa, since=None):
        raise StorageUnavailable("broker down")


class UnconfirmedQueue:
    """A broker that took the message but never confirmed it: storage may still happen."""

    async def put(self, pessoa, since=None):
        raise TimeoutError("no confirm")


class HeldQueue:
    """Holds pessoas like a broker whose worker has not run yet; waiting for storage delivers them."""

    def __init__(self, store=None):
        self.held = []
        self.store = store
        self.waits = 0

    async def put(self, pessoa, since=None):
        self.held.append(pessoa)

    async def wait_until_stored(self):
        self.waits += 1
        await asyncio.sleep(0.01)  # a worker takes a moment
        await self.store.add_many(self.held)
        self.held.clear()


@pytest.fixture
def store():
    return InMemoryPessoaStore()


@pytest.fixture
async def cache():
    cache = InMemoryPessoaCache()
    await cache.mark_ready()  # as after RestoreReservations, whose own tests are below
    return cache


@pytest.fixture
def create(cache, store):
    return CreatePessoa(cache, DirectPersistenceQueue(store))


async def test_a_created_pessoa_is_stored_and_readable(create, cache, store):
    pessoa = await create(BODY)
    assert await store.get(pessoa.id) == pessoa
    assert await GetPessoa(cache, store)(pessoa.id) == pessoa
    assert await CountPessoas(store)() == 1


async def test_an_apelido_is_taken_once(create, store):
    await create(BODY)
    # The refusal says which apelido is taken: it becomes the 422's detail.
    with pytest.raises(ApelidoTaken, match="'ana'"):
        await create(dict(BODY, nome="Outra Ana"))
    assert await store.count() == 1


async def test_apelido_taken_is_an_invalid_pessoa():
    assert issubclass(ApelidoTaken, InvalidPessoa)


async def test_invalid_and_unreadable_bodies_store_nothing_and_reserve_nothing(create, cache, store):
    with pytest.raises(InvalidPessoa):
        await create(dict(BODY, nascimento="2023-02-29"))
    with pytest.raises(UnreadablePessoa):
        await create(dict(BODY, stack="PHP"))
    assert await store.count() == 0
    await create(BODY)  # the apelido was never taken


async def test_concurrent_creations_of_one_apelido_give_one_pessoa(create, store):
    results = await asyncio.gather(*(create(dict(BODY)) for _ in range(30)), return_exceptions=True)
    created = [r for r in results if not isinstance(r, Exception)]
    assert len(created) == 1
    assert all(isinstance(r, ApelidoTaken) for r in results if isinstance(r, Exception))
    assert await store.count() == 1


async def test_a_pessoa_not_yet_stored_is_read_from_the_cache(cache, store):
    queue = HeldQueue()
    pessoa = await CreatePessoa(cache, queue)(BODY)
    assert await store.get(pessoa.id) is None
    assert await GetPessoa(cache, store)(pessoa.id) == pessoa


async def test_a_stored_pessoa_the_cache_forgot_is_read_from_storage(store):
    pessoa = make_pessoa()
    await store.add_many([pessoa])
    assert await GetPessoa(InMemoryPessoaCache(), store)(pessoa.id) == pessoa


async def test_an_unknown_id_is_none(cache, store):
    assert await GetPessoa(cache, store)(uuid.uuid4()) is None


async def test_when_the_queue_is_down_the_apelido_is_freed(cache):
    with pytest.raises(StorageUnavailable):
        await CreatePessoa(cache, UnavailableQueue())(BODY)
    retried = await CreatePessoa(cache, HeldQueue())(BODY)
    assert retried.apelido == "ana"


async def test_when_storage_is_uncertain_the_apelido_stays_taken(cache):
    with pytest.raises(TimeoutError):
        await CreatePessoa(cache, UnconfirmedQueue())(BODY)
    with pytest.raises(ApelidoTaken):
        await CreatePessoa(cache, HeldQueue())(BODY)


@pytest.mark.parametrize("term", [None, ""])
async def test_a_search_needs_a_term(store, term):
    # The refusal names the missing query parameter: it becomes the 400's detail.
    with pytest.raises(InvalidSearchTerm, match=r"\bt\b"):
        await SearchPessoas(store)(term)


async def test_search_returns_at_most_50(store):
    await store.add_many([make_pessoa(nome=f"Costa {i}") for i in range(80)])
    assert len(await SearchPessoas(store)("costa")) == 50


async def test_store_pessoas_is_idempotent(store):
    batch = [make_pessoa() for _ in range(3)]
    assert await StorePessoas(store)(batch) == 3
    assert await StorePessoas(store)(batch) == 0
    assert await store.count() == 3


class DownCache(InMemoryPessoaCache):
    """A cache whose server is unreachable."""

    async def get(self, pessoa_id):
        raise StorageUnavailable("cache down")


async def test_reads_by_id_fall_back_to_storage_when_the_cache_is_down(store):
    pessoa = make_pessoa()
    await store.add_many([pessoa])
    assert await GetPessoa(DownCache(), store)(pessoa.id) == pessoa


async def test_restoring_waits_for_pessoas_in_flight_then_takes_every_stored_apelido(store):
    # Before the loss: one pessoa stored, one promised and still in the queue.
    stored = make_pessoa(apelido="guardado")
    await store.add_many([stored])
    queue = HeldQueue(store)
    in_flight = make_pessoa(apelido="a_caminho")
    await queue.put(in_flight)
    cache = InMemoryPessoaCache()  # the cache restarted empty
    await RestoreReservations(cache, store, queue)()
    assert await cache.is_ready()
    assert await store.get(in_flight.id) == in_flight
    create = CreatePessoa(cache, queue)
    for apelido in ("guardado", "a_caminho"):
        with pytest.raises(ApelidoTaken):
            await create(dict(BODY, apelido=apelido))
    assert (await create(dict(BODY, apelido="novo"))).apelido == "novo"


async def test_creations_are_refused_until_the_restore_has_run_and_then_resume(store):
    queue = HeldQueue(store)
    cache = InMemoryPessoaCache()
    restore = RestoreReservations(cache, store, queue)
    create = CreatePessoa(cache, queue, restore)
    with pytest.raises(ReservationsLost):
        await create(BODY)
    assert await store.count() == 0
    await restore()  # joins the run the refused creation started
    assert queue.waits == 1
    assert (await create(BODY)).apelido == "ana"


async def test_concurrent_restores_share_one_run(store):
    queue = HeldQueue(store)
    restore = RestoreReservations(InMemoryPessoaCache(), store, queue)
    await asyncio.gather(*(restore() for _ in range(10)))
    assert queue.waits == 1


async def test_a_ready_cache_is_not_restored_again(store, cache):
    queue = HeldQueue(store)
    await RestoreReservations(cache, store, queue)()
    assert queue.waits == 0


async def test_with_the_cache_down_an_id_storage_lacks_is_unavailable_not_absent(store):
    # It may be a pessoa acknowledged a moment ago, still on its way to storage.
    with pytest.raises(StorageUnavailable):
        await GetPessoa(DownCache(), store)(uuid.uuid4())


async def test_without_a_restore_a_lost_cache_still_refuses_creations(store):
    create = CreatePessoa(InMemoryPessoaCache(), DirectPersistenceQueue(store))
    with pytest.raises(ReservationsLost):
        await create(BODY)
    assert await store.count() == 0


class StuckQueue:
    """A broker whose queue never drains: a restore waits on it until cancelled."""

    async def wait_until_stored(self):
        await asyncio.Event().wait()


async def test_a_cancelled_background_restore_reports_nothing_and_the_next_creation_restarts_it(store):
    loop = asyncio.get_running_loop()
    reported = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    cache = InMemoryPessoaCache()
    restore = RestoreReservations(cache, store, StuckQueue())
    create = CreatePessoa(cache, StuckQueue(), restore)
    before = asyncio.all_tasks()
    with pytest.raises(ReservationsLost):
        await create(BODY)
    (run,) = asyncio.all_tasks() - before
    run.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert run.cancelled()
    assert reported == []
    with pytest.raises(ReservationsLost):
        await create(BODY)
    (again,) = asyncio.all_tasks() - before - {run}
    assert not again.done()
    again.cancel()
    await asyncio.sleep(0)


class UnprovableQueue(HeldQueue):
    """A broker whose counts cannot be read: the drain cannot be proven, until it can."""

    def __init__(self, store, failures):
        super().__init__(store)
        self.failures = list(failures)

    async def wait_until_stored(self):
        if self.failures:
            self.waits += 1
            raise StorageUnavailable(self.failures.pop(0))
        await super().wait_until_stored()


async def test_a_restore_that_cannot_prove_the_drain_fails_closed_says_why_once_and_completes_later(
    store, caplog
):
    queue = UnprovableQueue(store, ["management API unreachable"] * 3 + ["management API refuses"])
    cache = InMemoryPessoaCache()
    restore = RestoreReservations(cache, store, queue)
    for reason in ["unreachable"] * 3 + ["refuses"]:
        with pytest.raises(StorageUnavailable):
            await restore()
        assert not await cache.is_ready()
        assert restore.problem == f"management API {reason}"
    with pytest.raises(ReservationsLost):
        await CreatePessoa(cache, queue)(BODY)
    lines = [r.getMessage() for r in caplog.records if "cannot be restored yet" in r.getMessage()]
    assert lines == [  # one when the reason appeared, one when it changed
        "the apelido reservations cannot be restored yet, retrying: management API unreachable",
        "the apelido reservations cannot be restored yet, retrying: management API refuses",
    ]
    await restore()
    assert await cache.is_ready()
    assert restore.problem is None


async def test_a_failure_without_words_is_still_logged_once(store, caplog):
    restore = RestoreReservations(InMemoryPessoaCache(), store, UnprovableQueue(store, ["", ""]))
    for _ in range(2):
        with pytest.raises(StorageUnavailable):
            await restore()
    assert len([r for r in caplog.records if "cannot be restored yet" in r.getMessage()]) == 1


async def test_a_creation_tells_the_queue_when_it_asked_for_the_reservation(cache):
    class TimedCache(InMemoryPessoaCache):
        async def reserve(self, pessoa):
            self.reserved_at = time.monotonic()
            return True

    class SinceQueue:
        async def put(self, pessoa, since=None):
            self.since = since

    timed, queue = TimedCache(), SinceQueue()
    before = time.monotonic()
    await CreatePessoa(timed, queue)(BODY)
    assert before <= queue.since <= timed.reserved_at


async def test_the_direct_queue_waits_for_the_puts_under_way_when_it_is_asked(store):
    class SlowWriter(InMemoryPessoaStore):
        async def add_many(self, pessoas):
            await asyncio.sleep(0.05)
            return await super().add_many(pessoas)

    writer = SlowWriter()
    queue = DirectPersistenceQueue(writer)
    pessoa = make_pessoa()
    put = asyncio.create_task(queue.put(pessoa))
    await asyncio.sleep(0)
    await queue.wait_until_stored()
    assert await writer.get(pessoa.id) == pessoa
    await put
    await queue.wait_until_stored()  # nothing under way: returns at once
