"""Results remembered by what they were computed from: one bounded, thread-safe LRU per use.

A poll that finds its inputs unchanged reads the last answer instead of computing it again: the dashboards'
counts (console.views.dashboard.FLEET) and the status panels' HTML (console.rendered.STATUS_PANELS). Keys
name their inputs exactly, so a change in any input is a new key, never a stale answer; the least recently
read keys go first once ``size`` are kept. Per process: values are computed from this process's caches.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

__all__ = ["Remembered"]


class Remembered(Generic[V]):
    """A bounded LRU of values by key (``size`` entries). ``computations`` counts the values computed
    (the misses), for tests and metrics."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self.computations = 0

    def get(self, key: Hashable | None, compute: Callable[[], V], *, keep: Callable[[V], bool] | None = None) -> V:
        """The value remembered under ``key``, or else ``compute()``'s, remembered unless ``key`` is None
        or ``keep(value)`` says no (a value holding something of one request's own). ``compute`` runs
        outside the lock: two callers missing at once may each compute the value."""
        if key is not None:
            with self._lock:
                if key in self._values:
                    self._values.move_to_end(key)
                    return self._values[key]
        value = compute()
        with self._lock:
            self.computations += 1
            if key is not None and (keep is None or keep(value)):
                self._values[key] = value
                self._values.move_to_end(key)
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()
