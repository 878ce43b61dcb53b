"""Tests of the status simulator (sandbox/operator), the demo seed and the demo command.

Shared helpers live here. Tests drive the simulator one reconcile at a time
(``Simulator.reconcile_object``) to assert exact condition sequences, or run it in the
background and wait on observed state with a deadline, never on a fixed sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from emqx.client import Clientset
from emqx.events import Event, EventsClient
from emqx.models._base import Resource
from sandbox.operator import Simulator

T = TypeVar("T")

FAST = 0.05
"""Pace (seconds per pod) for simulators running in the background in tests."""


def wait_for(probe: Callable[[], T | None], *, timeout: float = 30.0, interval: float = 0.05, what: str = "") -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or probe}; last value {last!r}")


def types_of(obj: Any) -> list[str]:
    """Condition types as stored (newest first)."""
    status = getattr(obj, "status", None)
    return [c.type for c in (status.conditions or [])] if status is not None else []


def head(obj: Any) -> tuple[str, str | None] | None:
    """The current state: the first True condition's (type, reason)."""
    status = getattr(obj, "status", None)
    for condition in (status.conditions or []) if status is not None else []:
        if condition.status == "True":
            return condition.type, condition.reason
    return None


def drive(
    sim: Simulator, kind: str, obj: Resource, get: Callable[[], Any], *, until: Callable[[Any], bool], limit: int = 40
) -> list[Any]:
    """Reconcile ``obj`` one step at a time until ``until(current)``; returns the object as
    read after each status write (the states a watcher would have seen)."""
    seen: list[Any] = []
    current = get()
    for _ in range(limit):
        if until(current):
            return seen
        if sim.reconcile_object(kind, str(obj.metadata.namespace), str(obj.metadata.name)):
            current = get()
            seen.append(current)
    raise AssertionError(f"{kind} {obj.metadata.name} did not get there in {limit} reconciles: {head(current)}")


def heads(states: list[Any]) -> list[tuple[str, str | None] | None]:
    """The distinct current states, in order (consecutive repeats folded)."""
    result: list[tuple[str, str | None] | None] = []
    for state in states:
        h = head(state)
        if not result or result[-1] != h:
            result.append(h)
    return result


def events_of(cs: Clientset, obj: Resource) -> list[Event]:
    """The Events about ``obj``, oldest first (the recorder names them ``<object>.<hex ns>``)."""
    items = EventsClient(cs.transport, str(obj.metadata.namespace)).list(involved_object=obj).items
    return sorted(items, key=lambda e: e.metadata.name or "")
