"""What the dashboards count: pure functions from cached objects to numbers.

Each instance (EMQX, EmqxBroker, EmqxEnterprise) is in exactly one state:

* **ready**: its current condition says so (EMQX ``Ready``; v1beta4 ``Running`` True;
  v1beta1 ``Healthy``), as ``kubectl get`` shows it.
* **degraded**: not Ready, and something is wrong that no change of the spec explains:

  - *fault*: a node the operator lists is not running (EMQX reports it ``stopped``), or the
    2021 broker's current condition is ``Failed``;
  - *fell back*: this console saw it Ready at its current generation, and it is not Ready
    any more. The spec did not change, so the cluster lost ground on its own (the operator
    removes Ready and starts over when ready nodes drop).
* **progressing**: not Ready and not degraded, with a status: the operator is working
  towards Ready (being created, rolling out a spec change, scaling).
* **unknown**: no status at all (the operator has not reported on it: not installed, not
  running, or not yet), or a current condition of a type the console does not know.

"Not Ready for too long" is separate and applies to every state but ready: the time since
the current condition's lastTransitionTime (or since creation, without one) is over
``CONSOLE_NOT_READY_THRESHOLD_SECONDS``.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, overload

from django.utils.translation import gettext, pgettext, pgettext_lazy

from console.registry import DEGRADED, PROGRESSING, READY, STATE_LABELS, STATES, UNKNOWN, Health, site
from console.summaries import Summary

__all__ = [
    "DEGRADED",
    "PROGRESSING",
    "READY",
    "STATES",
    "STATE_LABELS",
    "UNKNOWN",
    "Health",
    "Instance",
    "classify",
    "counted_kinds",
    "kind_label",
]


def counted_kinds() -> tuple[str, ...]:
    """The kinds the dashboards count as instances (their admins' ``counted``), in menu order."""
    return tuple(a.kind for a in site if a.counted)


def kind_label(kind: str) -> str:
    admin = site.get(kind)
    return str(admin.dashboard_label or admin.verbose_name_plural) if admin is not None else kind


@dataclass(frozen=True)
class Instance:
    """One instance as the dashboards count it."""

    cluster: str
    kind: str
    namespace: str
    name: str
    uid: str
    generation: int | None
    state: str
    condition: str
    """The current condition ('' without one), e.g. 'CoreNodesProgressing' or 'Running (False)'."""
    reason: str
    since: dt.datetime | None
    """Since when the current condition holds (its lastTransitionTime), else the creation time."""
    why: str
    """For degraded and unknown: which rule, in words."""
    version: str
    nodes_ready: int
    nodes_desired: int

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.state])

    def not_ready_for(self, now: dt.datetime) -> dt.timedelta | None:
        """How long it has not been Ready (None when Ready, or when nothing says since when)."""
        if self.state == READY or self.since is None:
            return None
        return now - self.since


def classify(cluster: str, kind: str, obj: Any, *, seen_ready: bool = False) -> Instance:
    """The dashboard's view of one cached object, by its kind's admin (the one place that
    says what state an object is in). ``seen_ready``: this console saw it Ready at its
    current generation (console.timeline remembers)."""
    return classify_summary(cluster, kind, site.for_kind(kind).summarize(obj), seen_ready=seen_ready)


def classify_summary(cluster: str, kind: str, summary: Summary, *, seen_ready: bool = False) -> Instance:
    """:func:`classify` from the object's summary (what a shared cache stores: console.sharedcache)."""
    admin = site.for_kind(kind)
    health = admin.health(summary, seen_ready=seen_ready)
    current = summary.current
    condition = ""
    if current is not None:
        condition = current.type if current.status == "True" else f"{current.type} ({current.status})"
    return Instance(
        cluster=cluster,
        kind=kind,
        namespace=summary.namespace,
        name=summary.name,
        uid=summary.uid,
        generation=summary.generation or None,
        state=health.state,
        condition=condition,
        reason=current.reason if current else "",
        since=(current.last_transition_time if current else None) or summary.created,
        why=health.why,
        version=summary.version or pgettext("an EMQX version", "unknown"),
        nodes_ready=summary.nodes_ready,
        nodes_desired=summary.nodes_desired,
    )


class NotReadyForLong(Sequence[tuple[Instance, dt.timedelta]]):
    """Instances not Ready for longer than a threshold at ``now``, longest first, as (instance, how
    long) pairs built on access: a page shows the first 25 and the count, whatever their number.
    ``waiting`` are every not-Ready instance with a known since, longest waiting first."""

    def __init__(self, waiting: Sequence[Instance], now: dt.datetime, late: int) -> None:
        self._waiting = waiting
        self._now = now
        self._late = late

    def __len__(self) -> int:
        return self._late

    @overload
    def __getitem__(self, index: int) -> tuple[Instance, dt.timedelta]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[Instance, dt.timedelta]]: ...
    def __getitem__(self, index: int | slice) -> tuple[Instance, dt.timedelta] | list[tuple[Instance, dt.timedelta]]:
        if isinstance(index, slice):
            return [self._pair(i) for i in range(*index.indices(self._late))]
        if index < 0:
            index += self._late
        if not 0 <= index < self._late:
            raise IndexError(index)
        return self._pair(index)

    def _pair(self, index: int) -> tuple[Instance, dt.timedelta]:
        instance = self._waiting[index]
        assert instance.since is not None
        return instance, self._now - instance.since


@dataclass(frozen=True)
class Tally:
    """The numbers of a set of instances (one cluster's, or the fleet's) that do not depend on the time."""

    by_kind: dict[str, dict[str, int]]
    """kind -> state -> count; every kind and state present."""
    by_state: dict[str, int]
    instances: int
    nodes_ready: int
    nodes_desired: int
    versions: list[tuple[str, int]]
    """(version, instances), most used first."""
    degraded: list[Instance]
    """Every degraded instance, by cluster, namespace and name."""


@dataclass(frozen=True)
class Counts(Tally):
    """What :func:`count` gives: computed once per change of the instances counted (console.views.dashboard
    remembers it), then read at each poll's ``now`` by :func:`totals_at`."""

    waiting: list[Instance]
    """Every instance that is not Ready and has a since, the longest waiting first (oldest since)."""
    sinces: list[dt.datetime]
    """``waiting``'s since, in the same order (for a bisection by the threshold)."""


@dataclass(frozen=True)
class Totals(Tally):
    """The numbers of a set of instances at one time."""

    not_ready: Sequence[tuple[Instance, dt.timedelta]]
    """Instances not Ready for longer than the threshold, longest first."""

    @property
    def kinds(self) -> list[tuple[str, str, list[tuple[str, int]], int]]:
        return [
            (k, kind_label(k), [(s, self.by_kind[k][s]) for s in STATES], sum(self.by_kind[k].values()))
            for k in self.by_kind
        ]

    @property
    def states(self) -> list[tuple[str, str, int]]:
        return [(s, str(STATE_LABELS[s]), self.by_state[s]) for s in STATES]


def count(instances: Iterable[Instance], *, kinds: Iterable[str] | None = None) -> Counts:
    """Count instances by kind and state, nodes and versions, and order those not Ready by how long.
    ``kinds``: the kinds to give a row even with no instance (default: every counted kind); a
    dashboard passes those its clusters serve. Linear in the instances (a sort for the not Ready)."""
    by_kind = {k: dict.fromkeys(STATES, 0) for k in (counted_kinds() if kinds is None else kinds)}
    by_state = dict.fromkeys(STATES, 0)
    versions: Counter[str] = Counter()
    nodes_ready = nodes_desired = total = 0
    waiting: list[Instance] = []
    seen = list(instances)
    for i in seen:
        total += 1
        by_kind.setdefault(i.kind, dict.fromkeys(STATES, 0))[i.state] += 1
        by_state[i.state] += 1
        versions[i.version] += 1
        nodes_ready += i.nodes_ready
        nodes_desired += i.nodes_desired
        if i.state != READY and i.since is not None:
            waiting.append(i)
    waiting.sort(key=lambda i: i.since or _EPOCH)  # stable: equal ages keep the order counted
    return Counts(
        by_kind=by_kind,
        by_state=by_state,
        instances=total,
        nodes_ready=nodes_ready,
        nodes_desired=nodes_desired,
        versions=sorted(versions.items(), key=lambda kv: (-kv[1], kv[0])),
        degraded=sorted((i for i in seen if i.state == DEGRADED), key=lambda i: (i.cluster, i.namespace, i.name)),
        waiting=waiting,
        sinces=[i.since or _EPOCH for i in waiting],
    )


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def totals_at(counts: Counts, *, now: dt.datetime, threshold: dt.timedelta) -> Totals:
    """:class:`Totals` of ``counts`` at ``now``: those not Ready for longer than ``threshold`` are the
    ones whose since is before ``now - threshold`` (a bisection: no pass over the instances)."""
    late = bisect.bisect_left(counts.sinces, now - threshold)
    tally = {f.name: getattr(counts, f.name) for f in fields(Tally)}
    return Totals(**tally, not_ready=NotReadyForLong(counts.waiting, now, late))


def aggregate(
    instances: Iterable[Instance],
    *,
    now: dt.datetime,
    threshold: dt.timedelta,
    kinds: Iterable[str] | None = None,
) -> Totals:
    """Count instances by kind and state, nodes, versions, and list those not Ready too long
    (:func:`count`, then :func:`totals_at`)."""
    return totals_at(count(instances, kinds=kinds), now=now, threshold=threshold)


# ----- clusters ----------------------------------------------------------------------------

OK, CONNECTING, UNREACHABLE, FAILING = "ok", "connecting", "unreachable", "error"
CLUSTER_STATUS_LABELS = {
    OK: pgettext_lazy("cluster status", "up"),
    CONNECTING: pgettext_lazy("cluster status", "connecting"),
    UNREACHABLE: pgettext_lazy("cluster status", "unreachable"),
    FAILING: pgettext_lazy("cluster status", "error"),
}
"""What a cluster's card says of its status, in the page's language."""


@dataclass(frozen=True)
class KindCache:
    """What a dashboard knows about one kind's cache in one cluster, without waiting."""

    synced: bool = False
    healthy: bool = False
    error_kind: str = ""
    """'', 'unreachable', 'forbidden', 'unauthorized', 'not-served', 'configuration', 'error'."""
    error: str = ""
    last_sync: float | None = None


def cluster_status(caches: Mapping[str, KindCache]) -> tuple[str, str]:
    """(status, detail) of a cluster from its kinds' caches.

    A kind the cluster does not serve is fine (a 2021 cluster has no EMQX v2beta1). A kind that
    fails while another kind's watch is healthy is that kind's problem (a conversion webhook down,
    one slow LIST timing out): the cluster answers, its status stays OK and the board lists the kind
    under :attr:`ClusterBoard.kind_problems`. Only when no served kind is healthy is the cluster
    unreachable (one of them could not reach the API server) or failing."""
    served = [c for c in caches.values() if c.error_kind != "not-served"]
    if caches and not served:
        return FAILING, gettext("the cluster serves none of the EMQX kinds (is the emqx-operator installed?)")
    broken = [c for c in served if c.error_kind]
    if broken and not any(c.healthy for c in served):
        for c in broken:
            if c.error_kind == "unreachable":
                return UNREACHABLE, c.error
        return FAILING, broken[0].error
    if any(not c.synced and not c.error_kind for c in served):
        return CONNECTING, ""
    return OK, ""


@dataclass
class ClusterBoard:
    """One cluster on a dashboard."""

    name: str
    status: str
    detail: str = ""
    caches: dict[str, KindCache] = field(default_factory=dict)
    instances: list[Instance] = field(default_factory=list)
    totals: Totals | None = None
    key: Hashable = None
    """What its instances were selected from (each kind's cache state and the namespaces the user
    may see there): equal keys, equal instances (console.views.dashboard remembers by it)."""
    operator_line: str | None = None
    """The emqx-operator line its CRDs belong to ("2.3", "3.0" ...: emqx.discovery.operator_line)."""

    @property
    def status_label(self) -> str:
        return str(CLUSTER_STATUS_LABELS[self.status])

    @property
    def counted(self) -> bool:
        """Its numbers are current and go into the fleet's totals."""
        return self.status == OK

    @property
    def stale_since(self) -> float | None:
        """For a cluster that went away: when its caches last heard from it (its numbers
        are then the last known ones)."""
        if self.status == OK:
            return None
        times = [c.last_sync for c in self.caches.values() if c.synced and c.last_sync]
        return min(times) if times else None

    @property
    def kind_problems(self) -> list[tuple[str, str]]:
        """(kind label, the API server's reason) for each served kind that fails while the cluster
        answers (see :func:`cluster_status`): said on the board and on that kind's pages only."""
        if self.status in (UNREACHABLE, FAILING):
            return []
        return [(kind_label(k), c.error) for k, c in self.caches.items() if c.error_kind not in ("", "not-served")]

    @property
    def not_served(self) -> list[str]:
        return [kind_label(k) for k, c in self.caches.items() if c.error_kind == "not-served"]

    @property
    def served_kinds(self) -> list[str]:
        """The counted kinds this cluster serves (all of them while that is not known yet)."""
        return [k for k, c in self.caches.items() if c.error_kind != "not-served"]
