"""The use cases over the in-memory adapters: assertions on state, and on calls where the rule is about them.

The rules of a creation: a 201 means storage committed the pessoa. The cache only spares storage
work (a hit refuses at once, a miss or a failure proves nothing), storage's unique apelido
decides, and the cache and the queue are told after the commit, in the background, where their
failures cost only speed.
"""

import asyncio
import logging
import uuid

import pytest

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.application.use_cases import (
    CountPessoas,
    CreatePessoa,
    GetPessoa,
    IndexPessoas,
    ReconcileIndex,
    SearchPessoas,
)
from pessoas.domain.errors import (
    ApelidoTaken,
    InvalidPessoa,
    InvalidSearchTerm,
    StorageUnavailable,
    StorageUncertain,
    UnreadablePessoa,
)
from tests.contracts.pessoas_factory import make_pessoa

BODY = {"apelido": "ana", "nome": "Ana Souza", "nascimento": "1990-05-17", "stack": ["Go"]}


def body(apelido: str) -> dict[str, object]:
    return dict(BODY, apelido=apelido)


class SpyWriter:
    """The in-memory store as the writer, recording each transaction; it may be held or fail."""

    def __init__(self, store: InMemoryPessoaStore) -> None:
        self.store = store
        self.batches: list[list[str]] = []  # the apelidos of each add_many call
        self.running = 0
        self.most_running = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_with: BaseException | None = None

    async def add_many(self, pessoas):
        self.batches.append([p.apelido for p in pessoas])
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.gate.wait()
            if self.fail_with is not None:
                raise self.fail_with
            return await self.store.add_many(pessoas)
        finally:
            self.running -= 1


class SpyCache(InMemoryPessoaCache):
    """The in-memory cache, recording what it is asked and told; each call may fail on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []
        self.remembered: list[list[uuid.UUID]] = []
        self.gets = 0
        self.fail_on: dict[str, BaseException] = {}

    def _maybe_fail(self, method: str) -> None:
        if method in self.fail_on:
            raise self.fail_on[method]

    async def holds_apelido(self, apelido):
        self.asked.append(apelido)
        self._maybe_fail("holds_apelido")
        return await super().holds_apelido(apelido)

    async def get(self, pessoa_id):
        self.gets += 1
        self._maybe_fail("get")
        return await super().get(pessoa_id)

    async def remember(self, pessoas):
        self.remembered.append([p.id for p in pessoas])
        self._maybe_fail("remember")
        await super().remember(pessoas)


class SpyQueue:
    """Indexes what it is announced, as the direct queue does, recording each announcement."""

    def __init__(self, store: InMemoryPessoaStore) -> None:
        self.store = store
        self.announced: list[list[uuid.UUID]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_with: BaseException | None = None

    async def announce(self, ids):
        self.announced.append(list(ids))
        await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        await self.store.index(ids)


@pytest.fixture
def store():
    return InMemoryPessoaStore()


@pytest.fixture
def writer(store):
    return SpyWriter(store)


@pytest.fixture
def cache():
    return SpyCache()


@pytest.fixture
def queue(store):
    return SpyQueue(store)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def create(writer, cache, queue, clock):
    return CreatePessoa(writer, cache, queue, clock=clock)


async def settle():
    """Lets every runnable callback and task run (a few turns of the loop)."""
    for _ in range(10):
        await asyncio.sleep(0)


# --- a creation: validated, refused by a cache hit, committed, decided by storage -------------


async def test_a_created_pessoa_is_committed_before_the_creation_returns(create, store):
    pessoa = await create(BODY)
    # No settle(): the promise rests on the commit alone.
    assert await store.get(pessoa.id) == pessoa
    assert await CountPessoas(store)() == 1
    assert pessoa.apelido == "ana" and pessoa.nome == "Ana Souza" and pessoa.stack == ("Go",)


async def test_an_apelido_is_taken_once(create, store):
    await create(BODY)
    # The refusal says which apelido is taken: it becomes the 422's detail.
    with pytest.raises(ApelidoTaken, match="'ana'"):
        await create(dict(BODY, nome="Outra Ana"))
    await create.settle()
    with pytest.raises(ApelidoTaken, match="'ana'"):  # refused by the cache this time
        await create(dict(BODY, nome="Outra Ana"))
    assert await store.count() == 1


async def test_apelido_taken_is_an_invalid_pessoa():
    assert issubclass(ApelidoTaken, InvalidPessoa)


async def test_a_cache_hit_on_the_apelido_refuses_without_touching_the_writer(create, cache, writer, store):
    await cache.remember([make_pessoa(apelido="ana")])
    # The refusal says which apelido is taken: it becomes the 422's detail.
    with pytest.raises(ApelidoTaken, match="'ana'"):
        await create(BODY)
    assert cache.asked == ["ana"]
    assert writer.batches == []
    assert await store.count() == 0


async def test_an_apelido_stored_but_unknown_to_the_cache_is_refused_by_storage(create, cache, writer, store):
    first = await create(BODY)
    await create.settle()
    cache.forget_everything()  # a Redis restart
    with pytest.raises(ApelidoTaken, match="'ana'"):
        await create(dict(BODY, nome="Outra Ana"))
    assert writer.batches == [["ana"], ["ana"]]  # storage was asked, and its unique apelido decided
    assert await store.count() == 1
    assert await store.get(first.id) == first


async def test_a_cache_that_cannot_answer_does_not_stop_a_creation(create, cache, store):
    cache.fail_on["holds_apelido"] = StorageUnavailable("redis down")
    pessoa = await create(BODY)
    assert await store.get(pessoa.id) == pessoa
    # And storage still decides the apelido while the cache is down.
    with pytest.raises(ApelidoTaken):
        await create(dict(BODY, nome="Outra"))
    assert await store.count() == 1


async def test_a_cache_failing_otherwise_than_unavailable_is_not_swallowed(create, cache, writer):
    cache.fail_on["holds_apelido"] = RuntimeError("a bug")
    with pytest.raises(RuntimeError):
        await create(BODY)
    assert writer.batches == []


async def test_invalid_and_unreadable_bodies_touch_nothing(create, cache, writer, queue, store):
    with pytest.raises(InvalidPessoa):
        await create(dict(BODY, nascimento="2023-02-29"))
    with pytest.raises(UnreadablePessoa):
        await create(dict(BODY, stack="PHP"))
    await create.settle()
    assert cache.asked == [] and writer.batches == [] and queue.announced == []
    assert await store.count() == 0
    await create(BODY)  # the apelido was never taken


async def test_concurrent_creations_of_one_apelido_give_exactly_one_pessoa(create, store, cache):
    results = await asyncio.gather(*(create(dict(BODY)) for _ in range(30)), return_exceptions=True)
    created = [r for r in results if not isinstance(r, BaseException)]
    assert len(created) == 1
    assert all(isinstance(r, ApelidoTaken) for r in results if isinstance(r, BaseException))
    assert await store.count() == 1
    assert await store.get(created[0].id) == created[0]
    await create.settle()
    assert cache.remembered == [[created[0].id]]  # only the winner is remembered


async def test_concurrent_creations_of_one_apelido_over_separate_transactions_give_one_pessoa(store):
    # Each creation its own transaction, two at a time: the unique apelido still decides.
    create = CreatePessoa(SpyWriter(store), SpyCache(), SpyQueue(store), batch_max=1)
    results = await asyncio.gather(*(create(dict(BODY)) for _ in range(10)), return_exceptions=True)
    assert len([r for r in results if not isinstance(r, BaseException)]) == 1
    assert all(isinstance(r, ApelidoTaken) for r in results if isinstance(r, BaseException))
    assert await store.count() == 1


async def test_each_creation_of_a_shared_transaction_gets_its_own_outcome(
    create, writer, cache, queue, store
):
    holder = make_pessoa(apelido="dono")
    await store.add_many([holder])  # stored, unknown to the cache
    results = await asyncio.gather(
        create(body("primeira")), create(body("dono")), create(body("segunda")), return_exceptions=True
    )
    assert writer.batches == [["primeira", "dono", "segunda"]]
    first, taken, second = results
    assert isinstance(taken, ApelidoTaken) and "'dono'" in str(taken)
    assert await store.get(first.id) == first
    assert await store.get(second.id) == second
    await create.settle()
    # Only what the transaction stored is remembered and announced, once for the transaction.
    assert cache.remembered == [[first.id, second.id]]
    assert queue.announced == [[first.id, second.id]]
    assert await cache.get(holder.id) is None


async def test_a_transaction_that_stores_nothing_tells_nobody(create, cache, queue, store):
    await store.add_many([make_pessoa(apelido="ana")])
    with pytest.raises(ApelidoTaken):
        await create(BODY)
    await create.settle()
    assert cache.remembered == []
    assert queue.announced == []


# --- storage failing: 503 material, nothing promised, nothing told ----------------------------


@pytest.mark.parametrize(
    "failure", [StorageUnavailable("database down"), StorageUncertain("commit unconfirmed")]
)
async def test_a_storage_failure_reaches_the_caller_and_nothing_is_remembered_or_announced(
    create, writer, cache, queue, store, failure, clock
):
    writer.fail_with = failure
    with pytest.raises(type(failure)) as raised:
        await create(BODY)
    assert raised.value is failure
    await create.settle()
    assert cache.remembered == []
    assert queue.announced == []
    assert await cache.holds_apelido("ana") is False
    writer.fail_with = None
    clock.now += 1.0  # past the pause that follows an outage
    # Nothing was stored, so the apelido is free for the retry.
    retried = await create(BODY)
    assert await store.get(retried.id) == retried


async def test_a_storage_failure_reaches_every_creation_of_its_transaction(create, writer):
    writer.fail_with = StorageUnavailable("database down")
    results = await asyncio.gather(*(create(body(f"p{i}")) for i in range(5)), return_exceptions=True)
    assert writer.batches == [[f"p{i}" for i in range(5)]]
    assert all(r is writer.fail_with for r in results)


async def test_after_storage_was_unavailable_creations_are_refused_at_once_for_a_second(
    create, writer, clock
):
    writer.fail_with = StorageUnavailable("database down")
    with pytest.raises(StorageUnavailable):
        await create(body("first"))
    writer.fail_with = None
    clock.now += 0.99
    with pytest.raises(StorageUnavailable, match="moments ago"):
        await create(body("second"))
    assert writer.batches == [["first"]]  # refused without trying storage again
    clock.now += 0.02
    assert (await create(body("third"))).apelido == "third"
    assert writer.batches == [["first"], ["third"]]


async def test_creations_waiting_behind_a_failed_transaction_are_refused_without_a_new_attempt(
    store, cache, queue, clock
):
    writer = SpyWriter(store)
    create = CreatePessoa(writer, cache, queue, commits_in_flight=1, clock=clock)
    writer.gate.clear()
    writer.fail_with = StorageUnavailable("database down")
    first = asyncio.ensure_future(create(body("first")))
    await settle()
    waiting = [asyncio.ensure_future(create(body(f"w{i}"))) for i in range(3)]
    await settle()
    writer.gate.set()
    results = await asyncio.gather(first, *waiting, return_exceptions=True)
    assert all(isinstance(r, StorageUnavailable) for r in results)
    assert writer.batches == [["first"]]


async def test_an_uncertain_commit_does_not_pause_creations(create, writer):
    writer.fail_with = StorageUncertain("connection lost during the commit")
    with pytest.raises(StorageUncertain):
        await create(body("first"))
    writer.fail_with = None
    assert (await create(body("second"))).apelido == "second"


# --- after the commit: the cache and the queue are told, in the background --------------------


async def test_after_the_commit_the_cache_remembers_and_the_queue_is_announced(
    create, writer, cache, queue, store
):
    pessoa = await create(BODY)
    await create.settle()
    assert queue.announced == [[pessoa.id]]
    assert await cache.get(pessoa.id) == pessoa
    assert await cache.holds_apelido("ana") is True
    assert await store.search("ana", 50) == [pessoa]  # the announcement made it searchable
    with pytest.raises(ApelidoTaken):  # and the cache now refuses the apelido on its own
        await create(dict(BODY, nome="Outra"))
    assert writer.batches == [["ana"]]


async def test_the_creation_does_not_wait_for_the_cache_or_the_queue(create, queue, cache):
    queue.gate.clear()  # the announcement hangs
    pessoa = await asyncio.wait_for(create(BODY), 1)
    assert queue.announced == [[pessoa.id]]
    settling = asyncio.ensure_future(create.settle())
    await settle()
    assert not settling.done()  # settle waits for the after-commit work...
    queue.gate.set()
    await asyncio.wait_for(settling, 1)  # ...and returns once it is done
    assert cache.remembered == [[pessoa.id]]


async def test_settle_waits_for_a_commit_under_way(create, writer, store):
    writer.gate.clear()
    creation = asyncio.ensure_future(create(BODY))
    await settle()
    settling = asyncio.ensure_future(create.settle())
    await settle()
    assert not settling.done()
    writer.gate.set()
    await asyncio.wait_for(settling, 1)
    assert creation.done()
    assert await store.get(creation.result().id) == creation.result()


@pytest.mark.parametrize("failure", [StorageUnavailable("down"), RuntimeError("a bug")])
async def test_a_cache_failing_after_the_commit_does_not_fail_the_creation(
    create, cache, queue, store, failure
):
    cache.fail_on["remember"] = failure
    pessoa = await create(BODY)
    await create.settle()
    assert await store.get(pessoa.id) == pessoa
    assert queue.announced == [[pessoa.id]]  # the queue is told all the same
    assert await store.search("ana", 50) == [pessoa]


@pytest.mark.parametrize("failure", [StorageUnavailable("down"), RuntimeError("a bug")])
async def test_a_queue_failing_after_the_commit_does_not_fail_the_creation(
    create, cache, queue, store, failure
):
    queue.fail_with = failure
    pessoa = await create(BODY)
    await create.settle()
    assert await store.get(pessoa.id) == pessoa
    assert await cache.get(pessoa.id) == pessoa  # the cache is told all the same
    # Not searchable until the reconciler finds it.
    assert await store.search("ana", 50) == []
    await ReconcileIndex(store)()
    assert await store.search("ana", 50) == [pessoa]


async def test_an_unexpected_after_commit_failure_is_logged_as_an_error_an_outage_is_not(
    create, cache, queue, caplog
):
    caplog.set_level(logging.DEBUG, logger="pessoas.application.use_cases")
    cache.fail_on["remember"] = RuntimeError("a bug in the cache adapter")
    queue.fail_with = StorageUnavailable("broker down")
    await create(BODY)
    await create.settle()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == ["cache not told of 1 committed pessoas"]
    assert "a bug in the cache adapter" in caplog.text  # with its traceback
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert debug == ["queue not told of 1 committed pessoas: broker down"]


async def test_an_after_commit_failure_leaves_no_unretrieved_task_exception(create, cache, queue):
    loop = asyncio.get_running_loop()
    reported = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        cache.fail_on["remember"] = RuntimeError("bug")
        queue.fail_with = RuntimeError("bug")
        await create(BODY)
        await create.settle()
        await settle()
    finally:
        loop.set_exception_handler(None)
    assert reported == []


# --- group commit: concurrent creations share a transaction ------------------------------------


async def test_concurrent_creations_share_one_add_many(create, writer, cache, queue):
    created = await asyncio.gather(*(create(body(f"junto{i}")) for i in range(10)))
    assert writer.batches == [[f"junto{i}" for i in range(10)]]
    await create.settle()
    ids = [p.id for p in created]
    assert queue.announced == [ids]  # one announcement for the transaction
    assert cache.remembered == [ids]


async def test_creations_arriving_during_a_commit_leave_together_in_the_next(store):
    writer = SpyWriter(store)
    create = CreatePessoa(writer, SpyCache(), SpyQueue(store), commits_in_flight=1)
    writer.gate.clear()
    first = asyncio.ensure_future(create(body("primeira")))
    await settle()
    later = [asyncio.ensure_future(create(body(f"depois{i}"))) for i in range(4)]
    await settle()
    assert writer.batches == [["primeira"]]
    writer.gate.set()
    await asyncio.gather(first, *later)
    assert writer.batches == [["primeira"], [f"depois{i}" for i in range(4)]]
    assert writer.most_running == 1


async def test_a_transaction_holds_at_most_batch_max_creations(store):
    writer = SpyWriter(store)
    create = CreatePessoa(writer, SpyCache(), SpyQueue(store), batch_max=4)
    await asyncio.gather(*(create(body(f"b{i}")) for i in range(10)))
    assert [len(batch) for batch in writer.batches] == [4, 4, 2]
    assert await store.count() == 10


async def test_by_default_a_transaction_holds_at_most_256_creations(store):
    writer = SpyWriter(store)
    create = CreatePessoa(writer, SpyCache(), SpyQueue(store))
    await asyncio.gather(*(create(body(f"d{i}")) for i in range(300)))
    assert [len(batch) for batch in writer.batches] == [256, 44]


async def test_by_default_two_transactions_run_at_once(store):
    writer = SpyWriter(store)
    create = CreatePessoa(writer, SpyCache(), SpyQueue(store), batch_max=1)
    writer.gate.clear()
    creations = [asyncio.ensure_future(create(body(f"c{i}"))) for i in range(5)]
    await settle()
    assert writer.running == 2
    writer.gate.set()
    await asyncio.gather(*creations)
    assert writer.most_running == 2
    assert await store.count() == 5


# --- reads: by id (cache, then storage), search, count -----------------------------------------


async def test_a_pessoa_the_cache_holds_is_read_from_it_without_storage():
    class NoReads(InMemoryPessoaStore):
        async def get(self, pessoa_id):
            raise AssertionError("storage asked although the cache held the pessoa")

    cache = SpyCache()
    pessoa = make_pessoa()
    await cache.remember([pessoa])
    assert await GetPessoa(cache, NoReads())(pessoa.id) == pessoa


async def test_a_committed_pessoa_the_cache_forgot_is_still_found(create, cache, store):
    # Never a 404 after a 201: storage holds every committed pessoa.
    pessoa = await create(BODY)
    await create.settle()
    cache.forget_everything()
    assert await GetPessoa(cache, store)(pessoa.id) == pessoa
    assert cache.gets == 1  # the cache was asked first


async def test_a_pessoa_is_found_by_id_before_the_after_commit_work_ran(create, cache, queue, store):
    queue.gate.clear()
    pessoa = await create(BODY)
    assert await GetPessoa(cache, store)(pessoa.id) == pessoa
    queue.gate.set()
    await create.settle()


async def test_reads_by_id_fall_back_to_storage_when_the_cache_is_down(store):
    cache = SpyCache()
    cache.fail_on["get"] = StorageUnavailable("cache down")
    pessoa = make_pessoa()
    await store.add_many([pessoa])
    assert await GetPessoa(cache, store)(pessoa.id) == pessoa
    # With the cache down, an id storage lacks is absent: storage holds every committed pessoa.
    assert await GetPessoa(cache, store)(uuid.uuid4()) is None


async def test_a_read_by_id_with_storage_down_and_a_cache_miss_is_unavailable():
    class DownStore(InMemoryPessoaStore):
        async def get(self, pessoa_id):
            raise StorageUnavailable("database down")

    with pytest.raises(StorageUnavailable):
        await GetPessoa(SpyCache(), DownStore())(uuid.uuid4())


async def test_an_unknown_id_is_none(cache, store):
    assert await GetPessoa(cache, store)(uuid.uuid4()) is None


@pytest.mark.parametrize("term", [None, ""])
async def test_a_search_needs_a_term(store, term):
    # The refusal names the missing query parameter: it becomes the 400's detail.
    with pytest.raises(InvalidSearchTerm, match=r"\bt\b"):
        await SearchPessoas(store)(term)


async def test_search_returns_at_most_50(store):
    pessoas = [make_pessoa(nome=f"Costa {i}") for i in range(80)]
    await store.add_many(pessoas)
    await store.index([p.id for p in pessoas])
    assert len(await SearchPessoas(store)("costa")) == 50
    assert [p.apelido for p in await SearchPessoas(store)(pessoas[7].apelido)] == [pessoas[7].apelido]


async def test_a_created_pessoa_is_found_by_search_once_announced(create, store):
    pessoa = await create(BODY)
    await create.settle()
    assert await SearchPessoas(store)("souza") == [pessoa]


# --- the worker's side: indexing what was announced, reconciling what was not ------------------


class SpyIndex:
    """A SearchIndex over the in-memory store, recording each call; it may be held or fail."""

    def __init__(self, store: InMemoryPessoaStore) -> None:
        self.store = store
        self.calls: list[list[uuid.UUID]] = []
        self.missing_passes = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_with: BaseException | None = None

    async def index(self, ids):
        self.calls.append(list(ids))
        await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return await self.store.index(ids)

    async def index_missing(self):
        self.missing_passes += 1
        return await self.store.index_missing()


async def test_index_pessoas_makes_the_announced_pessoas_searchable(store):
    pessoas = [make_pessoa(nome="Indexada") for _ in range(3)]
    await store.add_many(pessoas)
    index_pessoas = IndexPessoas(store)
    assert await index_pessoas([p.id for p in pessoas]) == 3
    assert await index_pessoas([p.id for p in pessoas]) == 0  # a redelivery changes nothing
    assert {p.id for p in await store.search("indexada", 50)} == {p.id for p in pessoas}


async def test_index_pessoas_merges_concurrent_announcements_into_one_call(store):
    pessoas = [make_pessoa(nome="Junta") for _ in range(6)]
    await store.add_many(pessoas)
    index = SpyIndex(store)
    index_pessoas = IndexPessoas(index)
    ids = [p.id for p in pessoas]
    counts = await asyncio.gather(index_pessoas(ids[:2]), index_pessoas(ids[2:5]), index_pessoas(ids[5:]))
    assert index.calls == [ids]  # one statement, the announcements in order
    assert counts == [6, 6, 6]  # each message gets the merged count
    assert {p.id for p in await store.search("junta", 50)} == set(ids)


async def test_index_pessoas_runs_one_call_at_a_time_and_merges_what_waits(store):
    pessoas = [make_pessoa() for _ in range(5)]
    await store.add_many(pessoas)
    index = SpyIndex(store)
    index_pessoas = IndexPessoas(index)
    index.gate.clear()
    first = asyncio.ensure_future(index_pessoas([pessoas[0].id]))
    await settle()
    later = [asyncio.ensure_future(index_pessoas([p.id])) for p in pessoas[1:]]
    await settle()
    assert index.calls == [[pessoas[0].id]]
    index.gate.set()
    await asyncio.gather(first, *later)
    assert index.calls == [[pessoas[0].id], [p.id for p in pessoas[1:]]]


async def test_index_pessoas_merges_up_to_batch_max_ids_never_splitting_a_message(store):
    index = SpyIndex(store)
    index_pessoas = IndexPessoas(index, batch_max=5)
    messages = [[uuid.uuid4() for _ in range(3)] for _ in range(3)]
    await asyncio.gather(*(index_pessoas(m) for m in messages))
    assert index.calls == messages  # 3 + 3 > 5: each message alone


async def test_index_pessoas_merges_up_to_1000_ids_by_default(store):
    index = SpyIndex(store)
    index_pessoas = IndexPessoas(index)
    messages = [[uuid.uuid4() for _ in range(400)] for _ in range(3)]
    await asyncio.gather(*(index_pessoas(m) for m in messages))
    assert [len(call) for call in index.calls] == [800, 400]


async def test_an_index_failure_reaches_every_merged_message(store):
    index = SpyIndex(store)
    index.fail_with = StorageUnavailable("database down")
    index_pessoas = IndexPessoas(index)
    results = await asyncio.gather(
        index_pessoas([uuid.uuid4()]), index_pessoas([uuid.uuid4()]), return_exceptions=True
    )
    assert len(index.calls) == 1
    assert all(r is index.fail_with for r in results)


async def test_reconcile_index_indexes_what_no_announcement_brought(store, caplog):
    caplog.set_level(logging.INFO, logger="pessoas.application.use_cases")
    forgotten = [make_pessoa(nome="Esquecida") for _ in range(2)]
    await store.add_many(forgotten)
    index = SpyIndex(store)
    reconcile = ReconcileIndex(index)
    assert await reconcile() == 2
    assert index.missing_passes == 1
    assert index.calls == []  # a pass, not an announcement
    assert {p.id for p in await store.search("esquecida", 50)} == {p.id for p in forgotten}
    assert [r.getMessage() for r in caplog.records] == [
        "indexed 2 committed pessoas that no announcement had brought"
    ]
    caplog.clear()
    assert await reconcile() == 0
    assert index.missing_passes == 2
    assert caplog.records == []  # nothing found: nothing to say


# --- the previous version's queued pessoas ------------------------------------------------------


async def test_pessoas_queued_by_the_previous_version_are_stored_and_searchable(store):
    from pessoas.application.use_cases import StoreQueuedPessoas

    pessoas = [make_pessoa(apelido=f"fila{i}") for i in range(3)]
    stored = await StoreQueuedPessoas(store, store, store)(pessoas)
    assert stored == 3
    assert await store.count() == 3
    assert {p.id for p in await store.search("fila", 50)} == {p.id for p in pessoas}


async def test_a_redelivered_queued_pessoa_is_stored_once_and_not_reported(store, caplog):
    from pessoas.application.use_cases import StoreQueuedPessoas

    pessoa = make_pessoa(apelido="repetida")
    store_queued = StoreQueuedPessoas(store, store, store)
    assert await store_queued([pessoa]) == 1
    with caplog.at_level(logging.ERROR):
        assert await store_queued([pessoa]) == 0
    assert await store.count() == 1
    assert caplog.records == []


async def test_a_queued_pessoa_whose_apelido_was_taken_meanwhile_is_reported_by_name(store, caplog):
    from pessoas.application.use_cases import StoreQueuedPessoas

    taken = make_pessoa(apelido="tomada")
    await store.add_many([taken])
    promised = make_pessoa(apelido="tomada")
    with caplog.at_level(logging.ERROR):
        assert await StoreQueuedPessoas(store, store, store)([promised]) == 0
    assert str(promised.id) in caplog.text and "'tomada'" in caplog.text
