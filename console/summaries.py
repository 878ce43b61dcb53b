"""What a person looks for in one object, whatever its kind and version: one :class:`Summary`.

Each kind's admin (console/kinds/) builds the summary of its objects (``admin.summarize``): the
one place that says which state an object is in. The list, the detail page, the status poll,
the dashboards and the timeline all read it; nothing else computes a state.

Also here, once: the time parser for the API's timestamps and the image-tag reader.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.utils.translation import ngettext, pgettext_lazy

from emqx import images

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from console.progress import Progress

__all__ = [
    "LABEL_NAMES",
    "LABEL_NAMES_IN_SENTENCE",
    "STATE_CLASSES",
    "STATE_NAMES",
    "ConditionRow",
    "Counts",
    "NodeRow",
    "Summary",
    "condition_rows",
    "label_in_sentence",
    "memoized",
    "not_understood",
    "not_understood_because",
    "parse_time",
    "version_of",
]

# The CSS class of each state a summary can have (the badge's colour).
STATE_CLASSES = {
    "Ready": "ok",
    "Completed": "ok",
    "Available": "warn",
    "Not ready": "warn",
    "Progressing": "busy",
    "Processing": "busy",
    "Failed": "bad",
    "Deleting": "muted",
    "Pending": "muted",
    "Paused": "warn",
    "API unavailable": "bad",
    "Not understood": "bad",
}

# Each state as people read it, translated when shown (the ``state_badge`` tag and the sidebar's "By state"):
# the state values themselves stay English, as URL parameters (``?state=Ready``) and CSS classes do.
STATE_NAMES: dict[str, StrOrPromise] = {
    "Ready": pgettext_lazy("state", "Ready"),
    "Completed": pgettext_lazy("state", "Completed"),
    "Available": pgettext_lazy("state", "Available"),
    "Not ready": pgettext_lazy("state", "Not ready"),
    "Progressing": pgettext_lazy("state", "Progressing"),
    "Processing": pgettext_lazy("state", "Processing"),
    "Failed": pgettext_lazy("state", "Failed"),
    "Deleting": pgettext_lazy("state", "Deleting"),
    "Pending": pgettext_lazy("state", "Pending"),
    "Paused": pgettext_lazy("state", "Paused"),
    "API unavailable": pgettext_lazy("state", "API unavailable"),
    "Not understood": pgettext_lazy("state", "Not understood"),
    "Unknown": pgettext_lazy("state", "Unknown"),
}


# The labels of the summaries' node counts and detail lines (``Summary.counts``, ``Summary.details``, the update
# progress's roles) as people read them, translated when shown (the ``label_name`` filter). The labels themselves
# stay English: the status panel's element ids (``core-counts``) and the kinds' own rules read them. A label the
# kinds add without an entry here shows as it is.
LABEL_NAMES: dict[str, StrOrPromise] = {
    "Core nodes": pgettext_lazy("summary label", "Core nodes"),
    "Replicant nodes": pgettext_lazy("summary label", "Replicant nodes"),
    "Nodes": pgettext_lazy("summary label", "Nodes"),
    "Image": pgettext_lazy("summary label", "Image"),
    "Replicas": pgettext_lazy("summary label", "Replicas"),
    "Reconciliation": pgettext_lazy("summary label", "Reconciliation"),
    "Configuration": pgettext_lazy("summary label", "Configuration"),
    "Status model": pgettext_lazy("summary label", "Status model"),
    "Node evacuation": pgettext_lazy("summary label", "Node evacuation"),
    "Durable storage": pgettext_lazy("summary label", "Durable storage"),
    "Status": pgettext_lazy("summary label", "Status"),
    "Update": pgettext_lazy("summary label", "Update"),
    "Instance": pgettext_lazy("summary label", "Instance"),
    "Connection evict rate": pgettext_lazy("summary label", "Connection evict rate"),
    "Started": pgettext_lazy("summary label", "Started"),
    "Completed": pgettext_lazy("summary label", "Completed"),
    "Rebalance state": pgettext_lazy("summary label", "Rebalance state"),
    "Coordinator node": pgettext_lazy("summary label", "Coordinator node"),
    "Donor nodes": pgettext_lazy("summary label", "Donor nodes"),
    "Recipient nodes": pgettext_lazy("summary label", "Recipient nodes"),
    "Role": pgettext_lazy("summary label", "Role"),
    "Expires": pgettext_lazy("summary label", "Expires"),
    "Secret": pgettext_lazy("summary label", "Secret"),
    "Operator": pgettext_lazy("summary label", "Operator"),
    "Description": pgettext_lazy("summary label", "Description"),
}

# The node counts' labels inside a sentence ("scaling down: 2 replicant nodes for 0 desired", "core nodes or
# replicant nodes"): words of their own, since lower-casing a label works in English only.
LABEL_NAMES_IN_SENTENCE: dict[str, StrOrPromise] = {
    "Core nodes": pgettext_lazy("summary label inside a sentence", "core nodes"),
    "Replicant nodes": pgettext_lazy("summary label inside a sentence", "replicant nodes"),
    "Nodes": pgettext_lazy("summary label inside a sentence", "nodes"),
}


def label_in_sentence(label: str) -> str:
    """A count label as a sentence reads it: ``Core nodes`` -> "core nodes" ("核心节点" in Chinese), from
    :data:`LABEL_NAMES_IN_SENTENCE`; another label through :data:`LABEL_NAMES` as it is (or ``label`` itself)."""
    return str(LABEL_NAMES_IN_SENTENCE.get(label) or LABEL_NAMES.get(label, label))


def parse_time(value: Any) -> dt.datetime | None:
    """An API timestamp (RFC 3339 text, or a datetime) as an aware datetime (UTC when the text
    has no zone); None for anything else. Never raises. RFC 3339 allows a lower-case ``t`` and
    ``z`` and any number of fractional digits (nanoseconds are cut to microseconds)."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def version_of(image: str) -> str:
    """The version column's value: the tag of an image reference (emqx.images.tag_of), '' for none."""
    return images.tag_of(image)


_C = TypeVar("_C", bound=type)
_FIELD_VALUES: dict[type, Callable[[Any], tuple[Any, ...]]] = {}
"""Per class pickled by fields (a subclass too: a kind's own summary adds fields), how to read its fields' values."""


def _field_values(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    values = _FIELD_VALUES.get(cls)
    if values is None:
        fields = dataclasses.fields(cls)
        if any(not f.init for f in fields):
            raise TypeError(f"{cls.__name__}: every field must be an __init__ argument to be pickled by fields")
        get = operator.attrgetter(*(f.name for f in fields))
        values = _FIELD_VALUES[cls] = get if len(fields) > 1 else lambda obj: (get(obj),)
    return values


def _reduce_by_fields(self: Any) -> tuple[type, tuple[Any, ...]]:
    return (type(self), _field_values(type(self))(self))


def _pickled_by_fields(cls: _C) -> _C:
    """Pickle ``cls`` and its subclasses (slots dataclasses) as their class and their fields' values, in order
    (``__reduce__``), rather than through dataclasses' ``__getstate__``/``__setstate__`` for slots, which walk the
    fields in Python: about half the CPU to pickle a Summary and two thirds to unpickle it (a shared cache's writer
    pickles one per object and change, its readers unpickle them: console/sharedcache.py; bench/sync_cpu.py).
    Pickles of the other form still load (``__setstate__`` stays). Apply above ``@dataclass``; every field must be
    an ``__init__`` argument (TypeError on the first pickle otherwise)."""
    cls.__reduce__ = _reduce_by_fields  # type: ignore[assignment]
    return cls


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Counts:
    """Nodes ready out of desired. ``extra``: ready nodes beyond the desired count, which a rollout
    or a scale-down has while old pods are still leaving (the operator's readyReplicas counts old
    and new alike; 2 ready of 0 desired is 0/0 with 2 leaving, no ratio taken). ``ready`` None: the
    operator reported no count (a status with conditions only, tests/fieldcases/03-status-without-corenodes),
    shown as ``?/desired``: unknown, not 0 and not ready."""

    ready: int | None
    desired: int
    extra: int = 0

    @classmethod
    def of(cls, ready: int | None, desired: int) -> Counts:
        """``ready`` as reported (None: not reported), capped at ``desired`` with the surplus kept as ``extra``."""
        if ready is None:
            return cls(None, desired)
        return cls(min(ready, desired), desired, max(ready - desired, 0))

    def __str__(self) -> str:
        ready = "?" if self.ready is None else self.ready
        if not self.extra:
            return f"{ready}/{self.desired}"
        # In the language of the page that shows it (str() is called there).
        return ngettext(
            "%(ready)s/%(desired)s (+%(extra)s leaving)", "%(ready)s/%(desired)s (+%(extra)s leaving)", self.extra
        ) % {"ready": ready, "desired": self.desired, "extra": self.extra}

    @property
    def known(self) -> bool:
        return self.ready is not None

    @property
    def complete(self) -> bool:
        return self.ready is not None and self.ready >= self.desired


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class ConditionRow:
    """One status condition as the API shows it."""

    type: str
    status: str
    reason: str
    message: str
    last_transition_time: dt.datetime | None
    observed_generation: int | None = None


def condition_rows(conditions: Iterable[Any] | None) -> list[ConditionRow]:
    """The conditions of any kind's status (objects with type, status, reason, message and
    lastTransitionTime or, in the 2021 brokers, lastUpdateTime), in the API's order."""
    return [
        ConditionRow(
            str(c.type),
            str(c.status),
            str(c.reason or ""),
            str(c.message or ""),
            parse_time(getattr(c, "last_transition_time", None)) or parse_time(getattr(c, "last_update_time", None)),
            getattr(c, "observed_generation", None),
        )
        for c in conditions or ()
    ]


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class NodeRow:
    """One EMQX node as the operator reports it in the status."""

    node: str
    role: str
    status: str
    version: str
    otp_release: str
    connections: int | None

    @property
    def running(self) -> bool:
        return self.status.lower() == "running"


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Summary:
    """One object as the pages show it. Built by its kind's admin (``admin.summarize(obj)``)."""

    kind: str
    name: str
    namespace: str
    uid: str
    resource_version: str
    generation: int
    created: dt.datetime | None
    labels: dict[str, str]
    api_version: str
    """The version the console read it through (``apps.emqx.io/v2beta1``): the same for every object of
    the kind in one cluster."""
    state: str
    """'Ready', 'Available', 'Progressing', 'Not ready', 'Pending' (no status yet), 'Processing',
    'Completed', 'Failed', 'Paused' (paused before it was Ready), 'API unavailable' (the operator
    cannot reach the EMQX API: the rest is not trustworthy), 'Deleting' (a deletionTimestamp is
    set: finalizers hold it) or 'Not understood' (the stored document does not fit the model:
    see :func:`not_understood`)."""
    current: ConditionRow | None
    """The condition that is the object's state (the kind's admin says which), or None."""
    image: str = ""
    version: str = ""
    """What runs (the EMQX version) or what it acts on (a Rebalance's target): the Version column."""
    counts: tuple[tuple[str, Counts], ...] = ()
    """(label, ready/desired) per node role: ("Core nodes", 3/3), ("Replicant nodes", 2/2)."""
    conditions: tuple[ConditionRow, ...] = ()
    nodes: tuple[NodeRow, ...] = ()
    details: tuple[tuple[str, StrOrPromise], ...] = ()
    """Kind-specific (label, value) lines of the detail page's summary: the label English (shown through
    :data:`LABEL_NAMES`), the value as the cluster wrote it or the console's own words (``gettext_lazy``, so
    that a summary memoized once reads in each page's language)."""
    observed: bool = True
    """The operator has seen the latest spec (the current condition's observedGeneration, where
    the kind has one, is the object's generation)."""
    settled: bool = False
    """Nothing will change without a new edit: live polling stops here and starts again after one."""
    deleting: bool = False
    finalizers: tuple[str, ...] = ()
    failure: str = ""
    """A reported failure that no spec change explains (the 2021 brokers' Failed condition)."""
    paused: bool = False
    """The operator is told not to act on it (EMQX v3beta1's ``Paused`` condition True)."""
    problems: tuple[str, ...] = ()
    """Why the stored document does not fit the model (state 'Not understood'), one per field."""
    updating: bool = False
    """An update the operator is rolling out (blue-green, for EMQX): a node set's updateRevision is
    not yet its currentRevision, or nodes are being evacuated. Old nodes stop on purpose then."""
    progress: Progress | None = None
    kind_version: str = ""
    """The version of the kind its spec was last written through (``v2alpha1``, ``v2beta1``; '' when
    unknown): ObjectMeta.spec_api_version, from the cache's compact managedFields."""
    """While :attr:`updating`: the old and new revisions of each node role and the evacuations
    (console.progress), which the status panel shows."""

    @property
    def current_condition(self) -> str:
        return self.current.type if self.current is not None else ""

    @property
    def badge(self) -> str:
        """What the status badge says: the current condition when it holds (``Ready``,
        ``CoreNodesProgressing``, as ``kubectl get`` shows it), else the state (a broker's
        ``Running`` condition that is False reads "Not ready", not "Running")."""
        paused, shown, _ = self.badge_parts
        return f"Paused · {shown}" if paused else shown

    @property
    def badge_parts(self) -> tuple[bool, str, bool]:
        """The badge in parts, for saying it in another language (console.templatetags.console_i18n):
        (whether "Paused · " comes first, what follows, whether that is a condition type as the cluster
        wrote it rather than one of the console's states)."""
        if self.deleting:
            return False, "Deleting", False
        if self.problems:
            return False, "Not understood", False
        holds = self.current is not None and self.current.status == "True"
        shown = self.current.type if holds and self.current is not None else self.state
        return self.paused and shown != "Paused", shown, holds

    @property
    def state_class(self) -> str:
        return STATE_CLASSES.get(self.state, "muted")

    @property
    def count_rows(self) -> list[tuple[str, str, Counts]]:
        """(key, label, counts) per role, the key being the label's first word in lower case
        (``core``, ``replicant``, ``nodes``): the status panel's element ids."""
        return [(label.split()[0].lower(), label, counts) for label, counts in self.counts]

    def count(self, label: str) -> Counts | None:
        """The counts of one role (``summary.count("Core nodes")``), or None."""
        return next((c for lbl, c in self.counts if lbl == label), None)

    def _role_nodes(self, key: str) -> list[NodeRow]:
        # ``key`` as in count_rows: "core", "replicant", or "nodes" (a kind with one role: all of them).
        return [n for n in self.nodes if key == "nodes" or n.role == key]

    @property
    def surplus(self) -> list[tuple[str, int, int]]:
        """(role label, nodes there, desired) of each role with more nodes than its spec desires
        that no update explains: a scale-down not finished yet (2 replicant nodes for 0 desired:
        tests/fieldcases/05-replicants-scaled-to-zero). "There" is the larger of the ready count
        and the nodes the status lists. While an update rolls out, old and new nodes of a role are
        both there (:attr:`updating`, case 06): only a role scaled to 0 still counts then."""
        found = []
        for key, label, counts in self.count_rows:
            there = max(len(self._role_nodes(key)), (counts.ready or 0) + counts.extra)
            if there > counts.desired and (counts.desired == 0 or not self.updating):
                found.append((label, there, counts.desired))
        return found

    @property
    def removed_nodes(self) -> list[NodeRow]:
        """The listed nodes of a role scaled to 0: every one of them is being removed."""
        gone = [key for key, _, counts in self.count_rows if counts.desired == 0]
        return [n for key in gone for n in self._role_nodes(key)]

    @property
    def unreported_counts(self) -> list[str]:
        """The roles whose ready count the operator did not report (shown as ``?``), e.g. ["Core nodes"]."""
        return [label for label, c in self.counts if not c.known]

    @property
    def nodes_ready(self) -> int:
        """Ready nodes of every role; a role whose count is not reported adds none."""
        return sum(c.ready or 0 for _, c in self.counts)

    @property
    def nodes_desired(self) -> int:
        return sum(c.desired for _, c in self.counts)

    @property
    def stopped_nodes(self) -> list[str]:
        """The nodes the operator lists that are not running (an empty status is not reported yet),
        except :attr:`leaving_nodes`."""
        leaving = set(self.leaving_nodes)
        return [n.node or "?" for n in self.nodes if n.status and not n.running and (n.node or "?") not in leaving]

    @property
    def leaving_nodes(self) -> list[str]:
        """While :attr:`updating`, the nodes not running that run another version than the one the
        spec asks for: the old set, stopping as the update intends (emqx-operator's blue-green
        update; tests/fieldcases/06-blue-green-mid-update). Not an outage."""
        if not self.updating or not self.version:
            return []
        wanted = self.version.split(".")
        return [
            n.node or "?"
            for n in self.nodes
            if n.status and not n.running and n.version and n.version.split(".")[: len(wanted)] != wanted
        ]


def memoized(summarize: Callable[[Any], Summary]) -> Callable[[Any], Summary]:
    """``summarize``, computed once per cached object (shared: callers must not mutate it).

    The list page summarizes every cached object on each request (to filter and sort), which
    at 1,000 instances was most of its time. The watch cache replaces an object on each
    change and never mutates one, so (id, resourceVersion), checked through a weak reference,
    identifies it. Objects without a resourceVersion (built locally, maybe edited) are not kept."""
    memo: dict[int, tuple[weakref.ref[Any], str, Summary]] = {}

    def forget(key: int, ref: weakref.ref[Any]) -> None:
        entry = memo.get(key)
        if entry is not None and entry[0] is ref:
            memo.pop(key, None)

    def cached(obj: Any) -> Summary:
        key, version = id(obj), obj.metadata.resource_version
        if not version:
            return summarize(obj)
        entry = memo.get(key)
        if entry is not None and entry[0]() is obj and entry[1] == version:
            return entry[2]
        summary = summarize(obj)
        memo[key] = (weakref.ref(obj, lambda ref: forget(key, ref)), version, summary)
        return summary

    return cached


def not_understood(obj: Any) -> Summary:
    """The summary of an object whose stored document does not fit its model (``obj.problems``,
    emqx.models.Resource.read): its metadata and the reasons, nothing read from its spec or status,
    which cannot be trusted. Its pages offer the YAML, an edit as YAML and delete."""
    return Summary(**base_fields(obj), state="Not understood", current=None, problems=tuple(obj.problems))


def not_understood_because(obj: Any, problem: str) -> Summary:
    """:func:`not_understood` for an object the console failed to summarize (``problem``: why), whatever its
    ``obj.problems``."""
    return Summary(**base_fields(obj), state="Not understood", current=None, problems=(*obj.problems, problem))


def base_fields(obj: Any) -> dict[str, Any]:
    """The metadata part of a summary, the same for every kind."""
    meta = obj.metadata
    return {
        "kind": obj.kind,
        "name": meta.name or "",
        "namespace": meta.namespace or "",
        "uid": meta.uid or "",
        "resource_version": meta.resource_version or "",
        "generation": meta.generation or 0,
        "created": parse_time(meta.creation_timestamp),
        "labels": dict(meta.labels or {}),
        "api_version": obj.api_version,
        "kind_version": meta.spec_api_version(),
        "deleting": meta.deletion_timestamp is not None,
        "finalizers": tuple(meta.finalizers or ()),
    }


def node_rows(nodes: Sequence[Any] | None, role: str = "") -> tuple[NodeRow, ...]:
    """The status's node list of any kind: EMQX v2beta1 ``Node`` and the 4.x ``EmqxNode`` (``node``,
    ``node_status``), EMQX v2 ``Node`` and v3beta1 ``ClusterNode`` (``name``, ``status``; their
    ``connections`` is EMQX's live connections)."""
    return tuple(
        NodeRow(
            node=str(getattr(n, "node", None) or getattr(n, "name", None) or ""),
            role=str(getattr(n, "role", None) or role),
            status=str(getattr(n, "node_status", None) or getattr(n, "status", None) or ""),
            version=str(n.version or ""),
            otp_release=str(n.otp_release or ""),
            connections=n.connections,
        )
        for n in nodes or ()
    )


__all__ += ["base_fields", "node_rows"]
