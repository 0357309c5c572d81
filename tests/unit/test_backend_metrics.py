"""The metrics wrapper of the ports: failures by component and operation, and what the observed
methods did (commits, pessoas indexed by path); creations by outcome."""

import uuid

import pytest
from prometheus_client import REGISTRY

from pessoas.adapters.memory_cache import InMemoryPessoaCache
from pessoas.adapters.memory_store import InMemoryPessoaStore
from pessoas.adapters.prometheus_metrics import (
    CountedCreations,
    observe_announced_indexed,
    observe_announcement,
    observe_commit,
    observe_reconciled_indexed,
    observed,
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


# --- observed(): failures of any port's adapter ------------------------------------------------


async def test_a_failed_call_is_counted_under_its_component_and_operation():
    before = (_errors("storage", "search"), _errors("queue", "announce"), _errors("cache", "get"))
    with pytest.raises(StorageUnavailable):
        await observed(Down(), "storage").search("a", 50)
    with pytest.raises(StorageUncertain):
        await observed(Down(StorageUncertain("unconfirmed")), "queue").announce([uuid.uuid4()])
    with pytest.raises(StorageUnavailable):
        await observed(Down(), "cache").get(uuid.uuid4())
    assert (_errors("storage", "search"), _errors("queue", "announce"), _errors("cache", "get")) == tuple(
        value + 1 for value in before
    )


async def test_each_failure_counts_once_and_is_raised_unchanged():
    failure = StorageUnavailable("redis down")
    cache = observed(Down(failure), "cache")
    before = _errors("cache", "holds_apelido")
    for _ in range(3):
        with pytest.raises(StorageUnavailable) as raised:
            await cache.holds_apelido("ana")
        assert raised.value is failure
    assert _errors("cache", "holds_apelido") == before + 3
    assert _errors("storage", "holds_apelido") == 0  # only under its own component


async def test_results_pass_through_and_successes_are_not_counted():
    store = InMemoryPessoaStore()
    counted = observed(store, "storage")
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
        await observed(Down(RuntimeError("a bug")), "storage").add_many([])
    assert _errors("storage", "add_many") == before


def test_what_is_not_a_coroutine_method_is_the_inner_objects_own():
    cache = InMemoryPessoaCache()
    counted = observed(cache, "cache")
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


# --- observed() with observers: what storage did ------------------------------------------------


async def test_an_observer_is_told_each_successful_call_with_its_result_duration_and_arguments():
    calls = []
    store = InMemoryPessoaStore()
    writer = observed(store, "storage", add_many=lambda *seen, **named: calls.append((seen, named)))
    pessoa = make_pessoa()
    assert await writer.add_many([pessoa]) == {pessoa.id}
    assert await writer.add_many(pessoas=[pessoa]) == set()
    with pytest.raises(StorageUnavailable):
        await observed(Down(), "storage", add_many=lambda *seen: calls.append(seen)).add_many([pessoa])
    (result, seconds, pessoas), named = calls[0]
    assert (result, pessoas, named) == ({pessoa.id}, [pessoa], {})
    assert 0 <= seconds < 1
    assert calls[1][0][0] == set()
    assert calls[1][1] == {"pessoas": [pessoa]}
    assert len(calls) == 2  # the failed call is counted, not observed


def test_observing_a_method_the_adapter_lacks_fails_at_once():
    with pytest.raises(TypeError, match="add_mnay"):
        observed(InMemoryPessoaStore(), "storage", add_mnay=observe_commit)


async def test_each_commit_observes_its_size_and_duration():
    writer = observed(InMemoryPessoaStore(), "storage", add_many=observe_commit)
    sizes, size_sum = _value("pessoas_commit_batch_size_count"), _value("pessoas_commit_batch_size_sum")
    durations = _value("pessoas_commit_seconds_count")
    pessoas = [make_pessoa() for _ in range(3)]
    assert await writer.add_many(pessoas) == {p.id for p in pessoas}
    assert await writer.add_many(pessoas) == set()  # already stored: a transaction all the same
    assert _value("pessoas_commit_batch_size_count") == sizes + 2
    assert _value("pessoas_commit_batch_size_sum") == size_sum + 6
    assert _value("pessoas_commit_seconds_count") == durations + 2
    observe_commit(set(), 0.25, pessoas)
    assert _value("pessoas_commit_seconds_bucket", {"le": "0.25"}) >= 1


async def test_the_pessoas_indexed_are_counted_by_path():
    store = InMemoryPessoaStore()
    index = observed(
        store, "storage", index=observe_announced_indexed, index_missing=observe_reconciled_indexed
    )
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
