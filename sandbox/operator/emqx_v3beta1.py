"""EMQX ``apps.emqx.io/v3beta1``: the status the emqx-operator 3.0 writes, simulated.

Source: ``OPERATOR-STATUS.md``, "EMQX v3beta1 status (operator 3.0)", read from the operator's
``internal/controller`` (``emqx_controller.go``, ``update_emqx_status.go``,
``pause_reconciliation.go``, ``sync_emqx_config.go``). Per reconcile, in the operator's order:

1. ``updateStatus`` observes the world: the core StatefulSet ``<name>-core`` and the replicant
   ReplicaSets (counts, selectors), then EMQX's API through a running core pod: nodes
   (``clusterNodes``), durable storage (``dsReplication``). ``EMQXAPIAvailable`` says whether
   the API was reached; CoreNodesProgressing, ReplicantNodesProgressing, Available and Ready
   are evaluated independently (:func:`~sandbox.operator.emqx_world.evaluate_independent`).
2. ``pauseReconciliation``: ``Paused`` from the annotation ``apps.emqx.io/paused`` (any value
   but exactly ``false``). While paused the reconcile stops here: no config push, no set or
   pod changes, no rollout; observation goes on.
3. ``syncConfig``: ``spec.config.roots`` split into runtime roots (pushed through the EMQX API)
   and startup roots (:data:`STARTUP_ROOTS`, in the pods' ``emqx.conf``; their revision is part
   of the pod template, so changing one rolls every pod). ``ConfigApplied``:
   PendingInitialStartup -> Applied; on a startup change StartupConfigPending (with a Normal
   Event ``StartupConfigRollout``) until every ready pod carries the new revision; a runtime
   root EMQX refuses (:func:`rejected_roots`) is ``ConfigRejected`` and stops the reconcile.
4. ``addCoreSet`` / ``addReplicantSet``: a new pod template sets CoreNodesProgressing (or
   ReplicantNodesProgressing) True RollingUpdate "0 ... pods updated" and Ready False at once.
   The simulator starts the replicant set (and its rollouts) once every core pod is ready on
   the newest revision.
5. ``nodeEvacuations`` (EMQX's evacuation API, asked after the nodes): the node evacuation in
   flight (:func:`~sandbox.operator.emqx_world.node_evacuation`, the rule shared with v2beta1
   and v2): the node that serves clients and is removed next, a replicant of an old ReplicaSet,
   or, without replicants, the core pod the rolling StatefulSet replaces next. Initial counts
   only (``initialSessions``, ``initialConnections``), at ``spec.updateStrategy.
   evacuationStrategy``'s ``connectionEvictionRate`` / ``sessionEvictionRate``. None is written
   when that strategy's ``type`` is ``Disabled``, while the CR is paused (nothing moves), or when
   the API fails (the document: the first failed call leaves the later fields empty).

Every condition goes through the standard setter (``apimeta.SetStatusCondition``): updated in
place, appended when new, ``lastTransitionTime`` only on a status flip, ``observedGeneration`` =
``metadata.generation``. One status write per reconcile (the operator writes after several
steps; the result is the same object). Then the simulated pods move one step.

Simulator decisions (the sources do not settle them), also in README.md:

* A CR created paused gets only ``EMQXAPIAvailable`` False NoRequester and ``Paused`` True, as
  the document records: the other conditions are first evaluated once it is resumed.
* Durable storage is on when ``spec.config.roots.durable_sessions.enable`` is true; then
  ``dsReplication.dbs`` reports one database, ``messages``, whose shard transitions settle to 0
  a few steps after the core pods change (Ready False DSReplicationProgressing meanwhile).
* Pods without startup roots carry the revision of the empty startup configuration
  (``activeStartupRevisions`` lists it).
* The fault ``api-unavailable`` makes every EMQX API call fail: ``EMQXAPIAvailable`` False
  RequestFailed, empty node lists, Ready False CoreNodesProgressing; a runtime config change
  waits (a transient error).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emqx.config_roots import RUNTIME_CLUSTER_KEYS, STARTUP_ROOTS
from emqx.models.apps_v3beta1 import EMQX
from sandbox.operator.base import Controller, EventSpec, Outcome, StatusChange
from sandbox.operator.common import ImageInfo, drop_empty, faults_of, image_info, template_hash
from sandbox.operator.emqx_world import (
    CORE_NODES_PROGRESSING,
    READY,
    REPLICANT_NODES_PROGRESSING,
    NodeEvacuation,
    Observation,
    RollingSet,
    RollingWorld,
    adopt_rolling,
    advance_pods,
    evaluate_independent,
    node_evacuation,
    observe_rolling,
    pod_template,
    remove_condition,
    set_standard,
)
from sandbox.operator.pods import PodSet

if TYPE_CHECKING:
    from sandbox.operator.simulator import Simulator

__all__ = [
    "CONFIG_APPLIED",
    "EMQX_API_AVAILABLE",
    "PAUSED",
    "PAUSED_ANNOTATION",
    "REJECTED_ROOT",
    "RUNTIME_CLUSTER_KEYS",
    "STARTUP_ROOTS",
    "EmqxV3beta1Controller",
    "config_revision",
    "durable_sessions_enabled",
    "is_paused",
    "rejected_roots",
    "render_roots",
    "split_roots",
    "startup_paths",
]

log = logging.getLogger(__name__)

EMQX_API_AVAILABLE = "EMQXAPIAvailable"
CONFIG_APPLIED = "ConfigApplied"
PAUSED = "Paused"

PAUSED_ANNOTATION = "apps.emqx.io/paused"
"""``crd.AnnotationPaused``: present with any value other than exactly ``false`` pauses the reconcile."""

# Which roots take effect only at EMQX start is one rule, shared with the console: emqx.config_roots
# (the operator's read-only roots plus ``dashboard``; see its docstring for where that comes from).

REJECTED_ROOT = "sim_reject"
"""A runtime root the simulated EMQX API refuses, whatever its value (a hook for tests and demos);
see :func:`rejected_roots`."""

_STAGED_INITIAL = ("False", "PendingInitialStartup", "Configuration is staged for the initial EMQX cluster startup")
_STAGED_UNAVAILABLE = ("False", "PendingAvailability", "Configuration is staged until EMQX cluster becomes available")
_STARTUP_UNVERIFIED = (
    "False",
    "PendingAvailability",
    "Desired startup configuration needs ready EMQX pod for verification",
)
_APPLIED = ("True", "Applied", "Desired configuration is active")
_API_OK = ("True", "RequestSucceeded", "EMQX API is available")
_API_NONE = ("False", "NoRequester", "No eligible core pod is available to serve EMQX API requests")
_PAUSED_MESSAGE = f"Reconciliation is paused by the {PAUSED_ANNOTATION} annotation"
_ACTIVE_MESSAGE = "Reconciliation is active"
_ACTIVE_FALSE_MESSAGE = f"Reconciliation is active because the {PAUSED_ANNOTATION} annotation is false"
_LABELS = "apps.emqx.io/db-role={role},apps.emqx.io/instance={name},apps.emqx.io/managed-by=emqx-operator"
# The core template's volume claim is not part of the pod template: changing it rolls no pod.
_CORE_NOT_POD_TEMPLATE = ("persistentVolumeClaimSpec",)


# ----- spec.config.roots ---------------------------------------------------------------------


def split_roots(roots: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``config.SplitRoots``: (runtime roots, startup roots). ``cluster`` is split by key:
    ``cluster.links`` is runtime, the other keys are startup (see :data:`STARTUP_ROOTS`)."""
    runtime: dict[str, Any] = {}
    startup: dict[str, Any] = {}
    for root, value in roots.items():
        if root == "cluster" and isinstance(value, Mapping):
            live = {k: v for k, v in value.items() if k in RUNTIME_CLUSTER_KEYS}
            fixed = {k: v for k, v in value.items() if k not in RUNTIME_CLUSTER_KEYS}
            if live:
                runtime[root] = live
            if fixed:
                startup[root] = fixed
        elif root in STARTUP_ROOTS:
            startup[root] = value
        else:
            runtime[root] = value
    return runtime, startup


def startup_paths(startup_roots: Mapping[str, Any]) -> list[str]:
    """``config.StartupConfigPaths``: the startup roots, ``cluster`` as ``cluster.<key>``, sorted."""
    paths: list[str] = []
    for root, value in startup_roots.items():
        if root == "cluster" and isinstance(value, Mapping):
            paths.extend(f"cluster.{key}" for key in value)
        else:
            paths.append(root)
    return sorted(paths)


def render_roots(roots: Mapping[str, Any]) -> str:
    """``config.RenderRoots``: one ``"<root>" = <canonical JSON>`` line per root, sorted."""
    return "".join(
        f"{json.dumps(key, ensure_ascii=False)} = "
        f"{json.dumps(roots[key], sort_keys=True, separators=(',', ':'), ensure_ascii=False)}\n"
        for key in sorted(roots)
    )


def config_revision(roots: Mapping[str, Any]) -> str:
    """``configRevision``: the SHA-256 (hex) of the rendered roots."""
    return hashlib.sha256(render_roots(roots).encode()).hexdigest()


def rejected_roots(runtime_roots: Mapping[str, Any]) -> list[str]:
    """The runtime roots the simulated EMQX Configs API refuses (a non-transient 400): a root
    whose value is a scalar (every EMQX root is an object or, like ``authentication``, an
    array), and the root :data:`REJECTED_ROOT`. The simulator's decision."""
    return sorted(
        root for root, value in runtime_roots.items() if root == REJECTED_ROOT or not isinstance(value, Mapping | list)
    )


def durable_sessions_enabled(roots: Mapping[str, Any]) -> bool:
    """Whether the roots turn durable sessions on (``durable_sessions.enable: true``), which
    makes EMQX report durable-storage replication. The simulator's reading of the config."""
    section = roots.get("durable_sessions")
    if not isinstance(section, Mapping):
        return False
    value = section.get("enable")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_paused(metadata: Mapping[str, Any]) -> bool:
    """``reconciliationPaused``: the annotation is present and not exactly ``false``."""
    annotations = metadata.get("annotations") or {}
    return PAUSED_ANNOTATION in annotations and annotations[PAUSED_ANNOTATION] != "false"


def _replicas(spec: Mapping[str, Any], key: str, default: int) -> int:
    template = spec.get(key)
    template_spec = template.get("spec") if isinstance(template, Mapping) else None
    value = template_spec.get("replicas") if isinstance(template_spec, Mapping) else None
    return int(value) if isinstance(value, int) else default


def _roots_of(spec: Mapping[str, Any]) -> dict[str, Any]:
    config = spec.get("config")
    roots = config.get("roots") if isinstance(config, Mapping) else None
    return dict(roots) if isinstance(roots, Mapping) else {}


# ----- the controller --------------------------------------------------------------------------


@dataclass
class _Plan:
    """What the mutating steps of one reconcile decided (pure input of the status)."""

    config: tuple[str, str, str] | None = None  # ConfigApplied (status, reason, message)
    runtime_revision: str = ""
    force_core: bool = False
    force_replicant: bool = False
    active: list[str] = field(default_factory=list)  # startup revisions of the ready pods (observed)
    events: list[EventSpec] = field(default_factory=list)  # recorded whether or not the status changes
    evacuation: NodeEvacuation | None = None  # nodeEvacuations


class EmqxV3beta1Controller(Controller):
    """The 3.0 EMQX controller (``OPERATOR-STATUS.md``, "EMQX v3beta1 status (operator 3.0)");
    see the module docstring for the order of its steps and the simulator's decisions."""

    kind = "EMQX"
    model = EMQX

    def __init__(self) -> None:
        self._worlds: dict[str, RollingWorld] = {}

    def forget(self, uid: str) -> None:
        self._worlds.pop(uid, None)

    def put_status(self, sim: Simulator, namespace: str, name: str, body: dict[str, Any], field_manager: str) -> None:
        # Raw JSON: spec.config.roots may hold arrays or scalars the generated model does not take.
        sim.clientset.transport.request(
            "PUT", self.path(namespace, name) + "/status", query=[("fieldManager", field_manager)], body=body
        )

    def reconcile(self, sim: Simulator, raw: dict[str, Any], *, advance: bool) -> Outcome:
        """One reconcile in operator 3.0's order (``emqx_controller.go``; module docstring)."""
        meta = raw.get("metadata") or {}
        spec = raw.get("spec")
        if not isinstance(spec, dict) or not spec.get("image"):
            log.warning("skipping EMQX %s/%s: it has no spec with an image", meta.get("namespace"), meta.get("name"))
            return Outcome(settled=True)
        uid, name = str(meta.get("uid")), str(meta.get("name"))
        faults = faults_of(meta)
        paused = is_paused(meta)
        roots = _roots_of(spec)
        runtime_roots, startup_roots = split_roots(roots)
        runtime_target = config_revision(runtime_roots)
        startup_target = config_revision(startup_roots)
        core_desired = _replicas(spec, "coreTemplate", 1)
        replicant_desired = _replicas(spec, "replicantTemplate", 0)
        image = image_info(str(spec.get("image")))
        core_revision = template_hash(
            {
                "pod": pod_template(spec, "coreTemplate", ignore=_CORE_NOT_POD_TEMPLATE),
                "startupConfigRevision": startup_target if startup_roots else None,
            }
        )
        replicant_revision = template_hash(
            {
                "pod": pod_template(spec, "replicantTemplate"),
                "startupConfigRevision": startup_target if startup_roots else None,
            }
        )

        world = self._worlds.get(uid)
        if world is None:
            status = raw.get("status") or {}
            world = self._worlds[uid] = adopt_rolling(
                raw,
                status.get("clusterNodes") or [],
                int(status.get("coreReplicas") or 0),
                core_revision=core_revision,
                image=image,
                startup_revision=startup_target,
            )

        # updateStatus: observe the world as it is before this round changes anything.
        world.ds.observe(durable_sessions_enabled(roots), (p.name for p in world.core.pods))
        obs = observe_rolling(
            world,
            raw,
            core_desired=core_desired,
            replicant_desired=replicant_desired,
            api_failure="api-unavailable" in faults,
        )
        active = _active_startup_revisions(world, config_revision({}))
        status_config = (raw.get("status") or {}).get("config") or {}
        plan = _Plan(runtime_revision=str(status_config.get("runtimeRevision") or ""), active=active)

        if not paused:
            stop = self._sync_config(plan, world, obs, runtime_roots, startup_roots, runtime_target, active)
            if not stop:
                self._sync_core(plan, world, core_desired, image, core_revision, startup_target)
                self._sync_replicants(plan, world, spec, name, replicant_desired, replicant_revision, startup_target)
            if obs.api == "ok":  # EMQX's evacuation API, asked after the nodes
                plan.evacuation = node_evacuation(world, raw, has_replicants=replicant_desired > 0)

        def compute(current: dict[str, Any]) -> StatusChange:
            return self._status(current, obs, plan, paused=paused, roots=roots, startup_target=startup_target)

        change = sim.write_status(self, raw, compute)
        for event in plan.events:
            sim.recorder.event(raw, *event)
        moved = False
        if advance and not paused:
            events, moved, world.stuck_warned = advance_pods(
                (world.core, world.replicant), raw, stuck_warned=world.stuck_warned
            )
            for event in events:
                sim.recorder.event(raw, *event)
            if _core_settled(world.core) and world.ds.settle():
                moved = True
        return Outcome(settled=change is None and not moved and world.ds.transitions == 0)

    # ----- syncConfig ----------------------------------------------------------------------

    @staticmethod
    def _sync_config(
        plan: _Plan,
        world: RollingWorld,
        obs: Observation,
        runtime_roots: dict[str, Any],
        startup_roots: dict[str, Any],
        runtime_target: str,
        active: list[str],
    ) -> bool:
        """``syncConfig``; True when the reconcile stops here (an API error)."""
        if not obs.core_exists:
            plan.runtime_revision = runtime_target  # staged for the bootstrap: not pushed later
            plan.config = _STAGED_INITIAL
            return False
        requester = any(p.running and p.revision == world.core.update_revision for p in world.core.pods)
        if plan.runtime_revision != runtime_target:
            if not requester:
                plan.config = _STAGED_UNAVAILABLE
                return False
            if obs.api == "failed":
                return True  # a transient API error: requeue, nothing else this round
            refused = rejected_roots(runtime_roots)
            if refused:
                plan.config = ("False", "ConfigRejected", "Runtime configuration rejected by EMQX API")
                detail = (
                    "failed to update EMQX runtime config: EMQX API answered 400 Bad Request: "
                    f"invalid configuration root(s) {', '.join(refused)}"
                )
                plan.events.append(
                    ("Warning", "ReconcilerFailed", f"reconcile failed at step syncConfig, reason: {detail}")
                )
                return True
            plan.runtime_revision = runtime_target
        startup_target = config_revision(startup_roots)
        outdated = len(active) - (1 if startup_target in active else 0)
        if outdated > 0:
            paths = startup_paths(startup_roots)
            message = (
                f"Configuration roots require rolling restart: [{' '.join(paths)}]"
                if paths
                else "Removal of startup configuration roots requires rolling restart"
            )
            plan.config = ("False", "StartupConfigPending", message)
        elif not active:
            plan.config = _STARTUP_UNVERIFIED
        else:
            plan.config = _APPLIED
        return False

    # ----- addCoreSet / addReplicantSet / syncCoreSet / syncReplicantSets ----------------------

    @staticmethod
    def _sync_core(
        plan: _Plan, world: RollingWorld, desired: int, image: ImageInfo, revision: str, startup_target: str
    ) -> None:
        """``addCoreSet`` (create the set, or a new template: RollingUpdate at once) and
        ``syncCoreSet`` (its size)."""
        world.startup_revisions[revision] = startup_target
        kind = world.core.roll_to(revision, image)
        plan.force_core = kind == "update"
        world.core.desired = desired
        world.core.scale_up_to(desired)

    @staticmethod
    def _sync_replicants(
        plan: _Plan,
        world: RollingWorld,
        spec: Mapping[str, Any],
        name: str,
        desired: int,
        revision: str,
        startup_target: str,
    ) -> None:
        """``addReplicantSet`` and ``syncReplicantSets``: a set per pod-template revision, the
        old one drained once the new one is ready."""
        role = world.replicant
        if desired <= 0:
            role.desired = 0  # the replicant sets drain
            return
        if not _core_settled(world.core):
            return  # the simulator starts or rolls replicants once the core pods are ready
        role.history_limit = int(spec.get("revisionHistoryLimit") or 3)
        image = image_info(str(spec.get("image")))
        world.startup_revisions[revision] = startup_target
        kind = role.roll_to(
            revision,
            lambda rev: PodSet.new(f"{name}-replicant-{rev}", rev, world.uid, image, ordinal_names=False),
        )
        role.pending = None
        plan.force_replicant = kind in ("update", "revert")
        role.desired = desired
        assert role.update_set is not None
        role.update_set.scale_up_to(desired)

    # ----- the status ----------------------------------------------------------------------

    def _status(
        self,
        current: dict[str, Any],
        obs: Observation,
        plan: _Plan,
        *,
        paused: bool,
        roots: Mapping[str, Any],
        startup_target: str,
    ) -> StatusChange:
        meta = current.get("metadata") or {}
        generation = int(meta.get("generation") or 0)
        name = str(meta.get("name"))
        old = current.get("status") or {}
        conditions: list[dict[str, Any]] = [dict(c) for c in old.get("conditions") or []]
        events: list[EventSpec] = []

        def put(type_: str, status: str, reason: str, message: str) -> bool:
            return set_standard(conditions, type_, status, reason, message, generation)

        # updateStatus
        if obs.api == "ok":
            put(EMQX_API_AVAILABLE, *_API_OK)
        elif obs.api == "failed":
            put(EMQX_API_AVAILABLE, "False", "RequestFailed", obs.api_error)
        else:
            put(EMQX_API_AVAILABLE, *_API_NONE)
        if not (paused and not obs.core_exists):  # a CR created paused: nothing else yet
            verdicts, drop_replicants = evaluate_independent(obs, ds_case=True)
            for verdict in verdicts:
                put(*verdict)
            if drop_replicants:
                remove_condition(conditions, REPLICANT_NODES_PROGRESSING)
        # pauseReconciliation
        annotations = meta.get("annotations") or {}
        if paused:
            put(PAUSED, "True", "AnnotationSet", _PAUSED_MESSAGE)
        elif PAUSED_ANNOTATION in annotations:
            put(PAUSED, "False", "AnnotationFalse", _ACTIVE_FALSE_MESSAGE)
        else:
            put(PAUSED, "False", "AnnotationNotSet", _ACTIVE_MESSAGE)
        # syncConfig
        if plan.config is not None:
            changed = put(CONFIG_APPLIED, *plan.config)
            if changed and plan.config[1] == "StartupConfigPending":
                events.append(("Normal", "StartupConfigRollout", plan.config[2]))
        # addCoreSet / addReplicantSet: a new pod template
        if plan.force_core:
            put(CORE_NODES_PROGRESSING, "True", "RollingUpdate", "0 core pods updated")
            put(READY, "False", "CoreNodesProgressing", "Core nodes are progressing")
        if plan.force_replicant:
            put(REPLICANT_NODES_PROGRESSING, "True", "RollingUpdate", "0 replicant pods updated")
            put(READY, "False", "ReplicantNodesProgressing", "Replicant nodes are progressing")

        with_replicants = obs.replicants_specified or obs.replicants_present
        status: dict[str, Any] = {
            "conditions": conditions,
            "coreReplicas": obs.core_total,
            "coreSelector": _LABELS.format(role="core", name=name),
            "replicantReplicas": obs.replicant_pods if with_replicants else 0,
        }
        if with_replicants:
            status["replicantSelector"] = _LABELS.format(role="replicant", name=name)
        if obs.nodes:
            status["clusterNodes"] = [dict(n) for n in obs.nodes]
        status["coreNodesStatus"] = {
            "readyReplicas": obs.core_running_nodes,
            "updatedReplicas": obs.core_updated,
            "currentReplicas": obs.core_current,
        }
        replicant_status: dict[str, Any] = {
            "readyReplicas": obs.replicant_running_nodes,
            "currentReplicas": obs.rs_current_desired,
            "updateReplicas": obs.rs_update_total,
        }
        if obs.rs_current_revision:
            replicant_status["currentRevision"] = obs.rs_current_revision
        if obs.rs_update_revision:
            replicant_status["updateRevision"] = obs.rs_update_revision
        status["replicantNodesStatus"] = replicant_status
        if plan.evacuation is not None:
            status["nodeEvacuations"] = [plan.evacuation.as_status()]
        status["dsReplication"] = {"dbs": [dict(db) for db in obs.dbs]} if obs.dbs else {}
        status["config"] = drop_empty(
            {
                "desiredRevision": config_revision(roots),
                "desiredStartupRevision": startup_target,
                "runtimeRevision": plan.runtime_revision,
                "activeStartupRevisions": list(plan.active),
            }
        )
        return StatusChange(status, events)


def _core_settled(core: RollingSet) -> bool:
    """Every core pod exists, runs, and is on the newest revision."""
    return (
        core.created
        and len(core.pods) == core.desired
        and all(p.running and p.revision == core.update_revision for p in core.pods)
    )


def _active_startup_revisions(world: RollingWorld, empty_revision: str) -> list[str]:
    """``activeStartupConfigRevisions``: the startup revisions that ready pods carry, sorted."""
    pods = [*world.core.pods, *world.replicant.pods()]
    return sorted({world.startup_revisions.get(p.revision, empty_revision) for p in pods if p.running})
