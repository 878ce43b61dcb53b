"""Retrying optimistic-concurrency conflicts, as client-go's ``k8s.io/client-go/util/retry``.

The usual read-modify-write loop::

    def bump() -> EMQX:
        emqx = client.get("broker")
        emqx.spec.image = "emqx/emqx:5.8.1"
        return client.update(emqx)

    updated = retry_on_conflict(bump)

``fn`` must re-read the object on every call: a Conflict means the copy it holds is stale.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from emqx.errors import Conflict

__all__ = ["DEFAULT_BACKOFF", "DEFAULT_RETRY", "Backoff", "on_error", "retry_on_conflict"]

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Backoff:
    """``wait.Backoff``: at most ``steps`` calls; the pause starts at ``duration`` seconds and
    is multiplied by ``factor`` after each step (capped at ``cap`` seconds when set, which
    also ends the steps, as in client-go); each pause gets up to ``jitter`` x itself added."""

    duration: float
    factor: float = 1.0
    jitter: float = 0.0
    steps: int = 1
    cap: float = 0.0

    def delays(self) -> list[float]:
        """The pauses between calls, without jitter (``steps - 1`` of them at most)."""
        return _schedule(self, jitter=False)


# retry.DefaultRetry: for conflicts, which are usually cleared by one quick re-read.
DEFAULT_RETRY = Backoff(steps=5, duration=0.010, factor=1.0, jitter=0.1)
# retry.DefaultBackoff: for errors that need the server to settle first.
DEFAULT_BACKOFF = Backoff(steps=4, duration=0.010, factor=5.0, jitter=0.1)


def _schedule(backoff: Backoff, *, jitter: bool = True) -> list[float]:
    """Replays ``wait.ExponentialBackoff``: the pause before each call after the first.

    client-go calls at most ``steps`` times. When ``cap`` is reached it sets the remaining
    steps to zero, so no call follows that pause; we skip that useless last sleep.
    """
    pauses: list[float] = []
    steps, duration = backoff.steps, backoff.duration
    while steps > 1:  # client-go breaks on the last step instead of sleeping (Steps == 1)
        steps -= 1
        pause = duration
        if backoff.factor != 0:
            duration = duration * backoff.factor
            if backoff.cap > 0 and duration > backoff.cap:
                duration, steps = backoff.cap, 0
        if steps == 0:
            break
        if jitter and backoff.jitter > 0:
            pause += random.random() * backoff.jitter * pause
        pauses.append(pause)
    return pauses


def on_error(
    fn: Callable[[], R],
    *,
    retriable: Callable[[BaseException], bool],
    backoff: Backoff = DEFAULT_BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> R:
    """``retry.OnError``: call ``fn`` until it returns, raises something ``retriable`` rejects,
    or ``backoff.steps`` calls have failed; then the last retriable error is re-raised."""
    if backoff.steps < 1:
        raise ValueError("backoff.steps must be at least 1")
    pauses = iter(_schedule(backoff))
    while True:
        try:
            return fn()
        except Exception as error:
            if not retriable(error):
                raise
            pause = next(pauses, None)
            if pause is None:
                raise
            sleep(pause)


def retry_on_conflict(
    fn: Callable[[], R],
    *,
    backoff: Backoff = DEFAULT_RETRY,
    sleep: Callable[[float], None] = time.sleep,
) -> R:
    """``retry.RetryOnConflict``: call ``fn`` again while it raises :class:`~emqx.errors.Conflict`,
    pausing as ``backoff`` says (default: 5 calls, 10 ms apart, 10 % jitter). Returns ``fn``'s
    result; any other error propagates at once; after the last step the last Conflict is raised."""
    return on_error(fn, retriable=lambda e: isinstance(e, Conflict), backoff=backoff, sleep=sleep)
