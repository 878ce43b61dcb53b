"""Which parts of an EMQX v3beta1 ``spec.config.roots`` take effect only when EMQX starts.

Operator 3.0 splits the roots in two (``config.SplitRoots`` in the operator's ``internal/controller``):
runtime roots go to the EMQX REST API and apply at once; startup roots are rendered into the pods'
configuration, so changing or removing one rolls every pod (``ConfigApplied`` False
``StartupConfigPending`` "Configuration roots require rolling restart: [paths]", then ``Applied``).

The list below is the operator's read-only set (``StripReadOnlyConfig`` in
``internal/controller/config/emqx.go``: ``node``, ``rpc``, ``durable_sessions``, ``durable_storage``,
and every ``cluster.*`` key except ``cluster.links``) plus ``dashboard``, which the 3.0 documentation's
example ("Configuration roots require rolling restart: [dashboard]") shows as startup-only. The 3.0
``SplitRoots`` source was not available to read; this is the console's and the simulator's one copy
of the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["RUNTIME_CLUSTER_KEYS", "STARTUP_ROOTS", "changed_startup_paths", "startup_paths"]

STARTUP_ROOTS: tuple[str, ...] = ("node", "rpc", "durable_sessions", "durable_storage", "dashboard", "cluster")
"""Top-level keys of ``spec.config.roots`` that take effect only at EMQX start (see the module docstring)."""

RUNTIME_CLUSTER_KEYS: frozenset[str] = frozenset({"links"})
"""Keys under ``cluster`` that EMQX changes at runtime (``cluster.links``); the rest of ``cluster`` is startup-only."""


def startup_paths(roots: Mapping[str, Any] | None) -> dict[str, Any]:
    """The startup part of ``roots``: ``{path: value}`` with paths ``node``, ``dashboard``, ...,
    and ``cluster.<key>`` per startup key under ``cluster``. A non-mapping ``roots`` has none."""
    if not isinstance(roots, Mapping):
        return {}
    found: dict[str, Any] = {}
    for root in STARTUP_ROOTS:
        if root not in roots:
            continue
        value = roots[root]
        if root == "cluster" and isinstance(value, Mapping):
            for key, sub in value.items():
                if key not in RUNTIME_CLUSTER_KEYS:
                    found[f"cluster.{key}"] = sub
        else:
            found[root] = value
    return found


def changed_startup_paths(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """The startup paths whose value differs between two ``spec.config.roots`` (added, changed or
    removed), sorted: what a save would restart every pod for. Empty when only runtime roots changed."""
    old, new = startup_paths(before), startup_paths(after)
    return sorted(path for path in old.keys() | new.keys() if old.get(path, _MISSING) != new.get(path, _MISSING))


_MISSING = object()
