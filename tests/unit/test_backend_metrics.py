"""The metrics wrappers: failures by component and operation, creations by outcome, what was indexed."""

import uuid

import pytest
from prometheus_client import REGISTRY

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.adapters.prometheus_metrics import (
    CountedCreations,
    CountedSearchIndex,
    TimedWriter,
    counting,
    observe_announcement,
)
from pessoas.domain.errors import (
    ApelidoTaken,
    InvalidPessoa,
    StorageUnavailable,
    StorageUncertain,
    UnreadablePessoa,
)
from tests.contracts.pessoas_factory import make_pessoa


def _value(name, labels=None):
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def _errors(component, operation):
    return _value("pessoas_backend_errors_total", {"component": component, "operation": operation})


def _creations(outcome, reason=""):
    return _value("pessoas_creations_total", {"outcome": outcome, "reason": reason})


class Down:
    """Every call of any port fails as a service that is down does."""

    def __init__(self, error=None):
        self._error = error if error is not None else StorageUnavailable("down")

    def __getattr__(self, name):
        async def fail(*args):
            raise self._error

        return fail


# --- counting(): failures of any port's adapter ------------------------------------------------


async def test_a_failed_call_is_counted_under_its_component_and_operation():
    before = (_errors("storage", "search"), _errors("queue", "announce"), _errors("cache", "get"))
    with pytest.raises(StorageUnavailable):
        await counting(Down(), "storage").search("a", 50)
    with pytest.raises(StorageUncertain):
        await counting(Down(StorageUncertain("unconfirmed")), "queue").announce([uuid.uuid4()])
    with pytest.raises(StorageUnavailable):
        await counting(Down(), "cache").get(uuid.uuid4())
    assert (_errors("storage", "search"), _errors("queue", "announce"), _errors("cache", "get")) == tuple(
        value + 1 for value in before
    )


async def test_each_failure_counts_once_and_is_raised_unchanged():
    failure = StorageUnavailable("redis down")
    cache = counting(Down(failure), "cache")
    before = _errors("cache", "holds_apelido")
    for _ in range(3):
        with pytest.raises(StorageUnavailable) as raised:
            await cache.holds_apelido("ana")
        assert raised.value is failure
    assert _errors("cache", "holds_apelido") == before + 3
    assert _errors("storage", "holds_apelido") == 0  # only under its own component


async def test_results_pass_through_and_successes_are_not_counted():
    store = InMemoryPessoaStore()
    counted = counting(store, "storage")
    pessoa = make_pessoa(apelido="contada")
    before = (_errors("storage", "add_many"), _errors("storage", "get"), _errors("storage", "index"))
    assert await counted.add_many([pessoa]) == {pessoa.id}
    assert await counted.get(pessoa.id) == pessoa
    assert await counted.index([pessoa.id]) == 1
    assert await counted.search("contada", 50) == [pessoa]
    assert await counted.count() == 1
    assert (_errors("storage", "add_many"), _errors("storage", "get"), _errors("storage", "index")) == before


async def test_other_exceptions_pass_through_uncounted():
    before = _errors("storage", "add_many")
    with pytest.raises(RuntimeError):
        await counting(Down(RuntimeError("a bug")), "storage").add_many([])
    assert _errors("storage", "add_many") == before


def test_what_is_not_a_coroutine_method_is_the_inner_objects_own():
    cache = InMemoryPessoaCache()
    counted = counting(cache, "cache")
    assert counted.forget_everything == cache.forget_everything
    counted.forget_everything()  # a plain method still works through the proxy


# --- CountedCreations: each creation's outcome -------------------------------------------------


def _creation(outcome):
    async def create(body):
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return create


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (UnreadablePessoa("nome: not a string"), "unreadable"),
        (ApelidoTaken("apelido 'ana' is already taken"), "apelido_taken"),
        (InvalidPessoa("nascimento: not a date"), "invalid"),
        (StorageUnavailable("database down"), "storage_unavailable"),
        (StorageUncertain("commit unconfirmed"), "storage_uncertain"),
    ],
)
async def test_a_refused_creation_is_counted_by_its_reason(error, reason):
    reasons = ["unreadable", "apelido_taken", "invalid", "storage_unavailable", "storage_uncertain"]
    before = {r: _creations("refused", r) for r in reasons}
    committed = _creations("committed")
    with pytest.raises(type(error)) as raised:
        await CountedCreations(_creation(error))({})
    assert raised.value is error
    after = {r: _creations("refused", r) for r in reasons}
    assert after == {r: before[r] + (1 if r == reason else 0) for r in reasons}
    assert _creations("committed") == committed


async def test_a_committed_creation_is_counted_and_returned():
    pessoa = make_pessoa()
    committed = _creations("committed")
    assert await CountedCreations(_creation(pessoa))({}) is pessoa
    assert _creations("committed") == committed + 1


async def test_an_unexpected_error_is_raised_and_not_counted_as_a_refusal():
    before = sum(
        _creations("refused", r)
        for r in ["unreadable", "apelido_taken", "invalid", "storage_unavailable", "storage_uncertain"]
    )
    committed = _creations("committed")
    with pytest.raises(RuntimeError):
        await CountedCreations(_creation(RuntimeError("a bug")))({})
    after = sum(
        _creations("refused", r)
        for r in ["unreadable", "apelido_taken", "invalid", "storage_unavailable", "storage_uncertain"]
    )
    assert after == before
    assert _creations("committed") == committed


async def test_the_counted_creation_still_settles():
    class Settling:
        settled = False

        async def __call__(self, body):
            raise AssertionError

        async def settle(self):
            self.settled = True

    inner = Settling()
    await CountedCreations(inner).settle()
    assert inner.settled


# --- TimedWriter and CountedSearchIndex: what storage did -----------------------------------


async def test_the_timed_writer_observes_each_transaction_and_returns_what_was_stored():
    ticks = iter([10.0, 10.25, 20.0, 20.5])
    writer = TimedWriter(InMemoryPessoaStore(), clock=lambda: next(ticks))
    sizes, size_sum = _value("pessoas_commit_batch_size_count"), _value("pessoas_commit_batch_size_sum")
    seconds = _value("pessoas_commit_seconds_sum")
    pessoas = [make_pessoa() for _ in range(3)]
    assert await writer.add_many(pessoas) == {p.id for p in pessoas}
    assert await writer.add_many(pessoas) == set()  # already stored: a transaction all the same
    assert _value("pessoas_commit_batch_size_count") == sizes + 2
    assert _value("pessoas_commit_batch_size_sum") == size_sum + 6
    assert _value("pessoas_commit_seconds_sum") == pytest.approx(seconds + 0.75)


async def test_the_counted_search_index_counts_each_path():
    store = InMemoryPessoaStore()
    index = CountedSearchIndex(store)
    announced, reconciled = (
        _value("pessoas_indexed_total", {"path": "announced"}),
        _value("pessoas_indexed_total", {"path": "reconciled"}),
    )
    first, second, third = (make_pessoa() for _ in range(3))
    await store.add_many([first, second, third])
    assert await index.index([first.id, second.id]) == 2
    assert await index.index([first.id]) == 0
    assert await index.index_missing() == 1  # third: never announced
    assert _value("pessoas_indexed_total", {"path": "announced"}) == announced + 2
    assert _value("pessoas_indexed_total", {"path": "reconciled"}) == reconciled + 1


def test_each_announcement_observes_its_size():
    count, total = _value("pessoas_announcement_size_count"), _value("pessoas_announcement_size_sum")
    observe_announcement(7)
    observe_announcement(1)
    assert _value("pessoas_announcement_size_count") == count + 2
    assert _value("pessoas_announcement_size_sum") == total + 8
