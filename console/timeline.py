"""The condition timeline: what the console saw each instance's status conditions do.

The Kubernetes API keeps only the latest condition of each type (the emqx-operator even
*removes* conditions when a cluster goes backwards), so when an instance went Ready, when
it fell back and how long each phase took exist nowhere unless someone watching wrote them
down. This module does, for EMQX, EmqxBroker and EmqxEnterprise:

* every informer of those kinds gets a listener (:func:`informer_created`, called by
  console.clusters when it creates one, before it starts) that compares the conditions of
  each changed object with the ones it saw last and turns the difference into
  :class:`~console.models.ConditionTransition` rows: a condition set (new, or changed status
  or lastTransitionTime), a condition removed, or an older condition current again;
* a daemon thread writes those rows (the informer's thread only compares and queues) and
  every few seconds looks at the caches for objects no event told it about (those of the
  first LIST, which emits no events): their conditions are recorded once as found
  (``first_seen``);
* rows are deduplicated by (uid, type, change, status, time), so a restart or a second
  console process records nothing twice; each instance keeps its last
  ``CONSOLE_TIMELINE_KEEP`` rows (200).

It records **only what this console observed while it was running**: changes that came
and went while no console was watching are not in it.

The same listener remembers, in memory, the generation at which each instance was last
seen Ready: the dashboards use it to tell an instance that *fell back* (Ready, then not,
with no spec change) from one that is progressing after an edit (see console.dashboard).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import OperationalError, close_old_connections, connection
from django.utils.translation import pgettext_lazy

from console.summaries import condition_rows
from emqx.cache import Informer
from emqx.client.watch import EventType

log = logging.getLogger(__name__)


def tracked_kinds() -> tuple[str, ...]:
    """The kinds whose admins keep a timeline (``has_timeline``)."""
    from console.registry import site

    return tuple(a.kind for a in site if a.has_timeline)


def ready_types() -> frozenset[str]:
    """Condition types that mean Ready when current and True, of every kind with a timeline
    (EMQX's Ready, v1beta4's Running, v1beta1's Healthy), as the admins declare them."""
    from console.registry import site

    return frozenset(t for a in site if a.has_timeline for t in a.ready_conditions)


SCAN_INTERVAL_S = 2.0
RECORDED_READY_S = 5.0
"""How often a worker of a shared cache reads again which instances the writer's timeline recorded Ready."""
_WRITE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Cond:
    """One condition as the API shows it."""

    type: str
    status: str
    reason: str
    message: str
    at: dt.datetime | None
    generation: int | None = None
    """observedGeneration: the spec generation the condition is about (EMQX v2beta1)."""


def conditions_of(obj: Any) -> list[Cond]:
    """The object's conditions, in the API's order (the operator keeps the newest first)."""
    status = getattr(obj, "status", None)
    return [
        Cond(c.type, c.status, c.reason, c.message, c.last_transition_time, c.observed_generation)
        for c in condition_rows(getattr(status, "conditions", None))
    ]


def _admin(kind: str) -> Any:
    from console.registry import site

    return site.for_kind(kind)


def current_of(kind: str, conditions: Sequence[Cond], api_version: str = "") -> Cond | None:
    """The condition that is the instance's state, as the kind's admin says for the object's
    version (EMQX v2beta1's first True one, v3beta1's by type; the brokers' first one)."""
    current: Cond | None = _admin(kind).current_of(conditions, api_version)
    return current


def _judged_generation(condition: Cond | None, generation: int | None, *, first_sight: bool) -> int | None:
    """The spec generation a condition is about: its observedGeneration; without one, the object's
    generation when the change is seen as it happens, and unknown (None) at first sight. A status
    found already written (a console just started, an edit made before it looked) may describe an
    older spec: taking the object's generation then made a rollout look like a fall from Ready."""
    if condition is None:
        return None
    if condition.generation is not None:
        return condition.generation
    return None if first_sight else generation


def is_ready(condition: Cond | None) -> bool:
    return condition is not None and condition.type in ready_types() and condition.status == "True"


@dataclass(frozen=True, slots=True)
class Row:
    """A transition about to be written (the fields of ConditionTransition)."""

    cluster: str
    kind: str
    namespace: str
    name: str
    uid: str
    condition_type: str
    status: str
    change: str
    reason: str
    message: str
    generation: int | None
    at: dt.datetime
    observed_at: dt.datetime
    current: bool
    first_seen: bool


def diff(
    old: Sequence[Cond] | None, new: Sequence[Cond], kind: str, now: dt.datetime, api_version: str = ""
) -> list[tuple[Cond, str, bool]]:
    """What changed from ``old`` to ``new``: (condition, change, became current) triples in
    the order they happened. ``old`` None means first sight: every condition, as found.

    EMQX v2beta1 conditions are only ever set to True, and setting one puts it first: so each
    one was the instance's state from its lastTransitionTime on, and first sight alone shows
    the phases since the last reset (the admin's ``stacks``; also v2 model A). For v2 model B,
    v3beta1 and the brokers only the current condition (the admin's ``current_of``) is the state.
    """
    before = {c.type: c for c in old or ()}
    after = {c.type: c for c in new}
    current_before = current_of(kind, list(old or ()), api_version)
    current_after = current_of(kind, new, api_version)
    stacked = _admin(kind).stacks(api_version, new)
    # A transition is a new condition, or a new status or time; a changed message alone is not.
    set_now = [c for c in new if c.type not in before or (before[c.type].status, before[c.type].at) != (c.status, c.at)]
    # A removal has no time of its own: it happened with the newest change of the same
    # update (the operator removes and sets in one status write), else when we saw it.
    newest = max((c.at for c in set_now if c.at is not None), default=None)
    changes: list[tuple[Cond, str, bool]] = []
    for c in old or ():
        if c.type not in after:
            when = newest if newest is not None and (c.at is None or newest >= c.at) else now
            changes.append((Cond(c.type, "Removed", c.reason, c.message, when, c.generation), "removed", False))
    for c in reversed(set_now):  # the API lists the newest first
        became_current = c.status == "True" if stacked else c == current_after
        changes.append((c, "set", became_current))
    if current_after is not None and current_after != current_before and current_after not in set_now:
        # An older condition is the state again because newer ones were removed.
        c = current_after
        changes.append((Cond(c.type, c.status, c.reason, c.message, newest or now, c.generation), "resumed", True))
    rank = {"removed": 0, "set": 1, "resumed": 2}
    changes.sort(key=lambda item: (item[0].at or now, rank[item[1]]))
    return changes


class Recorder:
    """The process's one recorder: the listeners' memory, the queue and the writer thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[tuple[str, str], tuple[Cond, ...]] = {}  # (cluster, uid) -> conditions
        self._ready_generation: dict[tuple[str, str], int] = {}
        self.memory_version = 0
        self._recorded: tuple[float, frozenset[tuple[str, str, int]]] | None = None  # (when read, _recorded_ready)
        """Grows whenever what was_ready_at() answers may have changed (readers cache on it)."""
        self._informers: list[tuple[str, str, weakref.ref[Informer[Any]]]] = []
        self._scanned: dict[int, int] = {}  # id(informer) -> generation last scanned
        self._scan_lock = threading.Lock()
        self._queue: queue.Queue[list[Row] | tuple[str, str, int]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._busy = 0

    # ----- wiring -----------------------------------------------------------------------

    def attach(self, cluster: str, kind: str, informer: Informer[Any]) -> None:
        """Listen to ``informer`` (idempotent); also scan it for objects no event reports."""
        if kind not in tracked_kinds():
            return
        with self._lock:
            # Weakly: a cluster's informers go away with it (console.clusters.reset()).
            self._informers = [(c, k, ref) for c, k, ref in self._informers if ref() is not None]
            if any(ref() is informer for _, _, ref in self._informers):
                return
            self._informers.append((cluster, kind, weakref.ref(informer)))
        informer.add_listener(lambda event, obj: self.observe(cluster, kind, obj, deleted=event is EventType.DELETED))
        self._ensure_thread()
        # The first LIST emits no events: look at what it brought as soon as it is in.
        threading.Thread(
            target=self._scan_when_synced, args=(weakref.ref(informer),), name="timeline-first-sight", daemon=True
        ).start()

    def _scan_when_synced(self, ref: weakref.ref[Informer[Any]]) -> None:
        while (informer := ref()) is not None:
            synced = informer.wait_for_sync(1.0)
            del informer
            if synced:
                self._scan()
                return

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="condition-timeline", daemon=True)
                self._thread.start()

    # ----- observing (informer threads; cheap: compare and queue) -------------------------

    def observe(self, cluster: str, kind: str, obj: Any, *, deleted: bool = False) -> None:
        meta = obj.metadata
        uid = meta.uid or ""
        if not uid:
            return
        key = (cluster, uid)
        if deleted:
            with self._lock:
                self._known.pop(key, None)
                if self._ready_generation.pop(key, None) is not None:
                    self.memory_version += 1
            return
        new = tuple(conditions_of(obj))
        now = dt.datetime.now(dt.UTC)
        generation = meta.generation
        current = current_of(kind, new, obj.api_version)
        with self._lock:
            old = self._known.get(key)
            if old == new:
                return
            self._known[key] = new
            ready_at = _judged_generation(current, generation, first_sight=old is None)
            # No observedGeneration: only a Ready that appears while this console watches was written
            # for the spec of now; one that merely stayed may be about an older spec.
            stayed = old is not None and is_ready(current_of(kind, list(old), obj.api_version))
            if current is not None and current.generation is None and stayed:
                ready_at = None
            if is_ready(current) and ready_at is not None and self._ready_generation.get(key) != ready_at:
                self._ready_generation[key] = ready_at
                self.memory_version += 1
        changes = diff(old, new, kind, now, obj.api_version)
        rows = [
            Row(
                cluster=cluster,
                kind=kind,
                namespace=meta.namespace or "",
                name=meta.name or "",
                uid=uid,
                condition_type=c.type,
                status=c.status,
                change=change,
                reason=c.reason[:256],
                message=c.message,
                generation=_judged_generation(c, generation, first_sight=old is None),
                at=c.at or now,
                observed_at=now,
                current=became_current,
                first_seen=old is None,
            )
            for c, change, became_current in changes
        ]
        if not recording_enabled():
            return
        if rows:
            self._queue.put(rows)
        if old is None and not is_ready(current) and generation is not None:
            # First sight of an instance that is not Ready: was it Ready at this generation
            # when an earlier run of the console watched it? (one query, on the writer thread)
            self._queue.put(("ready-before", f"{cluster}\0{uid}", generation))

    def was_ready_at(self, cluster: str, uid: str, generation: int | None) -> bool:
        """This console saw the instance Ready at this very generation. If it is not Ready
        now, it fell back: nothing in the spec changed, something in the cluster went wrong."""
        if generation is None:
            return False
        with self._lock:
            if self._ready_generation.get((cluster, uid)) == generation:
                return True
        if getattr(settings, "CONSOLE_SHARED_CACHE_DIR", None):
            return (cluster, uid, generation) in self._recorded_ready()
        return False

    def _recorded_ready(self) -> frozenset[tuple[str, str, int]]:
        """(cluster, uid, generation) of every instance the timeline recorded Ready as its current condition,
        read at most every :data:`RECORDED_READY_S` (one query). With a shared cache (console.sharedcache) the
        events, and so this memory, are the writer's process's: the other workers learn it from the database
        the writer's recorder fills."""
        now = time.monotonic()
        with self._lock:
            if self._recorded is not None and now - self._recorded[0] < RECORDED_READY_S:
                return self._recorded[1]
        from console.models import ConditionTransition

        try:
            rows = ConditionTransition.objects.filter(
                current=True, status="True", condition_type__in=ready_types(), generation__isnull=False
            ).values_list("cluster", "uid", "generation")
            found = frozenset((c, u, int(g)) for c, u, g in rows if g is not None)
        except OperationalError:  # the database busy or away: what was known, until the next try
            found = self._recorded[1] if self._recorded is not None else frozenset()
        with self._lock:
            if self._recorded is None or found != self._recorded[1]:
                self.memory_version += 1
            self._recorded = (now, found)
        return found

    # ----- the writer thread ------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=SCAN_INTERVAL_S)
            except queue.Empty:
                self._scan()
                continue
            with self._idle:
                self._busy += 1
            try:
                self._write(item)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()
                self._scan()

    def _scan(self) -> None:
        """Record objects that no event has told about (the first LIST's, a relist's)."""
        with self._lock:
            informers = [(c, k, ref()) for c, k, ref in self._informers]
        with self._scan_lock:
            for cluster, kind, informer in informers:
                if informer is None:
                    continue
                state = informer.state()
                if not state.synced or self._scanned.get(id(informer)) == state.generation:
                    continue
                self._scanned[id(informer)] = state.generation
                # Identities first (a store in a file parses nothing for them), then only the objects not seen yet:
                # parsing the whole fleet on every change would cost the writer of a shared cache its memory.
                for stub in informer.store.known():
                    meta = stub.metadata
                    with self._lock:
                        known = (cluster, meta.uid or "") in self._known
                    if not known and (obj := informer.get(meta.namespace or "", meta.name or "")) is not None:
                        self.observe(cluster, kind, obj)

    def _write(self, item: list[Row] | tuple[str, str, int]) -> None:
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            close_old_connections()
            try:
                if isinstance(item, tuple):
                    self._load_ready_generation(item)
                else:
                    _store(item)
                return
            except OperationalError as error:  # e.g. SQLite busy: try again shortly
                if attempt == _WRITE_ATTEMPTS:
                    log.warning("condition timeline: dropped %s after %d attempts: %s", _what(item), attempt, error)
                else:
                    time.sleep(0.1 * attempt)
            except Exception:
                log.exception("condition timeline: could not write %s", _what(item))
                return
            finally:
                close_old_connections()

    def _load_ready_generation(self, item: tuple[str, str, int]) -> None:
        from console.models import ConditionTransition

        _, key, generation = item
        cluster, uid = key.split("\0", 1)
        was_ready = ConditionTransition.objects.filter(
            cluster=cluster,
            uid=uid,
            current=True,
            condition_type__in=ready_types(),
            status="True",
            generation=generation,
        ).exists()
        if was_ready:
            with self._lock:
                self._ready_generation.setdefault((cluster, uid), generation)
                self.memory_version += 1

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written (tests, and a clean shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while not self._queue.empty() or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
        return True

    def scan_now(self) -> None:
        """Look at the caches for unrecorded objects now (tests; the thread does it every few seconds)."""
        self._scan()

    def forget_all(self) -> None:
        """Drop the in-memory state (tests)."""
        with self._lock:
            self._known.clear()
            self._ready_generation.clear()
            self._recorded = None
            self.memory_version += 1
            self._informers.clear()
            self._scanned.clear()


def _what(item: list[Row] | tuple[str, str, int]) -> str:
    if isinstance(item, tuple):
        return "a lookup"
    first = item[0]
    return f"{len(item)} transition(s) of {first.kind} {first.namespace}/{first.name}"


def _store(rows: Iterable[Row]) -> None:
    from console.models import ConditionTransition

    objects = [ConditionTransition(**{f: getattr(r, f) for f in Row.__slots__}) for r in rows]
    ConditionTransition.objects.bulk_create(objects, ignore_conflicts=True)
    keep = int(settings.CONSOLE_TIMELINE_KEEP)
    for cluster, uid in {(o.cluster, o.uid) for o in objects}:
        stale = list(
            ConditionTransition.objects.filter(cluster=cluster, uid=uid)
            .order_by("-at", "-id")
            .values_list("id", flat=True)[keep:]
        )
        if stale:
            ConditionTransition.objects.filter(id__in=stale).delete()


def recording_enabled() -> bool:
    """CONSOLE_TIMELINE_RECORDING, or by default: on, except on an in-memory SQLite database
    (the test database), where a second writing thread would collide with the request's."""
    forced = getattr(settings, "CONSOLE_TIMELINE_RECORDING", None)
    if forced is not None:
        return bool(forced)
    name = str(connection.settings_dict.get("NAME") or "")
    return not (connection.vendor == "sqlite" and (name == ":memory:" or "mode=memory" in name))


RECORDER = Recorder()


def informer_created(cluster: str, kind: str, informer: Informer[Any]) -> None:
    """console.clusters calls this for every informer it creates, before it starts."""
    RECORDER.attach(cluster, kind, informer)


# ----- reading: phases and durations for the timeline page -------------------------------


@dataclass(frozen=True)
class Phase:
    """A stretch of time during which one condition was the instance's state."""

    condition_type: str
    status: str
    reason: str
    message: str
    started: dt.datetime
    ended: dt.datetime | None
    """None: it is the current phase."""
    generation: int | None
    first_seen: bool
    label: str
    """'' or what the step means: 'went Ready', 'fell back', 'spec change', 'created' (a key: :data:`PHASE_LABELS`
    says it in the page's language)."""
    removed: tuple[str, ...] = ()
    """Conditions the operator removed as this phase began."""

    @property
    def name(self) -> str:
        return self.condition_type if self.status == "True" else f"{self.condition_type} ({self.status})"

    @property
    def label_text(self) -> str:
        """:attr:`label` as the timeline page shows it, in the page's language."""
        return str(PHASE_LABELS.get(self.label, self.label))

    @property
    def ready(self) -> bool:
        return self.condition_type in ready_types() and self.status == "True"

    def duration(self, now: dt.datetime) -> dt.timedelta:
        return (self.ended or now) - self.started


# What each step of :attr:`Phase.label` means, in the page's language (the keys are the English words).
PHASE_LABELS = {
    "went Ready": pgettext_lazy("timeline step", "went Ready"),
    "fell back": pgettext_lazy("timeline step", "fell back"),
    "spec change": pgettext_lazy("timeline step", "spec change"),
    "created": pgettext_lazy("timeline step", "created"),
}


def phases(transitions: Sequence[Any]) -> list[Phase]:
    """The phases of one instance from its recorded transitions (oldest first)."""
    found: list[Phase] = []
    removed_at: dict[dt.datetime, list[str]] = {}
    for t in transitions:
        if t.change == "removed":
            removed_at.setdefault(t.at, []).append(t.condition_type)
    current = [t for t in transitions if t.current]
    for i, t in enumerate(current):
        previous = found[-1] if found else None
        ended = current[i + 1].at if i + 1 < len(current) else None
        ready = t.condition_type in ready_types() and t.status == "True"
        if ready and (previous is None or not previous.ready):
            label = "went Ready"
        elif previous is not None and previous.ready and not ready:
            label = "spec change" if (t.generation or 0) > (previous.generation or 0) else "fell back"
        elif previous is not None and (t.generation or 0) > (previous.generation or 0):
            label = "spec change"
        elif previous is None and not t.first_seen:
            label = "created"
        else:
            label = ""
        found.append(
            Phase(
                condition_type=t.condition_type,
                status=t.status,
                reason=t.reason,
                message=t.message,
                started=t.at,
                ended=ended,
                generation=t.generation,
                first_seen=t.first_seen,
                label=label,
                removed=tuple(removed_at.get(t.at, ())),
            )
        )
    return found


# The first condition the operator sets on a new instance (EMQX; the 2021 brokers).
FIRST_TYPES = frozenset({"Initialized", "Creating"})


@dataclass(frozen=True)
class History:
    """An instance's phases (oldest first) and what a person asks of them."""

    phases: list[Phase]

    @property
    def fell_back(self) -> list[Phase]:
        return [p for p in self.phases if p.label == "fell back"]

    @property
    def time_to_first_ready(self) -> dt.timedelta | None:
        """From the first condition (Initialized) to the first Ready, when both are known."""
        if not self.phases or self.phases[0].condition_type not in FIRST_TYPES:
            return None
        first_ready = next((p for p in self.phases if p.ready), None)
        return first_ready.started - self.phases[0].started if first_ready else None

    def newest_first(self, now: dt.datetime) -> list[tuple[Phase, dt.timedelta]]:
        return [(p, p.duration(now)) for p in reversed(self.phases)]


def history(transitions: Sequence[Any]) -> History:
    return History(phases(transitions))
