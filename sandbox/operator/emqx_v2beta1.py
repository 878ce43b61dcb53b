"""EMQX ``apps.emqx.io/v2beta1``: the status the emqx-operator (2.2.x) writes, simulated.

Per reconcile, in the operator's order (``controllers/apps/v2beta1``):

1. ``spec.config.data`` must parse as HOCON; if not, a Warning Event ``InvalidConfig`` and
   nothing else: the status stays where it is.
2. ``updateStatus``: node lists and counts from the simulated pods, then **one** step of the
   status machine (``status_machine.go``), see :func:`_next_status`.
3. ``addCore``: a new pod template (image, core template) means a new StatefulSet revision:
   ``CoreNodesProgressing`` (CreateNewStatefulSet / UpdateStatefulSet / RevertStatefulSet)
   is set and Ready, Available and CoreNodesReady are removed.
4. ``addRepl``: once CoreNodesReady is True, the same for the replicant ReplicaSet
   (CreateNewReplicaSet / UpdateReplicaSet / RevertReplicaSet; Ready, Available and
   ReplicantNodesReady removed).
5. The status is written (PUT .../status) when it changed, with ``nodeEvacuationsStatus``
   during an update (:func:`_evacuations`); each newly set condition is also a Normal Event with
   the condition's reason and message.
6. The simulated world moves one step: per role, one pod is created, becomes ready, stops
   (fault) or is deleted (scale-down, old revision drained).

Two differences of timing, so that every state can be seen for one pace: the operator
goes from nothing to Initialized and on to CoreNodesProgressing in one reconcile, the
simulator writes ``Initialized`` alone first; the operator's addRepl starts the replicants
in the reconcile that set CoreNodesReady, the simulator's in the next one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from emqx.models.apps_v2beta1 import EMQX
from sandbox.operator.base import Controller, EventSpec, Outcome, StatusChange, move_to_front
from sandbox.operator.common import (
    ImageInfo,
    drop_empty,
    image_info,
    now_rfc3339,
    template_hash,
)
from sandbox.operator.emqx_world import (
    Role,
    World,
    advance_pods,
    client_counts,
    node_evacuation,
    node_name,
    pod_template,
    warn_invalid_hocon,
)
from sandbox.operator.pods import PodSet, SimPod

if TYPE_CHECKING:
    from sandbox.operator.simulator import Simulator

__all__ = [
    "AVAILABLE",
    "CORE_NODES_PROGRESSING",
    "CORE_NODES_READY",
    "INITIALIZED",
    "READY",
    "REPLICANT_NODES_PROGRESSING",
    "REPLICANT_NODES_READY",
    "EmqxController",
]

log = logging.getLogger(__name__)

INITIALIZED = "Initialized"
CORE_NODES_PROGRESSING = "CoreNodesProgressing"
CORE_NODES_READY = "CoreNodesReady"
REPLICANT_NODES_PROGRESSING = "ReplicantNodesProgressing"
REPLICANT_NODES_READY = "ReplicantNodesReady"
AVAILABLE = "Available"
READY = "Ready"

# (reason, message) of each kind of rollout, per role.
_ROLLOUT = {
    "core": {
        "create": ("CreateNewStatefulSet", "Create new statefulSet"),
        "update": ("UpdateStatefulSet", "Update statefulSet"),
        "revert": ("RevertStatefulSet", "Revert statefulSet"),
    },
    "replicant": {
        "create": ("CreateNewReplicaSet", "Create new replicaSet"),
        "update": ("UpdateReplicaSet", "Update replicaSet"),
        "revert": ("RevertReplicaSet", "Revert replicaSet"),
    },
}


_Role = Role
_World = World


class EmqxController(Controller):
    kind = "EMQX"
    model = EMQX

    def __init__(self) -> None:
        self._worlds: dict[str, _World] = {}

    def forget(self, uid: str) -> None:
        self._worlds.pop(uid, None)

    # ----- reconcile --------------------------------------------------------------------

    def reconcile(self, sim: Simulator, raw: dict[str, Any], *, advance: bool) -> Outcome:
        meta = raw.get("metadata") or {}
        try:
            emqx = EMQX.from_dict(raw)
        except ValidationError as error:
            log.warning(
                "skipping EMQX %s/%s: it does not fit the v2beta1 model: %s",
                meta.get("namespace"),
                meta.get("name"),
                error,
            )
            return Outcome(settled=True)
        if emqx.spec is None:
            # The CRD does not require a spec. The operator would build pods without an image
            # that never start; the simulator leaves such an object alone and says so.
            log.warning("skipping EMQX %s/%s: it has no spec", meta.get("namespace"), meta.get("name"))
            return Outcome(settled=True)
        world = self._worlds.get(str(meta.get("uid")))
        if world is None:
            world = self._worlds[str(meta.get("uid"))] = _adopt(_World(str(meta.get("uid"))), raw)

        config = emqx.spec.config.data if emqx.spec.config is not None else None
        invalid, world.warned_generation = warn_invalid_hocon(sim, raw, config, world.warned_generation)
        if invalid:
            return Outcome(settled=True)

        if not (raw.get("status") or {}).get("conditions"):
            # The first reconcile: Initialized, nothing else exists yet.
            change = sim.write_status(self, raw, lambda current: self._initialized(emqx, current))
            return Outcome(settled=change is None)

        self._sync_core(emqx, world, raw)
        change = sim.write_status(self, raw, lambda current: self._status(emqx, world, current))
        if change is not None:
            world.core.pending = None
            world.replicant.pending = None
        moved = False
        if advance:
            events, moved = self._advance(emqx, world, raw)
            for event in events:
                sim.recorder.event(raw, *event)
        return Outcome(settled=change is None and not moved)

    def _initialized(self, emqx: EMQX, current: dict[str, Any]) -> StatusChange | None:
        if (current.get("status") or {}).get("conditions"):
            return None  # someone (a previous attempt) wrote it meanwhile
        condition = self._condition(current, INITIALIZED, "Initialized", "initialized EMQX cluster")
        status: dict[str, Any] = {
            "conditions": [condition],
            "coreNodesStatus": drop_empty({"replicas": _core_replicas(emqx)}),
        }
        if _replicant_replicas(emqx):
            status["replicantNodesStatus"] = drop_empty({"replicas": _replicant_replicas(emqx)})
        return StatusChange(status, [("Normal", "Initialized", "initialized EMQX cluster")])

    @staticmethod
    def _condition(current: dict[str, Any], type_: str, reason: str, message: str) -> dict[str, Any]:
        # metav1.Condition; observedGeneration is the spec generation the condition is about.
        return {
            "type": type_,
            "status": "True",
            "reason": reason,
            "message": message,
            "lastTransitionTime": now_rfc3339(),
            "observedGeneration": int((current.get("metadata") or {}).get("generation") or 0),
        }

    # ----- the operator's status ----------------------------------------------------------

    def _status(self, emqx: EMQX, world: _World, current: dict[str, Any]) -> StatusChange:
        old = current.get("status") or {}
        conditions: list[dict[str, Any]] = [dict(c) for c in old.get("conditions") or []]
        newly_set: dict[str, tuple[str, str]] = {}

        def set_condition(type_: str, reason: str, message: str) -> None:
            nonlocal conditions
            conditions = move_to_front(
                conditions,
                self._condition(current, type_, reason, message),
                keep_transition_time_if_same_status=False,
                update_time_key=None,
            )
            newly_set[type_] = (reason, message)

        def remove(*types: str) -> None:
            nonlocal conditions
            conditions = [c for c in conditions if c.get("type") not in types]

        # updateStatus: counts from the nodes, then one step of the status machine.
        core_status, core_nodes = _nodes_status(world.core, emqx, current, has_replicants=_has_replicants(emqx))
        _next_status(conditions, set_condition, remove, emqx, world, core_status, self._replicant_counts(world, emqx))

        # addCore: a new core revision rolls the core nodes again.
        if world.core.pending is not None:
            reason, message = _ROLLOUT["core"][world.core.pending]
            set_condition(CORE_NODES_PROGRESSING, reason, message)
            remove(READY, AVAILABLE, CORE_NODES_READY)

        # addRepl: only once the core nodes are ready. The operator runs it in the same
        # reconcile that set CoreNodesReady; here it waits for the next one, so that
        # CoreNodesReady is seen (for one pace) before the replicants start.
        core_was_ready = _is_true(old.get("conditions") or [], CORE_NODES_READY)
        if _has_replicants(emqx) and core_was_ready and _is_true(conditions, CORE_NODES_READY):
            self._sync_replicant(emqx, world, current)
            if world.replicant.pending is not None:
                reason, message = _ROLLOUT["replicant"][world.replicant.pending]
                set_condition(REPLICANT_NODES_PROGRESSING, reason, message)
                remove(READY, AVAILABLE, REPLICANT_NODES_READY)
        replicant_status = self._replicant_counts(world, emqx)
        replicant_nodes: list[dict[str, Any]] = []
        if world.replicant.sets:
            replicant_status, replicant_nodes = _nodes_status(world.replicant, emqx, current, has_replicants=True)

        status: dict[str, Any] = {key: value for key, value in old.items() if key not in _OWNED_STATUS_KEYS}
        status["conditions"] = conditions
        if core_nodes:
            status["coreNodes"] = core_nodes
        status["coreNodesStatus"] = core_status
        if replicant_nodes:
            status["replicantNodes"] = replicant_nodes
        if replicant_status:
            status["replicantNodesStatus"] = replicant_status
        evacuations = _evacuations(world, current, has_replicants=_has_replicants(emqx))
        if evacuations:
            status["nodeEvacuationsStatus"] = evacuations
        # One Event per condition this reconcile set (and kept): the last reason wins, as in
        # the status written.
        final = {c.get("type") for c in conditions}
        events: list[EventSpec] = [("Normal", r, m) for t, (r, m) in newly_set.items() if t in final]
        return StatusChange(status, events)

    @staticmethod
    def _replicant_counts(world: _World, emqx: EMQX) -> dict[str, Any]:
        if world.replicant.sets:
            return _nodes_status(world.replicant, emqx, {}, has_replicants=True)[0]
        if _replicant_replicas(emqx):
            return drop_empty({"replicas": _replicant_replicas(emqx)})
        return {}

    # ----- the simulated StatefulSets / ReplicaSets ---------------------------------------

    def _sync_core(self, emqx: EMQX, world: _World, raw: dict[str, Any]) -> None:
        spec = raw.get("spec") or {}
        revision = template_hash(_pod_template(spec, "coreTemplate"))
        name = str(raw["metadata"]["name"])
        image = image_info(emqx.spec.image if emqx.spec else "")
        world.core.history_limit = int(spec.get("revisionHistoryLimit") or 3)
        world.core.roll_to(revision, lambda rev: PodSet.new(f"{name}-core-{rev}", rev, world.uid, image))
        world.core.desired = _core_replicas(emqx)
        assert world.core.update_set is not None
        world.core.update_set.scale_up_to(world.core.desired)

    def _sync_replicant(self, emqx: EMQX, world: _World, raw: dict[str, Any]) -> None:
        spec = raw.get("spec") or {}
        revision = template_hash(_pod_template(spec, "replicantTemplate"))
        name = str(raw["metadata"]["name"])
        image = image_info(emqx.spec.image if emqx.spec else "")
        world.replicant.history_limit = int(spec.get("revisionHistoryLimit") or 3)
        world.replicant.roll_to(
            revision, lambda rev: PodSet.new(f"{name}-replicant-{rev}", rev, world.uid, image, ordinal_names=False)
        )
        world.replicant.desired = _replicant_replicas(emqx)
        assert world.replicant.update_set is not None
        world.replicant.update_set.scale_up_to(world.replicant.desired)

    def _advance(self, emqx: EMQX, world: _World, raw: dict[str, Any]) -> tuple[list[EventSpec], bool]:
        """One step of the simulated pods of each role; returns Events and whether anything moved."""
        if not _has_replicants(emqx):
            world.replicant.desired = 0
        events, moved, world.stuck_warned = advance_pods(
            (world.core, world.replicant), raw, stuck_warned=world.stuck_warned
        )
        return events, moved


def _adopt(world: _World, raw: dict[str, Any]) -> _World:
    """A simulator that starts on an object another one (or an earlier run) took care of
    rebuilds the pods its status lists, instead of rolling the cluster out again."""
    status = raw.get("status") or {}
    name = str((raw.get("metadata") or {}).get("name"))
    for role, nodes_key, counts_key in (
        (world.core, "coreNodes", "coreNodesStatus"),
        (world.replicant, "replicantNodes", "replicantNodesStatus"),
    ):
        counts = status.get(counts_key) or {}
        update = counts.get("updateRevision")
        if not update:
            continue
        current = counts.get("currentRevision") or update
        for revision in dict.fromkeys((current, update)):  # oldest first, once each
            pod_set = PodSet.new(
                f"{name}-{role.role}-{revision}", revision, world.uid, image_info(""), ordinal_names=role.role == "core"
            )
            for node in status.get(nodes_key) or []:
                if node.get("controllerUID") != pod_set.uid:
                    continue
                host = str(node.get("node", "")).partition("@")[2]
                pod_name = host.split(".", 1)[0] if role.role == "core" else f"{pod_set.name}-{len(pod_set.pods)}"
                ordinal = int(pod_name.rsplit("-", 1)[1]) if pod_name.rsplit("-", 1)[-1].isdigit() else 0
                pod_set.image = ImageInfo(
                    image="",
                    version=str(node.get("version") or ""),
                    edition=str(node.get("edition") or ""),
                    otp_release=str(node.get("otp_release") or ""),
                )
                pod = SimPod(pod_name, str(node.get("podUID") or pod_name), ordinal, revision, ready=True)
                pod.down = node.get("node_status") != "running"
                pod_set.pods.append(pod)
            pod_set.pods.sort(key=lambda p: p.ordinal)
            role.sets[revision] = pod_set
        role.update_revision, role.current_revision = update, current
        role.desired = int(counts.get("replicas") or 0)
    return world


_OWNED_STATUS_KEYS = (
    "conditions",
    "coreNodes",
    "coreNodesStatus",
    "replicantNodes",
    "replicantNodesStatus",
    "nodeEvacuationsStatus",
)


def _evacuations(world: _World, raw: dict[str, Any], *, has_replicants: bool) -> list[dict[str, Any]]:
    """``nodeEvacuationsStatus`` during a blue-green update (``update_emqx_nodes.go``): the node
    evacuation in flight (:func:`~sandbox.operator.emqx_world.node_evacuation`, the rule every
    line's simulator shares), as v2beta1 writes EMQX's answer: ``node``, snake_case keys, and
    ``stats`` with the initial and current counts."""
    evacuation = node_evacuation(world, raw, has_replicants=has_replicants)
    if evacuation is None:
        return []
    return [
        drop_empty(
            {
                "node": evacuation.node,
                "state": evacuation.state,
                "session_recipients": list(evacuation.recipients),
                "connection_eviction_rate": evacuation.rates.connections,
                "session_eviction_rate": evacuation.rates.sessions,
                "stats": {
                    "initial_connected": evacuation.initial_connections,
                    "current_connected": evacuation.current_connections,
                    "initial_sessions": evacuation.initial_sessions,
                    "current_sessions": evacuation.current_sessions,
                },
            }
        )
    ]


def _next_status(
    conditions: list[dict[str, Any]],
    set_condition: Any,
    remove: Any,
    emqx: EMQX,
    world: _World,
    core: dict[str, Any],
    replicant: dict[str, Any],
) -> None:
    """One transition of the operator's status machine (``status_machine.go``)."""
    current = next((c.get("type") for c in conditions if c.get("status") == "True"), None)
    has_replicants = _has_replicants(emqx)
    core_set, replicant_set = world.core.observed_set, world.replicant.observed_set
    core_replicas = int(core.get("replicas") or 0)
    replicant_replicas = int(replicant.get("replicas") or 0)

    def start_over() -> None:  # initializedStatus.nextStatus
        remove(
            READY,
            AVAILABLE,
            REPLICANT_NODES_READY,
            REPLICANT_NODES_PROGRESSING,
            CORE_NODES_READY,
            CORE_NODES_PROGRESSING,
        )
        set_condition(CORE_NODES_PROGRESSING, "CoreNodesProgressing", "Core nodes progressing")

    if current is None or current == INITIALIZED:
        start_over()
    elif current == CORE_NODES_PROGRESSING:
        if core_set is not None and core_set.ready_replicas != 0 and core_set.ready_replicas == core_replicas:
            set_condition(CORE_NODES_READY, "CoreNodesReady", "Core nodes is ready")
    elif current == CORE_NODES_READY:
        if has_replicants:
            set_condition(REPLICANT_NODES_PROGRESSING, "ReplicantNodesProgressing", "Replicant nodes progressing")
        else:
            set_condition(AVAILABLE, "Available", "Cluster is available")
    elif current == REPLICANT_NODES_PROGRESSING:
        if not has_replicants:
            start_over()
        elif (
            replicant_set is not None
            and replicant_set.ready_replicas != 0
            and replicant_set.ready_replicas == replicant_replicas
        ):
            set_condition(REPLICANT_NODES_READY, "ReplicantNodesReady", "Replicant nodes ready")
    elif current == REPLICANT_NODES_READY:
        if not has_replicants:
            start_over()
        else:
            set_condition(AVAILABLE, "Available", "Cluster is available")
    elif current == AVAILABLE:
        if _settled_counts(core) and (not has_replicants or _settled_counts(replicant)):
            set_condition(READY, "Ready", "Cluster is ready")
    elif current == READY:
        if core_set is not None and core_set.ready_replicas != core_replicas:
            start_over()
        elif has_replicants and replicant_set is not None and replicant_set.ready_replicas != replicant_replicas:
            remove(READY, AVAILABLE, REPLICANT_NODES_READY)
            set_condition(REPLICANT_NODES_PROGRESSING, "ReplicantNodesProgressing", "Replicant nodes progressing")


def _settled_counts(counts: dict[str, Any]) -> bool:
    return int(counts.get("readyReplicas") or 0) == int(counts.get("replicas") or 0) and counts.get(
        "updateRevision"
    ) == counts.get("currentRevision")


def _is_true(conditions: list[dict[str, Any]], type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in conditions)


def _core_replicas(emqx: EMQX) -> int:
    template = emqx.spec.core_template if emqx.spec else None
    spec = template.spec if template is not None else None
    if spec is None:
        return 1 if template is None else 2
    return int(spec.replicas if spec.replicas is not None else 2)


def _replicant_replicas(emqx: EMQX) -> int:
    template = emqx.spec.replicant_template if emqx.spec else None
    if template is None:
        return 0
    if template.spec is None:
        return 2
    return int(template.spec.replicas if template.spec.replicas is not None else 2)


def _has_replicants(emqx: EMQX) -> bool:
    """``IsExistReplicant``: a replicant template with more than zero replicas."""
    return _replicant_replicas(emqx) > 0


_pod_template = pod_template
_node_name = node_name


def _nodes_status(
    role: _Role, emqx: EMQX, raw: dict[str, Any], *, has_replicants: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``coreNodesStatus`` / ``replicantNodesStatus`` and the node list, as updateStatus
    derives them from EMQX's /api/v5/nodes (nodes that joined: running or stopped)."""
    role.refresh_current_revision()
    replicas = _core_replicas(emqx) if role.role == "core" else _replicant_replicas(emqx)
    nodes: list[dict[str, Any]] = []
    ready = current = update = 0
    for pod_set in role.sets.values():
        for pod in pod_set.pods:
            if not pod.ready:
                continue  # not started yet: not a member of the EMQX cluster
            name = _node_name(pod, role.role, raw) if raw else pod.name
            serves_clients = role.role == "replicant" or not has_replicants
            connections, live = client_counts(name) if pod.running and serves_clients else (0, 0)
            nodes.append(
                drop_empty(
                    {
                        "node": name,
                        "node_status": "running" if pod.running else "stopped",
                        "otp_release": pod_set.image.otp_release,
                        "version": pod_set.image.version,
                        "role": role.role,
                        "edition": pod_set.image.edition,
                        "connections": connections,
                        "live_connections": live,
                        "controllerUID": pod_set.uid,
                        "podUID": pod.uid,
                    }
                )
            )
            ready += pod.running
            current += pod_set.revision == role.current_revision
            update += pod_set.revision == role.update_revision
    nodes.sort(key=lambda n: str(n["node"]))
    counts = drop_empty(
        {
            "replicas": replicas,
            "readyReplicas": ready,
            "currentRevision": role.current_revision,
            "currentReplicas": current,
            "updateRevision": role.update_revision,
            "updateReplicas": update,
        }
    )
    return counts, nodes
