"""A deadline for calls that cannot be given a timeout of their own.

The kubernetes package runs a kubeconfig's credential plugin (``users[].user.exec``) with
``subprocess.Popen(...).communicate()`` and no timeout, when the kubeconfig is loaded and again
whenever the token expires. A plugin that hangs (an SSO helper waiting for a browser, a cloud CLI
without network) would hang the caller forever. :func:`call_with_deadline` runs such a call on a
daemon thread and gives up waiting after a deadline. The stuck thread cannot be killed; at most
one per key is ever started: a caller that comes while one is still running waits for that one
(and gives up at its own deadline) instead of starting another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

__all__ = ["DeadlineExceeded", "call_with_deadline"]

R = TypeVar("R")

_lock = threading.Lock()
_running: dict[str, Future[Any]] = {}


class DeadlineExceeded(TimeoutError):
    """The call did not return within its deadline. ``str()`` names what was waited for."""


def call_with_deadline(key: str, fn: Callable[[], R], seconds: float, *, what: str) -> R:
    """``fn()``, or DeadlineExceeded when it has not returned after ``seconds`` (a float, > 0).

    ``key`` identifies the resource the call uses (a kubeconfig and context): while a call for
    the same key is still running, a second one waits for its result instead of starting another
    (so a hung plugin holds one thread, not one per request). ``what`` words the error
    ("the credential plugin of kubeconfig …"). Re-raises what ``fn`` raises."""
    with _lock:
        future = _running.get(key)
        if future is None or future.done():
            future = Future()
            _running[key] = future
            starter = True
        else:
            starter = False
    if starter:
        thread = threading.Thread(target=_run, args=(key, fn, future), name=f"deadline:{key[:40]}", daemon=True)
        thread.start()
    try:
        result: R = future.result(timeout=seconds)
    except FutureTimeout:
        raise DeadlineExceeded(f"{what} did not answer within {seconds:g} s") from None
    return result


def _run(key: str, fn: Callable[[], Any], future: Future[Any]) -> None:
    try:
        future.set_result(fn())
    except BaseException as error:  # handed to every waiter
        future.set_exception(error)
    finally:
        with _lock:
            if _running.get(key) is future:
                del _running[key]
