"""The PostgreSQL pools' connection settings: defaults that bound waits, and the operator's URL wins."""

from __future__ import annotations

from pessoas.container.postgres import CONNECT_TIMEOUT_S, POOL_WAIT_S, PostgresStorage
from pessoas.settings import Settings


def _storage(**settings: str) -> PostgresStorage:
    return PostgresStorage(settings=Settings(**settings))


def test_the_pools_bound_connection_attempts_and_waits_by_default() -> None:
    storage = _storage(
        database_url="postgresql://pessoas@primary/pessoas",
        database_read_url="postgresql://pessoas@standby/pessoas",
    )
    for pool in (storage.pool(), storage.standby_pool()):
        assert pool.kwargs["connect_timeout"] == CONNECT_TIMEOUT_S
        assert pool.kwargs["autocommit"] is True
        assert pool.timeout == POOL_WAIT_S


def test_a_connect_timeout_in_the_url_is_not_overridden() -> None:
    storage = _storage(
        database_url="postgresql://pessoas@primary/pessoas?connect_timeout=11",
        database_read_url="host=standby dbname=pessoas connect_timeout=12",
    )
    assert "connect_timeout" not in storage.pool().kwargs
    assert "connect_timeout" not in storage.standby_pool().kwargs
    assert "connect_timeout=11" in storage.pool().conninfo


def test_without_a_read_url_there_is_no_standby_pool() -> None:
    assert _storage(database_url="postgresql://pessoas@primary/pessoas").standby_pool() is None
