"""The simulated pods of an EMQX cluster, shared by the EMQX controllers of every operator line.

No pod runs anywhere: these classes are the simulator's memory of what the operator's
StatefulSets and ReplicaSets would hold, moved one pod one step per reconcile (created, ready,
stopped by a fault, replaced, deleted), the way pods start one after another in a cluster.

Two shapes of core set exist across the operator lines (``OPERATOR-STATUS.md``):

* :class:`Role`: one set per pod-template hash, ``<name>-core-<hash>`` (operator 2.2 ``v2beta1``
  and 2.3 model A, "Core sets are still one StatefulSet per pod-template hash"); replicants in
  every line (one ReplicaSet per hash, ``<name>-replicant-<hash>``);
* :class:`RollingSet`: one StatefulSet ``<name>-core`` whose ordinal pods are replaced in place,
  highest ordinal first, when the template changes (operator 3.0 ``v3beta1``, "There is one core
  StatefulSet (``<name>-core``) with ordinal pods"; the simulator uses it for 2.3 model B too,
  whose ``coreNodesStatus`` counts updated and current pods per revision of one set).

Also here: the EMQX node names and ``/api/v5/nodes`` items both newer lines report, the node
evacuation in flight during an update (:func:`node_evacuation`, one rule for every line), the
condition setters of each line (front-inserted, appended, or the standard ``metav1`` setter),
the simulated durable-storage replication, and the independent conditions that 2.3 model B and
3.0 evaluate (``internal/controller/update_emqx_status.go``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from emqx import hocon
from sandbox.operator.base import EventSpec
from sandbox.operator.common import ImageInfo, faults_of, now_rfc3339, stable_int, stable_uid
from sandbox.operator.pods import PodSet, SimPod

if TYPE_CHECKING:
    from sandbox.operator.simulator import Simulator

__all__ = [
    "AVAILABLE",
    "CORE_NODES_PROGRESSING",
    "DS_DB",
    "EVICTION_RATE_DEFAULT",
    "NOT_POD_TEMPLATE",
    "READY",
    "REPLICANT_NODES_PROGRESSING",
    "DurableStorage",
    "EvictionRates",
    "NodeEvacuation",
    "Observation",
    "PodGroup",
    "Role",
    "RollingSet",
    "RollingWorld",
    "World",
    "adopt_rolling",
    "advance_pods",
    "client_counts",
    "cluster_node",
    "evaluate_independent",
    "eviction_rates",
    "node_evacuation",
    "node_name",
    "observe_rolling",
    "pod_template",
    "remove_condition",
    "set_appended",
    "set_at_front",
    "set_standard",
    "sort_by_uptime",
    "step_role",
    "warn_invalid_hocon",
]

CORE_NODES_PROGRESSING = "CoreNodesProgressing"
REPLICANT_NODES_PROGRESSING = "ReplicantNodesProgressing"
AVAILABLE = "Available"
READY = "Ready"

NOT_POD_TEMPLATE = ("replicas", "minAvailable", "maxUnavailable")
"""Fields of a template spec that are not part of the pod template (they size the set or shape
its PodDisruptionBudget), so changing them rolls no pod."""


# ----- sets of pods ---------------------------------------------------------------------------


@dataclass
class Role:
    """The pods of one role (core or replicant) of one EMQX, one set per revision.

    ``pending`` is the kind of rollout ("create", "update", "revert") started by the last
    :meth:`roll_to` and not written to the status yet; each controller names it in its own
    operator's words."""

    role: str
    sets: dict[str, PodSet] = field(default_factory=dict)  # revision -> set, oldest first
    update_revision: str | None = None
    current_revision: str | None = None
    desired: int = 0
    pending: str | None = None
    previous_revision: str | None = None  # the update revision before that rollout
    history_limit: int = 3

    @property
    def update_set(self) -> PodSet | None:
        """The set of the newest revision (``updateRevision``)."""
        return self.sets.get(self.update_revision or "")

    @property
    def current_set(self) -> PodSet | None:
        """The set of ``currentRevision`` (see :meth:`refresh_current_revision`)."""
        return self.sets.get(self.current_revision or "")

    @property
    def observed_set(self) -> PodSet | None:
        """The newest set as the status machine sees it: in the operator, updateStatus runs
        before addCore/addRepl create the set of a new revision."""
        if self.pending is not None:
            return self.sets.get(self.previous_revision or "")
        return self.update_set

    def old_sets(self) -> list[PodSet]:
        """Every set but the update one, oldest first."""
        return [s for rev, s in self.sets.items() if rev != self.update_revision]

    def pods(self) -> list[SimPod]:
        """The role's pods, in every set."""
        return [p for s in self.sets.values() for p in s.pods]

    def roll_to(self, revision: str, make: Callable[[str], PodSet]) -> str | None:
        """Make ``revision`` the update revision (a new set, or an old one brought back).
        Returns the kind of rollout started ("create", "update", "revert"), or None."""
        if self.update_revision == revision:
            return None
        if self.update_revision is None:
            kind = "create"
        elif revision in self.sets:
            kind = "revert"
        else:
            kind = "update"
        pod_set = self.sets.pop(revision, None) or make(revision)
        self.sets[revision] = pod_set  # newest last
        if self.pending is None:
            self.previous_revision = self.update_revision
        self.update_revision = revision
        self.pending = kind
        # The operator keeps revisionHistoryLimit old sets (scaled to zero) to revert to.
        empty_old = [rev for rev, s in self.sets.items() if rev != revision and not s.pods]
        for rev in empty_old[: max(0, len(empty_old) - self.history_limit)]:
            del self.sets[rev]
        return kind

    def refresh_current_revision(self) -> None:
        """``updateStatus``/``switchReplicantSet``: the current revision is the update one at
        first; when the current set has no pods left, an older set that still has some, else
        the update one."""
        if self.update_revision is None:
            return
        if self.current_revision is None:
            self.current_revision = self.update_revision
        current = self.sets.get(self.current_revision)
        if self.current_revision != self.update_revision and (current is None or not current.pods):
            with_pods = [s for s in self.old_sets() if s.pods]
            self.current_revision = with_pods[0].revision if with_pods else self.update_revision

    def step(self, *, down: bool, stuck: bool) -> tuple[str, SimPod] | None:
        """One action on the role's pods (:func:`step_role`)."""
        return step_role(self, down=down, stuck=stuck)

    def evacuee(self) -> tuple[SimPod, list[SimPod]] | None:
        """The old pod the next :meth:`step` deletes while draining an older revision (once the
        update set has all its pods, every one running), and the running pods of the update set,
        which take its sessions; None when no old pod is drained next."""
        update = self.update_set
        if update is None or not update.all_ready(self.desired):
            return None
        leaving = next((old.pods[-1] for old in self.old_sets() if old.pods), None)
        if leaving is None or not leaving.ready:
            return None
        return leaving, [p for p in update.pods if p.running]

    def waiting(self) -> bool:
        """New pods that have not become ready (what ``stuck-progressing`` holds back)."""
        update = self.update_set
        return update is not None and any(not p.ready for p in update.pods)


def step_role(role: Role, *, down: bool, stuck: bool) -> tuple[str, SimPod] | None:
    """One action on one role's pods, in the order a real cluster would show them."""
    update = role.update_set
    if update is None:
        for old in role.old_sets():  # the role is gone (no replicant template any more)
            pod = old.remove_one()
            if pod is not None:
                return "deleted", pod
        return None
    if len(update.pods) > role.desired:
        pod = update.remove_one()
        return ("deleted", pod) if pod is not None else None
    if not down:
        pod = next((p for p in update.pods if p.down), None)
        if pod is not None:
            pod.down = False
            return "recovered", pod
    elif not any(p.down for p in update.pods):
        pod = next((p for p in reversed(update.pods) if p.running), None)
        if pod is not None:
            pod.down = True
            return "down", pod
    if not stuck:
        pod = update.ready_one()
        if pod is not None:
            return "ready", pod
    if update.all_ready(role.desired):
        for old in role.old_sets():  # drain the previous revision, one pod at a time
            pod = old.remove_one()
            if pod is not None:
                return "deleted", pod
    return None


@dataclass
class RollingSet:
    """The one core StatefulSet ``<name>-core`` of operator 3.0: ordinal pods ``<name>-core-0``,
    ``-1`` ..., each on the revision it was created from. A new template revision replaces them
    one at a time, highest ordinal first, once every pod is ready (a RollingUpdate); the
    current revision becomes the update revision when no pod of another revision is left."""

    role: str
    name: str
    uid: str
    created: bool = False
    update_revision: str | None = None
    current_revision: str | None = None
    desired: int = 0
    images: dict[str, ImageInfo] = field(default_factory=dict)
    pods: list[SimPod] = field(default_factory=list)
    _serial: int = 0

    def roll_to(self, revision: str, image: ImageInfo) -> str | None:
        """Make ``revision`` the update revision: "create" (the set is new), "update" (a new
        template for the existing set), or None (nothing changes)."""
        self.images[revision] = image
        if self.created and self.update_revision == revision:
            return None
        kind = "update" if self.created else "create"
        self.created = True
        self.update_revision = revision
        if self.current_revision is None:
            self.current_revision = revision
        return kind

    def _new_pod(self, ordinal: int) -> SimPod:
        self._serial += 1
        name = f"{self.name}-{ordinal}"
        return SimPod(name, stable_uid(self.uid, name, str(self._serial)), ordinal, self.update_revision or "")

    def scale_up_to(self, replicas: int) -> bool:
        """Create the missing pods (not ready yet) on the update revision, lowest free ordinals first."""
        created = False
        used = {p.ordinal for p in self.pods}
        ordinal = 0
        while len(self.pods) < replicas:
            while ordinal in used:
                ordinal += 1
            self.pods.append(self._new_pod(ordinal))
            used.add(ordinal)
            created = True
        self.pods.sort(key=lambda p: p.ordinal)
        return created

    def image_of(self, pod: SimPod) -> ImageInfo:
        """What the pod's EMQX reports about itself (the image of its revision)."""
        return self.images.get(pod.revision) or ImageInfo("", "", "", "")

    @property
    def ready_replicas(self) -> int:
        """``status.readyReplicas``: pods whose EMQX runs (a stopped node fails its probe)."""
        return sum(1 for p in self.pods if p.running)

    @property
    def updated_replicas(self) -> int:
        """``status.updatedReplicas``: pods on the update revision, ready or not."""
        return sum(1 for p in self.pods if p.revision == self.update_revision)

    @property
    def current_replicas(self) -> int:
        """``status.currentReplicas``: pods on the current revision."""
        return sum(1 for p in self.pods if p.revision == self.current_revision)

    def refresh_current_revision(self) -> None:
        """The current revision becomes the update one once no pod of another revision is left."""
        if self.update_revision is not None and all(p.revision == self.update_revision for p in self.pods):
            self.current_revision = self.update_revision

    def step(self, *, down: bool, stuck: bool) -> tuple[str, SimPod] | None:
        """One action on the set's pods (scale down, fault, readiness, rolling replacement)."""
        try:
            if len(self.pods) > self.desired:
                return "deleted", self.pods.pop()  # highest ordinal first
            if not down:
                pod = next((p for p in self.pods if p.down), None)
                if pod is not None:
                    pod.down = False
                    return "recovered", pod
            elif not any(p.down for p in self.pods):
                pod = next((p for p in reversed(self.pods) if p.running), None)
                if pod is not None:
                    pod.down = True
                    return "down", pod
            if not stuck:
                pod = next((p for p in self.pods if not p.ready and not p.down), None)
                if pod is not None:
                    pod.ready, pod.ready_at = True, time.time()
                    return "ready", pod
            outdated = [p for p in self.pods if p.revision != self.update_revision]
            if outdated and len(self.pods) == self.desired and all(p.running for p in self.pods):
                old = outdated[-1]
                new = self._new_pod(old.ordinal)
                self.pods[self.pods.index(old)] = new
                return "replaced", new
            return None
        finally:
            self.refresh_current_revision()

    def waiting(self) -> bool:
        """New pods that have not become ready (what ``stuck-progressing`` holds back)."""
        return any(not p.ready for p in self.pods if p.revision == self.update_revision)

    def evacuee(self) -> tuple[SimPod, list[SimPod]] | None:
        """The pod on an older revision that the next :meth:`step` replaces (the highest
        ordinal, once every pod runs), and the running pods already on the update revision, which
        take its sessions (before the first is replaced, the set's other running pods: a simulator
        decision); None when no pod is replaced next."""
        outdated = [p for p in self.pods if p.revision != self.update_revision]
        if not outdated or len(self.pods) != self.desired or not all(p.running for p in self.pods):
            return None
        leaving = outdated[-1]
        updated = [p for p in self.pods if p.running and p.revision == self.update_revision]
        return leaving, updated or [p for p in self.pods if p.running and p is not leaving]


class PodGroup(Protocol):
    """A role's pods that move one step per reconcile (:class:`Role` or :class:`RollingSet`)."""

    @property
    def role(self) -> str: ...

    def step(self, *, down: bool, stuck: bool) -> tuple[str, SimPod] | None: ...

    def waiting(self) -> bool: ...


# ----- simulated durable storage (EMQX /api/v5/ds/storages) -------------------------------

DS_DB = "messages"
"""The durable-storage database EMQX 5.x creates for durable sessions."""
_DS_SHARDS = 16  # durable_storage.messages.n_shards default
_DS_REPLICATION_FACTOR = 3  # durable_storage.messages.replication_factor default
_DS_TRANSITIONS_ON_CHANGE = 4  # shard ownership transitions after a membership change
_DS_TRANSITIONS_PER_STEP = 2  # settled per simulated step once the core pods are still


@dataclass
class DurableStorage:
    """The replication of EMQX's durable storage as ``dsReplication.dbs`` reports it.

    A change of the core pods (DS enabled, pods added or removed) starts
    ``_DS_TRANSITIONS_ON_CHANGE`` shard transitions; each simulated step in which the core pods
    did not move settles ``_DS_TRANSITIONS_PER_STEP`` of them, down to 0 (stable)."""

    enabled: bool = False
    members: frozenset[str] = frozenset()
    transitions: int = 0

    def observe(self, enabled: bool, members: Iterable[str]) -> None:
        """Whether DS is on, and the core pods now: a change starts shard transitions."""
        names = frozenset(members)
        if not enabled:
            self.transitions = 0
        elif names and (not self.enabled or names != self.members):
            self.transitions = _DS_TRANSITIONS_ON_CHANGE
        self.enabled, self.members = enabled, names

    def settle(self) -> bool:
        """One step of settling; True if something moved."""
        if self.transitions <= 0:
            return False
        self.transitions = max(0, self.transitions - _DS_TRANSITIONS_PER_STEP)
        return True

    def dbs(self, running_cores: int) -> list[dict[str, Any]]:
        """``dsReplication.dbs`` (per database: shards, replicas, transitions)."""
        if not self.enabled or running_cores <= 0:
            return []
        factor = min(_DS_REPLICATION_FACTOR, running_cores)
        return [
            {
                "name": DS_DB,
                "numShards": _DS_SHARDS,
                "numShardReplicas": _DS_SHARDS * factor,
                "lostShardReplicas": 0,
                "numTransitions": self.transitions,
                "minReplicas": factor,
                "maxReplicas": factor,
            }
        ]


# ----- the worlds -------------------------------------------------------------------------


@dataclass
class World:
    """An EMQX whose core nodes are one StatefulSet per revision (2.2, 2.3 model A)."""

    uid: str
    core: Role = field(default_factory=lambda: Role("core"))
    replicant: Role = field(default_factory=lambda: Role("replicant"))
    warned_generation: int | None = None
    stuck_warned: bool = False
    ds: DurableStorage = field(default_factory=DurableStorage)


@dataclass
class RollingWorld:
    """An EMQX whose core nodes are one rolling StatefulSet (3.0; 2.3 model B)."""

    uid: str
    core: RollingSet
    replicant: Role = field(default_factory=lambda: Role("replicant"))
    warned_generation: int | None = None
    stuck_warned: bool = False
    ds: DurableStorage = field(default_factory=DurableStorage)
    startup_revisions: dict[str, str] = field(default_factory=dict)
    """Pod-template revision -> the startup configuration revision its pods carry (3.0)."""


def advance_pods(
    groups: Sequence[PodGroup], raw: Mapping[str, Any], *, stuck_warned: bool
) -> tuple[list[EventSpec], bool, bool]:
    """One step of each role's pods. Returns the Events (a node stopped or recovered by a
    simulated fault, new pods held back), whether anything moved, and whether new pods are
    held back now (``stuck-progressing``)."""
    faults = faults_of(raw.get("metadata") or {})
    stuck = "stuck-progressing" in faults
    events: list[EventSpec] = []
    moved = False
    for group in groups:
        fault = f"{group.role}-node-down"
        step = group.step(down=fault in faults, stuck=stuck)
        if step is None:
            continue
        moved = True
        action, pod = step
        node = node_name(pod, group.role, raw)
        if action == "down":
            events.append(("Warning", "NodeDown", f"EMQX node {node} is stopped (simulated fault {fault})"))
        elif action == "recovered":
            events.append(("Normal", "NodeRecovered", f"EMQX node {node} is running again"))
    stuck_now = stuck and any(group.waiting() for group in groups)
    if stuck_now and not stuck_warned:
        events.append(("Warning", "PodsNotReady", "new pods do not become ready (simulated fault stuck-progressing)"))
    return events, moved, stuck_now


def warn_invalid_hocon(
    sim: Simulator, raw: Mapping[str, Any], text: str | None, warned_generation: int | None
) -> tuple[bool, int | None]:
    """``spec.config.data`` must parse as HOCON (2.2 and 2.3). If not: a Warning Event
    ``InvalidConfig`` once per generation, and the reconcile stops. Returns (invalid, the
    generation warned about)."""
    if not text:
        return False, warned_generation
    error = hocon.check(text)
    if error is None:
        return False, warned_generation
    generation = int((raw.get("metadata") or {}).get("generation") or 0)
    if warned_generation != generation:
        sim.recorder.event(raw, "Warning", "InvalidConfig", f"Invalid HOCON in .spec.config.data: {error}")
    return True, generation


# ----- what the nodes report -------------------------------------------------------------------


def node_name(pod: SimPod, role: str, raw: Mapping[str, Any]) -> str:
    """The EMQX node name: core pods by their headless-service DNS name, replicants by pod IP
    (EMQX_HOST is status.podIP)."""
    meta = raw.get("metadata") or {}
    if role == "replicant":
        return f"emqx@{pod.ip}"
    domain = (raw.get("spec") or {}).get("clusterDomain") or "cluster.local"
    return f"emqx@{pod.name}.{meta.get('name')}-headless.{meta.get('namespace')}.svc.{domain}"


def cluster_node(
    pod: SimPod, image: ImageInfo, role: str, raw: Mapping[str, Any], *, serves_clients: bool
) -> dict[str, Any]:
    """One node as 2.3 and 3.0 write it (``EMQXNode``): ``sessions`` is EMQX's ``connections``
    counter, ``connections`` its ``live_connections``."""
    name = node_name(pod, role, raw)
    sessions, connections = client_counts(name) if pod.running and serves_clients else (0, 0)
    return {
        "name": name,
        "podName": pod.name,
        "status": "running" if pod.running else "stopped",
        "otpRelease": image.otp_release,
        "version": image.version,
        "role": role,
        "sessions": sessions,
        "connections": connections,
    }


def client_counts(node: str) -> tuple[int, int]:
    """(sessions, connections) of a running EMQX node that serves clients: EMQX's ``connections``
    counter (made up, stable per node name) and its ``live_connections`` (5 % fewer). Every line
    reports these two numbers under its own names (v2beta1 ``connections``/``live_connections``,
    v2 and v3beta1 ``sessions``/``connections``)."""
    sessions = stable_int(node, 150, 4200)
    return sessions, sessions - sessions // 20


# ----- node evacuations ------------------------------------------------------------------------

EVICTION_RATE_DEFAULT = 1000
"""The schema default of both eviction rates of ``spec.updateStrategy.evacuationStrategy``, in
every line (v2beta1 and v2 ``connEvictRate``/``sessEvictRate``, v3beta1
``connectionEvictionRate``/``sessionEvictionRate``)."""


@dataclass(frozen=True)
class EvictionRates:
    """The eviction rates an evacuation runs at: connections and sessions per second."""

    connections: int = EVICTION_RATE_DEFAULT
    sessions: int = EVICTION_RATE_DEFAULT


def eviction_rates(spec: Mapping[str, Any]) -> EvictionRates | None:
    """The rates of ``spec.updateStrategy.evacuationStrategy``: ``connEvictRate`` /
    ``sessEvictRate`` (v2beta1, v2) or ``connectionEvictionRate`` / ``sessionEvictionRate``
    (v3beta1; each schema keeps only its own pair), the schema's default where one is missing;
    None when the strategy's ``type`` is ``Disabled`` (v3beta1: no evacuation, the old nodes just
    stop)."""
    update = spec.get("updateStrategy")
    strategy = update.get("evacuationStrategy") if isinstance(update, Mapping) else None
    if not isinstance(strategy, Mapping):
        return EvictionRates()
    if strategy.get("type") == "Disabled":
        return None

    def rate(*keys: str) -> int:
        value = next((strategy[k] for k in keys if isinstance(strategy.get(k), int)), EVICTION_RATE_DEFAULT)
        return int(value)

    return EvictionRates(rate("connEvictRate", "connectionEvictionRate"), rate("sessEvictRate", "sessionEvictionRate"))


@dataclass(frozen=True)
class NodeEvacuation:
    """One node evacuation in flight, as EMQX's ``/api/v5/load_rebalance/global_status`` reports
    it: the node, its state, the nodes taking its sessions, its connections and sessions when the
    evacuation started and now, and the eviction rates (per second)."""

    node: str
    state: str
    recipients: tuple[str, ...]
    initial_connections: int
    initial_sessions: int
    current_connections: int
    current_sessions: int
    rates: EvictionRates

    def as_status(self) -> dict[str, Any]:
        """The item of 2.3's ``nodeEvacuationsStatus`` and 3.0's ``nodeEvacuations`` (the same
        type, ``OPERATOR-STATUS.md``): initial counts only, no current ones."""
        return {
            "nodeName": self.node,
            "state": self.state,
            "sessionRecipients": list(self.recipients),
            "sessionEvictionRate": self.rates.sessions,
            "connectionEvictionRate": self.rates.connections,
            "initialSessions": self.initial_sessions,
            "initialConnections": self.initial_connections,
        }


def node_evacuation(
    world: World | RollingWorld, raw: Mapping[str, Any], *, has_replicants: bool
) -> NodeEvacuation | None:
    """The node evacuation in flight during an update, the one rule of every line's simulator.

    The operator (``update_emqx_nodes.go`` in 2.2; the 3.0 schema's readiness probe "takes into
    account ongoing node evacuations managed by the Operator as part of scaling operations and
    rolling updates") evacuates, through EMQX's node evacuation API, each node of the role that
    serves clients (the replicants, or the core nodes without any) before that node stops, one at
    a time, and reports EMQX's evacuation status. Simulator decisions, where the sources are silent:

    * the node evacuated is the one the role's next step removes (:meth:`Role.evacuee`,
      :meth:`RollingSet.evacuee`): an old-revision pod once the new pods all run; a scale-down
      evacuates nothing;
    * one step stands for the whole evacuation: its state is ``evicting_conns`` with half of its
      connections and sessions gone (:func:`client_counts` at the start);
    * it runs at the spec's :func:`eviction_rates`; v3beta1's ``Disabled`` strategy evacuates
      nothing.

    Callers ask after this reconcile's set changes and just before the pods move, so the status
    written names the node that the step then removes, and only when the pods do move (not while
    a v3beta1 CR is paused) and EMQX's API answers.
    """
    rates = eviction_rates(raw.get("spec") or {})
    if rates is None:
        return None
    role: Role | RollingSet = world.replicant if has_replicants else world.core
    found = role.evacuee()
    if found is None:
        return None
    leaving, recipients = found
    name = node_name(leaving, role.role, raw)
    sessions, connections = client_counts(name) if leaving.running else (0, 0)  # a stopped node has none
    return NodeEvacuation(
        node=name,
        state="evicting_conns",
        recipients=tuple(node_name(p, role.role, raw) for p in recipients),
        initial_connections=connections,
        initial_sessions=sessions,
        current_connections=connections // 2,
        current_sessions=sessions // 2,
        rates=rates,
    )


def sort_by_uptime(entries: Iterable[tuple[SimPod, dict[str, Any]]]) -> list[dict[str, Any]]:
    """``updateEMQXNodesStatus``: by uptime in whole seconds, ascending, then by node name."""
    now = time.time()
    ordered = sorted(entries, key=lambda e: (int(max(0.0, now - e[0].ready_at)), str(e[1]["name"])))
    return [item for _, item in ordered]


def pod_template(spec: Mapping[str, Any], template_key: str, *, ignore: Sequence[str] = ()) -> dict[str, Any]:
    """What goes into the pod template of a role's set: a change of any of it rolls pods."""
    template = dict(spec.get(template_key) or {})
    skip = (*NOT_POD_TEMPLATE, *ignore)
    template["spec"] = {k: v for k, v in (template.get("spec") or {}).items() if k not in skip}
    return {
        "image": spec.get("image"),
        "imagePullPolicy": spec.get("imagePullPolicy"),
        "imagePullSecrets": spec.get("imagePullSecrets"),
        "serviceAccountName": spec.get("serviceAccountName"),
        "clusterDomain": spec.get("clusterDomain"),
        "template": template,
    }


# ----- condition setters of each line ---------------------------------------------------------


def _find(conditions: list[dict[str, Any]], type_: str) -> dict[str, Any] | None:
    return next((c for c in conditions if c.get("type") == type_), None)


def remove_condition(conditions: list[dict[str, Any]], type_: str) -> bool:
    """``RemoveCondition``; True if there was one."""
    before = len(conditions)
    conditions[:] = [c for c in conditions if c.get("type") != type_]
    return len(conditions) != before


def set_at_front(conditions: list[dict[str, Any]], type_: str, status: str, reason: str, message: str = "") -> None:
    """2.3 model A ``EMQXStatus.SetCondition`` (``api/v2``): the old entry is removed and the
    new one inserted first, ``lastTransitionTime`` now, no ``observedGeneration``."""
    remove_condition(conditions, type_)
    conditions.insert(
        0,
        {"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": now_rfc3339()},
    )


def set_appended(conditions: list[dict[str, Any]], type_: str, status: str, reason: str, message: str) -> bool:
    """2.3 model B: skipped when status, reason and message are unchanged; otherwise the entry is
    removed and appended at the end, ``lastTransitionTime`` now, no ``observedGeneration``."""
    old = _find(conditions, type_)
    if old is not None and (old.get("status"), old.get("reason"), old.get("message")) == (status, reason, message):
        return False
    remove_condition(conditions, type_)
    conditions.append(
        {"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": now_rfc3339()}
    )
    return True


def set_standard(
    conditions: list[dict[str, Any]], type_: str, status: str, reason: str, message: str, generation: int
) -> bool:
    """3.0 ``apimeta.SetStatusCondition``: an existing type is updated in place, a new one
    appended; ``lastTransitionTime`` changes only when the status flips; ``observedGeneration``
    is the object's generation. True if anything changed."""
    old = _find(conditions, type_)
    if old is None:
        conditions.append(
            {
                "type": type_,
                "status": status,
                "observedGeneration": generation,
                "lastTransitionTime": now_rfc3339(),
                "reason": reason,
                "message": message,
            }
        )
        return True
    changed = False
    if old.get("status") != status:
        old["status"], old["lastTransitionTime"], changed = status, now_rfc3339(), True
    for key, value in (("reason", reason), ("message", message), ("observedGeneration", generation)):
        if old.get(key) != value:
            old[key], changed = value, True
    return changed


# ----- the independent conditions of 2.3 model B and 3.0 ---------------------------------------


@dataclass(frozen=True)
class Observation:
    """What ``updateStatus`` sees at the start of a reconcile of a :class:`RollingWorld`
    (before this round's set changes), from the sets, the pods and EMQX's API."""

    core_exists: bool
    core_desired: int
    core_total: int  # StatefulSet status.replicas
    core_ready: int  # StatefulSet status.readyReplicas
    core_updated: int  # pods on the update revision
    core_current: int  # pods on the current revision
    replicants_specified: bool
    replicants_present: bool
    replicant_desired: int
    replicant_pods: int
    replicant_available: int
    rs_update_exists: bool
    rs_update_total: int
    rs_update_ready: int
    rs_current_revision: str | None
    rs_update_revision: str | None
    rs_current_desired: int
    api: str  # "ok", "none" (no eligible core pod), "failed" (the fault api-unavailable)
    api_error: str
    nodes: tuple[dict[str, Any], ...]
    core_running_nodes: int  # core pods with a running node entry
    replicant_running_nodes: int
    dbs: tuple[dict[str, Any], ...]


def observe_rolling(
    world: RollingWorld,
    raw: Mapping[str, Any],
    *,
    core_desired: int,
    replicant_desired: int,
    api_failure: bool,
) -> Observation:
    """Observe ``world`` as the operator's ``updateStatus`` does: set counts, then EMQX's nodes
    (through any running core pod) and durable storage."""
    core = world.core
    replicant = world.replicant
    replicant.refresh_current_revision()
    specified = replicant_desired > 0
    replicant_pods = replicant.pods()
    present = bool(replicant_pods)
    update_set = replicant.update_set
    current_set = replicant.current_set
    running_core = [p for p in core.pods if p.running]
    nodes: list[tuple[SimPod, dict[str, Any]]] = []
    api = "none" if not running_core else ("failed" if api_failure else "ok")
    error = ""
    if api == "failed":
        pod = running_core[0]
        meta = raw.get("metadata") or {}
        url = f"http://{pod.name}.{meta.get('name')}-headless.{meta.get('namespace')}.svc:18083/api/v5/nodes"
        error = f'failed to get node status: Get "{url}": dial tcp {pod.ip}:18083: connect: connection refused'
    if api == "ok":
        serves = not specified
        for pod in core.pods:
            if pod.ready:  # joined the cluster (running, or stopped by a fault)
                nodes.append((pod, cluster_node(pod, core.image_of(pod), "core", raw, serves_clients=serves)))
        for pod_set in replicant.sets.values():
            for pod in pod_set.pods:
                if pod.ready:
                    nodes.append((pod, cluster_node(pod, pod_set.image, "replicant", raw, serves_clients=True)))
    items = sort_by_uptime(nodes)
    running = {str(n["podName"]) for n in items if n["status"] == "running"}
    return Observation(
        core_exists=core.created,
        core_desired=core_desired,
        core_total=len(core.pods),
        core_ready=core.ready_replicas,
        core_updated=core.updated_replicas,
        core_current=core.current_replicas,
        replicants_specified=specified,
        replicants_present=present,
        replicant_desired=replicant_desired,
        replicant_pods=len(replicant_pods),
        replicant_available=sum(1 for p in replicant_pods if p.running),
        rs_update_exists=update_set is not None,
        rs_update_total=len(update_set.pods) if update_set is not None else 0,
        rs_update_ready=update_set.ready_replicas if update_set is not None else 0,
        rs_current_revision=replicant.current_revision,
        rs_update_revision=replicant.update_revision,
        rs_current_desired=len(current_set.pods) if current_set is not None else 0,
        api=api,
        api_error=error,
        nodes=tuple(items),
        core_running_nodes=sum(1 for p in core.pods if p.name in running),
        replicant_running_nodes=sum(1 for p in replicant_pods if p.name in running),
        dbs=tuple(world.ds.dbs(len(running_core))) if api == "ok" else (),
    )


Verdict = tuple[str, str, str, str]  # (type, status, reason, message)


def evaluate_independent(obs: Observation, *, ds_case: bool) -> tuple[list[Verdict], bool]:
    """``evaluateStatusConditions`` (2.3 model B, 3.0): CoreNodesProgressing,
    ReplicantNodesProgressing, Available and Ready, each from the observation alone. Returns
    the verdicts in that order and whether ReplicantNodesProgressing is to be removed (no
    replicants specified and none left). ``ds_case``: Ready's ``DSReplicationProgressing``
    (3.0 only)."""
    verdicts: list[Verdict] = []
    desired = obs.core_desired
    if not obs.core_exists:
        verdicts.append((CORE_NODES_PROGRESSING, "True", "Create", "spinning up core set"))
    elif obs.core_total < desired:
        verdicts.append((CORE_NODES_PROGRESSING, "True", "ScalingUp", f"{obs.core_total}/{desired} core pods"))
    elif obs.core_total > desired:
        verdicts.append((CORE_NODES_PROGRESSING, "True", "ScalingDown", f"{obs.core_total}/{desired} core pods"))
    elif obs.core_updated < desired:
        message = f"{obs.core_updated}/{desired} core pods updated"
        verdicts.append((CORE_NODES_PROGRESSING, "True", "RollingUpdate", message))
    else:
        verdicts.append((CORE_NODES_PROGRESSING, "False", "Converged", f"{desired} core pods up to date"))

    with_replicants = obs.replicants_specified or obs.replicants_present
    remove_replicants = not with_replicants
    if with_replicants:
        wanted = obs.replicant_desired
        total = obs.rs_update_total
        if not obs.rs_update_exists:
            verdicts.append((REPLICANT_NODES_PROGRESSING, "True", "Create", "spinning up replicant set"))
        elif obs.rs_current_revision != obs.rs_update_revision:
            message = f"{total - obs.rs_current_desired}/{total} replicant pods updated"
            verdicts.append((REPLICANT_NODES_PROGRESSING, "True", "RollingUpdate", message))
        elif total > wanted:
            verdicts.append((REPLICANT_NODES_PROGRESSING, "True", "ScalingDown", f"{total}/{wanted} replicant pods"))
        elif total < wanted:
            verdicts.append((REPLICANT_NODES_PROGRESSING, "True", "ScalingUp", f"{total}/{wanted} replicant pods"))
        else:
            verdicts.append((REPLICANT_NODES_PROGRESSING, "False", "Converged", f"{wanted} replicant pods up to date"))

    if obs.replicants_specified:
        wanted, available = obs.replicant_desired, obs.replicant_available
        message = f"{available}/{wanted} replicant pods available"
        if available >= wanted:
            verdicts.append((AVAILABLE, "True", "ReplicantPodsAvailable", message))
        else:
            verdicts.append((AVAILABLE, "False", "ReplicantPodsUnavailable", message))
    else:
        message = f"{obs.core_ready}/{desired} core pods available"
        if obs.core_ready >= desired:
            verdicts.append((AVAILABLE, "True", "CorePodsAvailable", message))
        else:
            verdicts.append((AVAILABLE, "False", "CorePodsUnavailable", message))

    cores_ready = (
        obs.core_total == desired
        and obs.core_ready == desired
        and obs.core_updated == desired
        and obs.core_running_nodes == desired
    )
    replicants_ready = not with_replicants or (
        obs.rs_update_total == obs.replicant_desired
        and obs.rs_update_ready == obs.replicant_desired
        and obs.replicant_pods == obs.replicant_desired
        and obs.replicant_running_nodes == obs.replicant_desired
    )
    ds_stable = all(db["numTransitions"] == 0 and db["minReplicas"] == db["maxReplicas"] for db in obs.dbs)
    if not cores_ready:
        verdicts.append((READY, "False", "CoreNodesProgressing", "Core nodes are progressing"))
    elif not replicants_ready:
        verdicts.append((READY, "False", "ReplicantNodesProgressing", "Replicant nodes are progressing"))
    elif ds_case and not ds_stable:
        message = "Durable storage membership transitions are in progress"
        verdicts.append((READY, "False", "DSReplicationProgressing", message))
    else:
        verdicts.append((READY, "True", "Ready", "Cluster is ready"))
    return verdicts, remove_replicants


def adopt_rolling(
    raw: Mapping[str, Any],
    nodes: Iterable[Any],
    core_count: int,
    *,
    core_revision: str,
    image: ImageInfo,
    startup_revision: str | None = None,
) -> RollingWorld:
    """A :class:`RollingWorld` rebuilt from an object's status: a simulator that starts on an
    object another one (or an earlier run) took care of takes over the pods its status lists,
    as ready, instead of rolling the cluster out again. ``nodes``: the status's node items
    (``clusterNodes``, or ``coreNodes`` + ``replicantNodes``). The core pods are taken to be on
    ``core_revision`` (the revision of the spec as it is now: the status records none)."""
    meta = raw.get("metadata") or {}
    uid, name = str(meta.get("uid")), str(meta.get("name"))
    world = RollingWorld(uid, RollingSet("core", f"{name}-core", stable_uid(uid, f"{name}-core")))
    status = raw.get("status") or {}
    items = [n for n in nodes if isinstance(n, Mapping)]
    now = time.time()
    core_nodes = {str(n.get("podName")): n for n in items if n.get("role") == "core" and n.get("podName")}
    if core_count or core_nodes:
        core = world.core
        core.created, core.update_revision, core.current_revision = True, core_revision, core_revision
        core.images[core_revision] = _image_from_node(next(iter(core_nodes.values()), None), image)
        ordinals = {int(p.rsplit("-", 1)[1]) for p in core_nodes if p.rsplit("-", 1)[-1].isdigit()}
        for ordinal in sorted(ordinals | set(range(core_count))):
            pod_name = f"{core.name}-{ordinal}"
            pod = SimPod(pod_name, stable_uid(core.uid, pod_name), ordinal, core_revision, ready=True, ready_at=now)
            node = core_nodes.get(pod_name)
            pod.down = node is not None and node.get("status") != "running"
            core.pods.append(pod)
        core.desired = len(core.pods)
        if startup_revision is not None:
            world.startup_revisions[core_revision] = startup_revision
    counts = status.get("replicantNodesStatus") or {}
    update = counts.get("updateRevision")
    if update:
        role = world.replicant
        current = counts.get("currentRevision") or update
        for revision in dict.fromkeys((current, update)):
            pod_set = PodSet.new(f"{name}-replicant-{revision}", revision, uid, image, ordinal_names=False)
            for node in items:
                pod_name = str(node.get("podName") or "")
                if node.get("role") != "replicant" or not pod_name.startswith(pod_set.name + "-"):
                    continue
                pod_set.image = _image_from_node(node, image)
                pod = SimPod(pod_name, stable_uid(pod_set.uid, pod_name), len(pod_set.pods), revision, ready=True)
                pod.ready_at, pod.down = now, node.get("status") != "running"
                pod_set.pods.append(pod)
            role.sets[revision] = pod_set
            if startup_revision is not None:
                world.startup_revisions[revision] = startup_revision
        role.update_revision, role.current_revision = update, current
        role.desired = len(role.sets[update].pods)
    return world


def _image_from_node(node: Mapping[str, Any] | None, fallback: ImageInfo) -> ImageInfo:
    if node is None:
        return fallback
    return ImageInfo(
        image=fallback.image,
        version=str(node.get("version") or fallback.version),
        edition=fallback.edition,
        otp_release=str(node.get("otpRelease") or fallback.otp_release),
    )
