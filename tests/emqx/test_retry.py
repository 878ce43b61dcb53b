"""retry_on_conflict behaves as client-go's retry.RetryOnConflict (no cluster needed: the
function under retry is ours, the errors are the typed ones the client raises)."""

from __future__ import annotations

import pytest

from emqx.errors import AlreadyExists, Conflict, Status
from emqx.retry import DEFAULT_BACKOFF, DEFAULT_RETRY, Backoff, retry_on_conflict


def _conflict() -> Conflict:
    return Conflict(Status(code=409, reason="Conflict", message="the object has been modified"))


class Recorder:
    def __init__(self, failures: list[Exception], result: str = "done") -> None:
        self.failures = failures
        self.calls = 0
        self.result = result

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.result


def test_default_retry_is_client_gos_default_retry() -> None:
    assert Backoff(steps=5, duration=0.010, factor=1.0, jitter=0.1) == DEFAULT_RETRY
    assert Backoff(steps=4, duration=0.010, factor=5.0, jitter=0.1) == DEFAULT_BACKOFF


def test_it_returns_the_result_without_sleeping_when_fn_succeeds() -> None:
    sleeps: list[float] = []
    fn = Recorder([])
    assert retry_on_conflict(fn, sleep=sleeps.append) == "done"
    assert fn.calls == 1
    assert sleeps == []


def test_it_retries_conflicts_until_fn_succeeds() -> None:
    sleeps: list[float] = []
    fn = Recorder([_conflict(), _conflict()])
    assert retry_on_conflict(fn, sleep=sleeps.append) == "done"
    assert fn.calls == 3
    assert len(sleeps) == 2
    assert all(0.010 <= s <= 0.011 for s in sleeps)  # 10 ms plus at most 10 % jitter


def test_it_calls_fn_at_most_steps_times_and_raises_the_last_conflict() -> None:
    sleeps: list[float] = []
    conflicts = [_conflict() for _ in range(10)]
    last = conflicts[4]
    fn = Recorder(conflicts)
    with pytest.raises(Conflict) as raised:
        retry_on_conflict(fn, sleep=sleeps.append)
    assert fn.calls == 5
    assert len(sleeps) == 4  # no pause after the last call
    assert raised.value is last


def test_it_does_not_retry_other_errors() -> None:
    fn = Recorder([AlreadyExists(Status(code=409, reason="AlreadyExists")), _conflict()])
    with pytest.raises(AlreadyExists):
        retry_on_conflict(fn, sleep=lambda s: None)
    assert fn.calls == 1


def test_it_does_not_retry_plain_exceptions() -> None:
    fn = Recorder([KeyError("x")])
    with pytest.raises(KeyError):
        retry_on_conflict(fn, sleep=lambda s: None)
    assert fn.calls == 1


def test_backoff_factor_grows_the_pauses_and_cap_ends_the_steps() -> None:
    assert Backoff(duration=0.01, factor=5.0, steps=4).delays() == pytest.approx([0.01, 0.05, 0.25])
    # client-go: reaching the cap sets the remaining steps to zero, so no further call follows
    assert Backoff(duration=1.0, factor=2.0, steps=10, cap=5.0).delays() == pytest.approx([1.0, 2.0])


def test_a_custom_backoff_gives_more_attempts() -> None:
    fn = Recorder([_conflict() for _ in range(7)])
    assert retry_on_conflict(fn, backoff=Backoff(duration=0.0, steps=8), sleep=lambda s: None) == "done"
    assert fn.calls == 8
