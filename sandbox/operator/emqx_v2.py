"""EMQX ``apps.emqx.io/v2``: the status the emqx-operator 2.3 writes, simulated in both models.

Source: ``OPERATOR-STATUS.md``, "EMQX v2 status (operator 2.3)". Which model a 2.3.x release
ships is not established, so the simulator plays either: ``A`` by default, ``B`` with
``Simulator(cs, emqx_v2_model="B")``, and per object with the annotation
``sim.emqx.io/status-model: A|B`` (:data:`~sandbox.operator.common.STATUS_MODEL_ANNOTATION`).

**Model A**, the state machine (``main-2.3`` at ``b5155578``; ``updateStatusCondition`` in
``internal/controller/update_emqx_status.go``, ``EMQXStatus.SetCondition`` /
``ResetConditions`` in ``api/v2``). Per reconcile, in the operator's order:

1. ``spec.config.data`` must parse as HOCON, else a Warning Event ``InvalidConfig`` and nothing else.
2. ``updateStatus``: counts and nodes from the simulated sets (one StatefulSet per pod-template
   hash, ``<name>-core-<hash>``), then the state machine, transition after transition in the
   same reconcile while one applies (the operator recurses): Initialized -> CoreNodesProgressing
   (an update StatefulSet exists) -> CoreNodesReady (its ready pods > 0 and all its pods) ->
   ReplicantNodesProgressing or Available -> ReplicantNodesReady -> Available -> Ready (every
   count settled); from Ready, a drop of ready pods resets (CoreNodesNotReady,
   ReplicantNodesNotReady). Every write inserts the condition **first** with
   ``lastTransitionTime`` now; a True condition's reason is its type and its message empty,
   except Ready ("Cluster is ready"). No ``observedGeneration``.
3. ``addCoreSet``: a new core pod template creates a new StatefulSet and resets with
   ``CreateNewStatefulSet`` (``RevertStatefulSet`` back to a kept revision): every True condition
   but Initialized is rewritten **False** with that reason, each moved to the front.
4. ``addReplicantSet``, once CoreNodesReady is True: the same with ``CreateReplicaSet`` /
   ``RevertReplicaSet``, and ``UpdateReplicaSet`` when only the replicant count changed.
5. The status is written; the simulated pods move one step.

**Model B**, independent conditions (the later ``api/v2``, ``f022f718``): CoreNodesProgressing,
ReplicantNodesProgressing, Available, Ready evaluated on every reconcile with 3.0's reasons and
messages (Ready without ``DSReplicationProgressing``); a condition is rewritten only when its
status, reason or message changed, removed and **appended at the end**, no
``observedGeneration``. The core set is one rolling StatefulSet ``<name>-core``. Its status
fields (``nodeEvacuations``, ``coreNodesStatus.updatedReplicas``) are not in the served v2
schema (model A's): the API server would prune them, so the simulator writes the status as the
server keeps it.

Status fields: ``coreNodes``/``replicantNodes`` (name, podName, status, otpRelease, version,
role, sessions, connections; sorted by uptime then name), ``coreNodesStatus`` /
``replicantNodesStatus``, ``dsReplication`` (``{}``, or one database when ``spec.config.data``
turns ``durable_sessions.enable`` on: a simulator decision), and the node evacuation in flight
during an update (:func:`~sandbox.operator.emqx_world.node_evacuation`, the rule and simulator
decisions shared with v2beta1 and v3beta1: the node that serves clients and is removed next,
at ``spec.updateStrategy.evacuationStrategy``'s rates, only while EMQX's API answers). Model A
writes it as ``nodeEvacuationsStatus`` {nodeName, state, sessionRecipients,
sessionEvictionRate, connectionEvictionRate, initialSessions, initialConnections}: initial
counts only. Model B writes ``nodeEvacuations``, which the served v2 schema prunes: on a 2.3
cluster model B shows **no** evacuations, as the real operator's status would.

Simulator decisions: a change of model for an existing object rebuilds its pods from its status;
B starts CoreNodesProgressing True RollingUpdate "0 core pods updated" (and Ready False) on a new
pod template at once, as 3.0 does; in both models the replicant set starts (and rolls) once the
core pods are ready.
"""

from __future__ import annotations

import logging
import re
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from emqx.models.apps_v2 import EMQX, EMQXStatus
from sandbox.operator.base import Controller, Outcome, StatusChange
from sandbox.operator.common import (
    STATUS_MODEL_ANNOTATION,
    STATUS_MODELS,
    ImageInfo,
    drop_empty,
    image_info,
    stable_uid,
    template_hash,
)
from sandbox.operator.emqx_world import (
    CORE_NODES_PROGRESSING,
    READY,
    REPLICANT_NODES_PROGRESSING,
    NodeEvacuation,
    Observation,
    Role,
    RollingWorld,
    World,
    adopt_rolling,
    advance_pods,
    cluster_node,
    evaluate_independent,
    node_evacuation,
    observe_rolling,
    pod_template,
    remove_condition,
    set_appended,
    set_at_front,
    sort_by_uptime,
    warn_invalid_hocon,
)
from sandbox.operator.pods import PodSet, SimPod

if TYPE_CHECKING:
    from sandbox.operator.simulator import Simulator

__all__ = [
    "AVAILABLE",
    "CORE_NODES_READY",
    "INITIALIZED",
    "REPLICANT_NODES_READY",
    "STATUS_MODELS",
    "STATUS_MODEL_ANNOTATION",
    "EmqxV2Controller",
    "status_model_of",
]

log = logging.getLogger(__name__)

INITIALIZED = "Initialized"
CORE_NODES_READY = "CoreNodesReady"
REPLICANT_NODES_READY = "ReplicantNodesReady"
AVAILABLE = "Available"

# addCoreSet / addReplicantSet reset reasons (model A), by kind of rollout.
_CORE_RESET = {"create": "CreateNewStatefulSet", "update": "CreateNewStatefulSet", "revert": "RevertStatefulSet"}
_REPLICANT_RESET = {"create": "CreateReplicaSet", "update": "CreateReplicaSet", "revert": "RevertReplicaSet"}
_REPLICANT_SCALED = "UpdateReplicaSet"

_DS_ON = re.compile(r"durable_sessions\s*(?:\.\s*enable\s*[=:]\s*true\b|\{[^{}]*\benable\s*[=:]\s*true\b)")


def status_model_of(metadata: Mapping[str, Any], default: str) -> str:
    """The status model of one object: its annotation :data:`STATUS_MODEL_ANNOTATION` (``A`` or
    ``B``, any case) if set to one of them, else ``default``."""
    value = str((metadata.get("annotations") or {}).get(STATUS_MODEL_ANNOTATION) or "").strip().upper()
    return value if value in STATUS_MODELS else default


def _replicas(spec: Mapping[str, Any], key: str, default: int) -> int:
    template = spec.get(key)
    template_spec = template.get("spec") if isinstance(template, Mapping) else None
    value = template_spec.get("replicas") if isinstance(template_spec, Mapping) else None
    return int(value) if isinstance(value, int) else default


def _config_data(spec: Mapping[str, Any]) -> str | None:
    config = spec.get("config")
    data = config.get("data") if isinstance(config, Mapping) else None
    return data if isinstance(data, str) else None


@dataclass(frozen=True)
class _ObservationA:
    """What model A's ``updateStatus`` sees (before this round's set changes)."""

    update_sts: bool
    update_sts_ready: int
    update_rs: bool
    update_rs_ready: int
    core_status: dict[str, Any]
    replicant_status: dict[str, Any]
    core_nodes: tuple[dict[str, Any], ...]
    replicant_nodes: tuple[dict[str, Any], ...]
    dbs: tuple[dict[str, Any], ...]
    api: bool  # EMQX's API answered (a core pod runs)


@dataclass
class _PlanA:
    core_reset: str | None = None
    core_revision: str | None = None
    replicant_reset: str | None = None
    replicant_revision: str | None = None
    evacuation: NodeEvacuation | None = None  # nodeEvacuationsStatus


class EmqxV2Controller(Controller):
    """The 2.3 EMQX controller (``OPERATOR-STATUS.md``, "EMQX v2 status (operator 2.3)", models
    A and B); see the module docstring."""

    kind = "EMQX"
    model = EMQX

    def __init__(self, status_model: str = "A") -> None:
        if status_model not in STATUS_MODELS:
            raise ValueError(f"the EMQX v2 status model is one of {', '.join(STATUS_MODELS)}, got {status_model!r}")
        self.status_model = status_model
        self._worlds: dict[str, World | RollingWorld] = {}

    def __repr__(self) -> str:
        return f"<EmqxV2Controller apps.emqx.io/v2 EMQX, model {self.status_model}>"

    def forget(self, uid: str) -> None:
        self._worlds.pop(uid, None)

    def put_status(self, sim: Simulator, namespace: str, name: str, body: dict[str, Any], field_manager: str) -> None:
        sim.clientset.transport.request(
            "PUT", self.path(namespace, name) + "/status", query=[("fieldManager", field_manager)], body=body
        )

    def reconcile(self, sim: Simulator, raw: dict[str, Any], *, advance: bool) -> Outcome:
        """One reconcile in the object's status model (module docstring; OPERATOR-STATUS.md,
        "EMQX v2 status (operator 2.3)")."""
        meta = raw.get("metadata") or {}
        spec = raw.get("spec")
        if not isinstance(spec, dict) or not spec.get("image"):
            log.warning("skipping EMQX %s/%s: it has no spec with an image", meta.get("namespace"), meta.get("name"))
            return Outcome(settled=True)
        uid = str(meta.get("uid"))
        model = status_model_of(meta, self.status_model)
        world = self._worlds.get(uid)
        wanted = World if model == "A" else RollingWorld
        if not isinstance(world, wanted):
            world = self._worlds[uid] = _adopt_a(raw) if model == "A" else _adopt_b(raw)
        invalid, world.warned_generation = warn_invalid_hocon(sim, raw, _config_data(spec), world.warned_generation)
        if invalid:
            return Outcome(settled=True)
        data = _config_data(spec) or ""
        if isinstance(world, World):
            return self._reconcile_a(sim, raw, spec, world, ds_enabled=bool(_DS_ON.search(data)), advance=advance)
        return self._reconcile_b(sim, raw, spec, world, ds_enabled=bool(_DS_ON.search(data)), advance=advance)

    # ----- model A ---------------------------------------------------------------------------

    def _reconcile_a(
        self,
        sim: Simulator,
        raw: dict[str, Any],
        spec: dict[str, Any],
        world: World,
        *,
        ds_enabled: bool,
        advance: bool,
    ) -> Outcome:
        name = str((raw.get("metadata") or {}).get("name"))
        core_desired = _replicas(spec, "coreTemplate", 2)
        replicant_desired = _replicas(spec, "replicantTemplate", 2) if spec.get("replicantTemplate") else 0
        has_replicants = replicant_desired > 0
        image = image_info(str(spec.get("image")))

        world.ds.observe(ds_enabled, (p.name for p in world.core.pods()))
        obs = _observe_a(world, raw, core_desired, replicant_desired)
        # What updateStatus decides (from the status as read) tells addReplicantSet whether to run.
        conditions = _machine_a(
            [dict(c) for c in (raw.get("status") or {}).get("conditions") or []], obs, has_replicants
        )

        plan = _PlanA()
        core = world.core
        core.history_limit = int(spec.get("revisionHistoryLimit") or 3)
        revision = template_hash(pod_template(spec, "coreTemplate"))
        kind = core.roll_to(revision, lambda rev: PodSet.new(f"{name}-core-{rev}", rev, world.uid, image))
        core.pending = None
        if kind is not None:
            plan.core_reset, plan.core_revision = _CORE_RESET[kind], revision
            _reset(conditions, _CORE_RESET[kind])
        core.desired = core_desired
        assert core.update_set is not None
        core.update_set.scale_up_to(core_desired)

        replicant = world.replicant
        if not has_replicants:
            replicant.desired = 0
        elif _is_true(conditions, CORE_NODES_READY):
            replicant.history_limit = core.history_limit
            revision = template_hash(pod_template(spec, "replicantTemplate"))
            existed = replicant.update_set is not None
            kind = replicant.roll_to(
                revision,
                lambda rev: PodSet.new(f"{name}-replicant-{rev}", rev, world.uid, image, ordinal_names=False),
            )
            replicant.pending = None
            if kind is not None:
                plan.replicant_reset, plan.replicant_revision = _REPLICANT_RESET[kind], revision
            elif existed and replicant.desired != replicant_desired:
                plan.replicant_reset, plan.replicant_revision = _REPLICANT_SCALED, revision
            replicant.desired = replicant_desired
            assert replicant.update_set is not None
            replicant.update_set.scale_up_to(replicant_desired)
        if obs.api:
            plan.evacuation = node_evacuation(world, raw, has_replicants=has_replicants)

        def compute(current: dict[str, Any]) -> StatusChange:
            return self._status_a(current, obs, plan, has_replicants=has_replicants)

        change = sim.write_status(self, raw, compute)
        moved = self._advance(sim, raw, world, (world.core, world.replicant), advance=advance)
        return Outcome(settled=change is None and not moved and world.ds.transitions == 0)

    def _status_a(
        self, current: dict[str, Any], obs: _ObservationA, plan: _PlanA, *, has_replicants: bool
    ) -> StatusChange:
        conditions = _machine_a(
            [dict(c) for c in (current.get("status") or {}).get("conditions") or []], obs, has_replicants
        )
        core_status = dict(obs.core_status)
        replicant_status = dict(obs.replicant_status)
        if plan.core_reset is not None:
            _reset(conditions, plan.core_reset)
            core_status["updateRevision"] = plan.core_revision
        if plan.replicant_reset is not None:
            _reset(conditions, plan.replicant_reset)
            replicant_status["updateRevision"] = plan.replicant_revision
        status: dict[str, Any] = {"conditions": conditions}
        if obs.core_nodes:
            status["coreNodes"] = [dict(n) for n in obs.core_nodes]
        status["coreNodesStatus"] = core_status
        if obs.replicant_nodes:
            status["replicantNodes"] = [dict(n) for n in obs.replicant_nodes]
        status["replicantNodesStatus"] = replicant_status
        status["dsReplication"] = {"dbs": [dict(db) for db in obs.dbs]} if obs.dbs else {}
        if plan.evacuation is not None:
            status["nodeEvacuationsStatus"] = [plan.evacuation.as_status()]
        return StatusChange(_prune(status, EMQXStatus))

    # ----- model B ---------------------------------------------------------------------------

    def _reconcile_b(
        self,
        sim: Simulator,
        raw: dict[str, Any],
        spec: dict[str, Any],
        world: RollingWorld,
        *,
        ds_enabled: bool,
        advance: bool,
    ) -> Outcome:
        name = str((raw.get("metadata") or {}).get("name"))
        core_desired = _replicas(spec, "coreTemplate", 2)
        replicant_desired = _replicas(spec, "replicantTemplate", 2) if spec.get("replicantTemplate") else 0
        image = image_info(str(spec.get("image")))

        world.ds.observe(ds_enabled, (p.name for p in world.core.pods))
        obs = observe_rolling(
            world, raw, core_desired=core_desired, replicant_desired=replicant_desired, api_failure=False
        )
        kind = world.core.roll_to(template_hash(pod_template(spec, "coreTemplate")), image)
        force_core = kind == "update"
        world.core.desired = core_desired
        world.core.scale_up_to(core_desired)
        force_replicant = False
        replicant = world.replicant
        if replicant_desired <= 0:
            replicant.desired = 0
        elif _rolling_settled(world):
            replicant.history_limit = int(spec.get("revisionHistoryLimit") or 3)
            kind = replicant.roll_to(
                template_hash(pod_template(spec, "replicantTemplate")),
                lambda rev: PodSet.new(f"{name}-replicant-{rev}", rev, world.uid, image, ordinal_names=False),
            )
            replicant.pending = None
            force_replicant = kind in ("update", "revert")
            replicant.desired = replicant_desired
            assert replicant.update_set is not None
            replicant.update_set.scale_up_to(replicant_desired)
        evacuation = node_evacuation(world, raw, has_replicants=replicant_desired > 0) if obs.api == "ok" else None

        def compute(current: dict[str, Any]) -> StatusChange:
            return self._status_b(current, obs, evacuation, force_core=force_core, force_replicant=force_replicant)

        change = sim.write_status(self, raw, compute)
        moved = self._advance(sim, raw, world, (world.core, world.replicant), advance=advance)
        return Outcome(settled=change is None and not moved and world.ds.transitions == 0)

    def _status_b(
        self,
        current: dict[str, Any],
        obs: Observation,
        evacuation: NodeEvacuation | None,
        *,
        force_core: bool,
        force_replicant: bool,
    ) -> StatusChange:
        conditions = [dict(c) for c in (current.get("status") or {}).get("conditions") or []]
        verdicts, drop_replicants = evaluate_independent(obs, ds_case=False)
        if drop_replicants:
            remove_condition(conditions, REPLICANT_NODES_PROGRESSING)
        for verdict in verdicts:
            set_appended(conditions, *verdict)
        if force_core:
            set_appended(conditions, CORE_NODES_PROGRESSING, "True", "RollingUpdate", "0 core pods updated")
            set_appended(conditions, READY, "False", "CoreNodesProgressing", "Core nodes are progressing")
        if force_replicant:
            set_appended(conditions, REPLICANT_NODES_PROGRESSING, "True", "RollingUpdate", "0 replicant pods updated")
            set_appended(conditions, READY, "False", "ReplicantNodesProgressing", "Replicant nodes are progressing")
        core_nodes = [drop_empty(n) for n in obs.nodes if n.get("role") == "core"]
        replicant_nodes = [drop_empty(n) for n in obs.nodes if n.get("role") == "replicant"]
        status: dict[str, Any] = {"conditions": conditions}
        if core_nodes:
            status["coreNodes"] = core_nodes
        status["coreNodesStatus"] = drop_empty(
            {
                "readyReplicas": obs.core_running_nodes,
                "updatedReplicas": obs.core_updated,
                "currentReplicas": obs.core_current,
            }
        )
        if replicant_nodes:
            status["replicantNodes"] = replicant_nodes
        status["replicantNodesStatus"] = drop_empty(
            {
                "readyReplicas": obs.replicant_running_nodes,
                "currentRevision": obs.rs_current_revision,
                "currentReplicas": obs.rs_current_desired,
                "updateRevision": obs.rs_update_revision,
                "updateReplicas": obs.rs_update_total,
            }
        )
        status["dsReplication"] = {"dbs": [dict(db) for db in obs.dbs]} if obs.dbs else {}
        if evacuation is not None:
            # Model B's field: not in the served v2 schema, so the API server drops it (_prune).
            status["nodeEvacuations"] = [evacuation.as_status()]
        return StatusChange(_prune(status, EMQXStatus))

    # ----- both ----------------------------------------------------------------------------

    @staticmethod
    def _advance(
        sim: Simulator, raw: dict[str, Any], world: World | RollingWorld, groups: tuple[Any, ...], *, advance: bool
    ) -> bool:
        if not advance:
            return False
        events, moved, world.stuck_warned = advance_pods(groups, raw, stuck_warned=world.stuck_warned)
        for event in events:
            sim.recorder.event(raw, *event)
        settled = _core_sets_settled(world.core) if isinstance(world, World) else _rolling_settled(world)
        if settled and world.ds.settle():
            moved = True
        return moved


# ----- model A's state machine -------------------------------------------------------------------


def _is_true(conditions: list[dict[str, Any]], type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in conditions)


def _head(conditions: list[dict[str, Any]]) -> str | None:
    """``GetLastTrueCondition``: the first True condition is the current state."""
    return next((str(c.get("type")) for c in conditions if c.get("status") == "True"), None)


def _set_true(conditions: list[dict[str, Any]], type_: str) -> None:
    """``SetTrueCondition``: reason = the type, message empty; Ready says "Cluster is ready"."""
    set_at_front(conditions, type_, "True", type_, "Cluster is ready" if type_ == READY else "")


def _reset(conditions: list[dict[str, Any]], reason: str) -> None:
    """``ResetConditions``: every True condition but Initialized becomes False with ``reason``,
    each moved to the front in turn."""
    types = [str(c.get("type")) for c in conditions if c.get("type") != INITIALIZED and c.get("status") == "True"]
    for type_ in types:
        set_at_front(conditions, type_, "False", reason)


def _machine_a(conditions: list[dict[str, Any]], obs: _ObservationA, has_replicants: bool) -> list[dict[str, Any]]:
    """``updateStatusCondition`` of model A: transitions while one applies (the operator
    recurses after each). Returns ``conditions``, changed in place."""
    if not has_replicants:  # inheritConditions
        remove_condition(conditions, REPLICANT_NODES_PROGRESSING)
        remove_condition(conditions, REPLICANT_NODES_READY)
    core, replicant = obs.core_status, obs.replicant_status
    for _ in range(32):  # a guard: every path below ends
        head = _head(conditions)
        if head is None:
            _set_true(conditions, INITIALIZED)
        elif head == INITIALIZED:
            if not obs.update_sts:
                break
            _set_true(conditions, CORE_NODES_PROGRESSING)
        elif head == CORE_NODES_PROGRESSING:
            if not (obs.update_sts and 0 < obs.update_sts_ready == int(core.get("updateReplicas") or 0)):
                break
            _set_true(conditions, CORE_NODES_READY)
        elif head == CORE_NODES_READY:
            _set_true(conditions, REPLICANT_NODES_PROGRESSING if has_replicants else AVAILABLE)
        elif head == REPLICANT_NODES_PROGRESSING:
            if not has_replicants:
                _reset(conditions, "NoReplicants")
            elif obs.update_rs and 0 < obs.update_rs_ready == int(replicant.get("updateReplicas") or 0):
                _set_true(conditions, REPLICANT_NODES_READY)
            else:
                break
        elif head == REPLICANT_NODES_READY:
            if not has_replicants:
                _reset(conditions, "NoReplicants")
            else:
                _set_true(conditions, AVAILABLE)
        elif head == AVAILABLE:
            if not (_counts_settled(core) and (not has_replicants or _counts_settled(replicant))):
                break
            _set_true(conditions, READY)
        elif head == READY:
            if obs.update_sts and obs.update_sts_ready != int(core.get("replicas") or 0):
                _reset(conditions, "CoreNodesNotReady")
            elif has_replicants and obs.update_rs and obs.update_rs_ready != int(replicant.get("replicas") or 0):
                _reset(conditions, "ReplicantNodesNotReady")
            else:
                break
        else:
            break
    return conditions


def _counts_settled(counts: Mapping[str, Any]) -> bool:
    replicas = int(counts.get("replicas") or 0)
    return (
        int(counts.get("updateReplicas") or 0) == replicas
        and int(counts.get("readyReplicas") or 0) == replicas
        and counts.get("updateRevision") == counts.get("currentRevision")
    )


def _core_sets_settled(core: Role) -> bool:
    """The newest core set has all its pods, every one running, and no older set has pods."""
    update = core.update_set
    return (
        update is not None
        and len(update.pods) == core.desired
        and all(p.running for p in update.pods)
        and not any(s.pods for s in core.old_sets())
    )


def _rolling_settled(world: RollingWorld) -> bool:
    """Every pod of the rolling core set exists, runs, and is on the newest revision."""
    core = world.core
    return (
        core.created
        and len(core.pods) == core.desired
        and all(p.running and p.revision == core.update_revision for p in core.pods)
    )


def _observe_a(world: World, raw: Mapping[str, Any], core_desired: int, replicant_desired: int) -> _ObservationA:
    """Model A's ``updateStatus``: ``switchCoreSet``/``switchReplicantSet``, counts, and the
    nodes EMQX reports through the oldest ready core pod."""
    has_replicants = replicant_desired > 0
    core, replicant = world.core, world.replicant
    core.refresh_current_revision()
    replicant.refresh_current_revision()
    core_pods = core.pods()
    requester = any(p.running for p in core_pods)
    core_entries: list[tuple[SimPod, dict[str, Any]]] = []
    replicant_entries: list[tuple[SimPod, dict[str, Any]]] = []
    if requester:
        for pod_set in core.sets.values():
            for pod in pod_set.pods:
                if pod.ready:
                    node = cluster_node(pod, pod_set.image, "core", raw, serves_clients=not has_replicants)
                    core_entries.append((pod, drop_empty(node)))
        for pod_set in replicant.sets.values():
            for pod in pod_set.pods:
                if pod.ready:
                    node = cluster_node(pod, pod_set.image, "replicant", raw, serves_clients=True)
                    replicant_entries.append((pod, drop_empty(node)))
    core_nodes = sort_by_uptime(core_entries)
    replicant_nodes = sort_by_uptime(replicant_entries)

    def counts(role: Role, replicas: int, nodes: Iterable[dict[str, Any]]) -> dict[str, Any]:
        update, current = role.update_set, role.current_set
        return drop_empty(
            {
                "replicas": replicas,
                "readyReplicas": sum(1 for n in nodes if n.get("status") == "running"),
                "currentRevision": role.current_revision,
                "currentReplicas": len(current.pods) if current is not None else 0,
                "updateRevision": role.update_revision,
                "updateReplicas": len(update.pods) if update is not None else 0,
            }
        )

    update_sts, update_rs = core.update_set, replicant.update_set
    return _ObservationA(
        update_sts=update_sts is not None,
        update_sts_ready=update_sts.ready_replicas if update_sts is not None else 0,
        update_rs=update_rs is not None,
        update_rs_ready=update_rs.ready_replicas if update_rs is not None else 0,
        core_status=counts(core, core_desired, core_nodes),
        replicant_status=counts(replicant, replicant_desired, replicant_nodes) if has_replicants else {},
        core_nodes=tuple(core_nodes),
        replicant_nodes=tuple(replicant_nodes),
        dbs=tuple(world.ds.dbs(sum(1 for p in core_pods if p.running))) if requester else (),
        api=requester,
    )


# ----- adoption and the served schema -----------------------------------------------------------


def _adopt_a(raw: Mapping[str, Any]) -> World:
    """A model-A world rebuilt from the object's status (``coreNodes``/``replicantNodes`` and the
    revisions in ``coreNodesStatus``/``replicantNodesStatus``): the pods listed, ready."""
    meta = raw.get("metadata") or {}
    uid, name = str(meta.get("uid")), str(meta.get("name"))
    world = World(uid)
    status = raw.get("status") or {}
    for role, nodes_key, counts_key in (
        (world.core, "coreNodes", "coreNodesStatus"),
        (world.replicant, "replicantNodes", "replicantNodesStatus"),
    ):
        counts = status.get(counts_key) or {}
        update = counts.get("updateRevision")
        if not update:
            continue
        current = counts.get("currentRevision") or update
        for revision in dict.fromkeys((current, update)):
            pod_set = PodSet.new(
                f"{name}-{role.role}-{revision}", revision, uid, image_info(""), ordinal_names=role.role == "core"
            )
            for node in status.get(nodes_key) or []:
                pod_name = str(node.get("podName") or "")
                if not pod_name.startswith(pod_set.name + "-"):
                    continue
                suffix = pod_name.rsplit("-", 1)[-1]
                ordinal = int(suffix) if suffix.isdigit() else len(pod_set.pods)
                pod_set.image = ImageInfo("", str(node.get("version") or ""), "", str(node.get("otpRelease") or ""))
                pod = SimPod(pod_name, stable_uid(pod_set.uid, pod_name), ordinal, revision, ready=True)
                pod.down = node.get("status") != "running"
                pod_set.pods.append(pod)
            pod_set.pods.sort(key=lambda p: p.ordinal)
            role.sets[revision] = pod_set
        role.update_revision, role.current_revision = update, current
        role.desired = int(counts.get("replicas") or 0)
    return world


def _adopt_b(raw: Mapping[str, Any]) -> RollingWorld:
    """A model-B world rebuilt from the object's status (see :func:`adopt_rolling`)."""
    status = raw.get("status") or {}
    spec = raw.get("spec") or {}
    nodes = [*(status.get("coreNodes") or []), *(status.get("replicantNodes") or [])]
    return adopt_rolling(
        raw,
        nodes,
        len(status.get("coreNodes") or []),
        core_revision=template_hash(pod_template(spec, "coreTemplate")),
        image=image_info(str(spec.get("image") or "")),
    )


def _prune(data: Mapping[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """``data`` without the fields the served schema (the generated model) does not have: what
    the API server keeps of a status write (it prunes unknown fields)."""
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    kept: dict[str, Any] = {}
    for key, value in data.items():
        info = fields.get(key)
        if info is None:
            continue
        inner = _model_in(info.annotation)
        if inner is not None and isinstance(value, Mapping):
            value = _prune(value, inner)
        elif inner is not None and isinstance(value, list):
            value = [_prune(v, inner) if isinstance(v, Mapping) else v for v in value]
        kept[key] = value
    return kept


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
