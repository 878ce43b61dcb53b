"""The audit trail: exactly one entry per mutation attempt, failures included.

Call :func:`record` right after the write (create, update, scale, delete) returns or raises.
Dry-runs are not mutations and are not recorded.
"""

from __future__ import annotations

import difflib
from typing import Any

from django.http import HttpRequest

from console import diffs
from console.models import AuditEntry


def _clean(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """The object without bookkeeping the server changes on every write and the status."""
    return None if obj is None else diffs.without(obj, *diffs.BOOKKEEPING, status=True)


def spec_diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """A unified YAML diff of two objects (bookkeeping fields and status left out)."""

    def lines(obj: dict[str, Any] | None) -> list[str]:
        return [] if obj is None else diffs.dump(_clean(obj), sort_keys=True).splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(before), lines(after), "before", "after"))


def record(
    request: HttpRequest,
    *,
    cluster: str,
    action: str,
    kind: str,
    namespace: str,
    name: str,
    outcome: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    error: str = "",
) -> AuditEntry:
    """Write one audit entry for a mutation attempt. ``before``/``after`` are the object's
    JSON documents (``to_dict()``); ``outcome`` is ``"success"`` or ``"failure"``."""
    user = request.user if request.user.is_authenticated else None
    return AuditEntry.objects.create(
        user=user,
        username=user.get_username() if user is not None else "",
        cluster=cluster,
        namespace=namespace,
        kind=kind,
        name=name,
        action=action,
        outcome=outcome,
        error=error,
        request_id=getattr(request, "request_id", ""),
        diff=spec_diff(before, after),
        before=_clean(before),
        after=_clean(after),
    )
