"""A 5xx's cause reaches the operator's log: once per kind of reason and interval, with a count."""

import logging

import pytest

from pessoas.domain.errors import StorageUnavailable
from pessoas.entrypoints.http.refusal_log import RefusalLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _unavailable(text: str, cause: Exception) -> StorageUnavailable:
    try:
        raise StorageUnavailable(text) from cause
    except StorageUnavailable as exc:
        return exc


class Lines:
    """The refusal log's records so far (the capture's list is replaced at each test phase)."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog

    def __getitem__(self, index: int) -> logging.LogRecord:
        return self._records()[index]

    def __len__(self) -> int:
        return len(self._records())

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self._records()]

    def _records(self) -> list[logging.LogRecord]:
        return [r for r in self._caplog.records if r.name == "pessoas.refusals"]


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> Lines:
    caplog.set_level(logging.WARNING, logger="pessoas.refusals")
    return Lines(caplog)


def test_the_first_refusal_is_logged_with_its_whole_cause(lines):
    RefusalLog(clock=Clock()).refused(503, _unavailable("Redis is unavailable", OSError("max clients")))
    assert lines.messages() == [
        "answered 503: StorageUnavailable: Redis is unavailable <- OSError: max clients"
    ]
    assert lines[0].status == 503


def test_one_line_per_reason_and_interval_telling_how_many_it_stands_for(lines):
    clock = Clock()
    log = RefusalLog(interval=10.0, clock=clock)
    for n in range(5):
        # Texts differ (message ids): still one kind of reason.
        log.refused(503, _unavailable(f"message {n} not taken", OSError("refused")))
    assert len(lines) == 1
    clock.now += 9.9
    log.refused(503, _unavailable("message 5 not taken", OSError("refused")))
    assert len(lines) == 1
    clock.now += 0.2  # over 10 s since the last line
    log.refused(503, _unavailable("message 6 not taken", OSError("refused")))
    assert len(lines) == 2
    assert lines[1].getMessage().endswith("(5 more since the last such line)")
    assert lines[1].refusals == 6


def test_another_reason_or_status_has_its_own_line(lines):
    log = RefusalLog(clock=Clock())
    log.refused(503, _unavailable("x", OSError("a")))
    log.refused(503, _unavailable("x", TimeoutError("b")))
    log.refused(503, StorageUnavailable("no cause"))
    log.refused(500, StorageUnavailable("no cause"))
    assert len(lines) == 4
