"""An object's history: its audit entries and its recorded condition changes, in one time line.

Django admin's object history (``ModelAdmin.history_view``) lists the ``LogEntry`` rows of one
object. Here an object has two records, both in the console's database, both kept after the
object is deleted:

- :class:`~console.models.AuditEntry`: every write made through the console (who, when, the
  action, how it ended, the diff, redacted when it was recorded: console/audit.py);
- :class:`~console.models.ConditionTransition`: every change of a status condition this console
  saw (console/timeline.py; only kinds whose admin declares ``has_timeline``).

Both are found by (cluster, kind, namespace, name), so the history of a name also holds what
happened to an earlier object of the same name (a deleted and re-created instance): the page
marks condition changes of another uid as such.

**Order.** An audit entry's ``time`` has microseconds and is taken before the write; a
condition's time is its ``lastTransitionTime``, which Kubernetes keeps in whole seconds
(metav1.Time serializes as RFC 3339 without fractions). A condition the operator set in answer to
an edit made at 12:00:00.700 reads 12:00:00, before the edit. So a condition change is placed at
:func:`happened_at`: within its second, when this console saw it (``observed_at``, microseconds),
which for a change seen live is a few milliseconds after it happened; seen only after its second
was over, at the end of that second (the operator answers edits: a change in the same second as
an edit is more likely its answer than its cause).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from console.diffs import DiffLine, parse_unified
from console.models import AuditEntry, ConditionTransition

__all__ = ["PAGE_SIZE", "HistoryItem", "ObjectHistory", "happened_at"]

PAGE_SIZE = 50
"""Items (audit entries and condition changes together) per page, as the audit page's 50."""

_SECOND = dt.timedelta(seconds=1)
_TICK = dt.timedelta(microseconds=1)


def happened_at(at: dt.datetime, observed_at: dt.datetime | None) -> dt.datetime:
    """When a condition change most likely happened, within the second ``at`` (its
    lastTransitionTime, whole seconds) names: when this console saw it (``observed_at``) if that
    falls in the second; the last microsecond of the second if the console saw it later (a late
    watch event, a change found in place); ``at`` if earlier (clocks that disagree) or unknown."""
    if observed_at is None or observed_at < at:
        return at
    return min(observed_at, at + _SECOND - _TICK)


@dataclass(frozen=True)
class HistoryItem:
    """One line of the history: an audit entry or a condition change (exactly one is set)."""

    at: dt.datetime
    """When it happened (:func:`happened_at` for a condition change)."""
    entry: AuditEntry | None = None
    transition: ConditionTransition | None = None

    @property
    def source(self) -> Literal["audit", "condition"]:
        return "audit" if self.entry is not None else "condition"

    @property
    def diff(self) -> list[DiffLine]:
        """The audit entry's diff as lines (stored redacted: console/audit.py); [] for none."""
        return parse_unified(self.entry.diff) if self.entry is not None and self.entry.diff else []


# (when, source rank, id): the sort key of one item. At the very same instant (rare: a condition
# change found in place, placed at its whole second) the audit entry sorts as the newer.
_Key = tuple[dt.datetime, int, int]
_AUDIT, _CONDITION = 1, 0


class ObjectHistory:
    """The history of the object ``namespace/name`` of ``kind`` in ``cluster``, newest first.

    Reads only the console's database (never the cluster): it answers for an object that no
    longer exists and for a cluster that does not answer."""

    def __init__(self, cluster: str, kind: str, namespace: str, name: str) -> None:
        where = {"cluster": cluster, "kind": kind, "namespace": namespace, "name": name}
        self.entries: QuerySet[AuditEntry] = AuditEntry.objects.filter(**where)
        self.transitions: QuerySet[ConditionTransition] = ConditionTransition.objects.filter(**where)

    def exists(self) -> bool:
        """Whether anything at all is recorded about this name."""
        return self.entries.exists() or self.transitions.exists()

    def deletion(self) -> AuditEntry | None:
        """The newest successful delete made through the console, if any."""
        return self.entries.filter(action="delete", outcome=AuditEntry.Outcome.SUCCESS).order_by("-time", "-id").first()

    def _keys(self) -> list[_Key]:
        # Only (time, id) of each row: an object's history can be long, a page holds PAGE_SIZE items.
        keys: list[_Key] = [(time, _AUDIT, pk) for time, pk in self.entries.values_list("time", "id")]
        keys += [
            (happened_at(at, observed), _CONDITION, pk)
            for at, observed, pk in self.transitions.values_list("at", "observed_at", "id")
        ]
        keys.sort(reverse=True)
        return keys

    def page(self, number: str | int | None) -> Page[HistoryItem]:
        """One page of :data:`PAGE_SIZE` items, newest first; an invalid or out-of-range
        ``number`` gives the first or the last page (Paginator.get_page)."""
        keys_page = Paginator(self._keys(), PAGE_SIZE).get_page(number)
        keys: Sequence[_Key] = list(keys_page.object_list)
        entries = AuditEntry.objects.in_bulk([pk for _, source, pk in keys if source == _AUDIT])
        transitions = ConditionTransition.objects.in_bulk([pk for _, source, pk in keys if source == _CONDITION])
        items = [
            HistoryItem(at, entry=entries[pk]) if source == _AUDIT else HistoryItem(at, transition=transitions[pk])
            for at, source, pk in keys
            if pk in (entries if source == _AUDIT else transitions)  # a row deleted meanwhile is left out
        ]
        return Page(items, keys_page.number, keys_page.paginator)  # type: ignore[arg-type]
