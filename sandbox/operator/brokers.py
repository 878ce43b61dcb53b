"""EmqxBroker / EmqxEnterprise (EMQX 4.x): the status the operator writes, simulated.

``apps.emqx.io/v1beta4`` (operator 2.x, ``controllers/apps/v1beta4``): ``emqxNodes`` (node,
node_status ``Running``/``Stopped``, otp_release, version, connections), ``replicas``,
``readyReplicas``, ``currentStatefulSetVersion`` and the conditions

* ``Running``: True ``ClusterReady`` "All resources are ready" when every node runs, else
  False ``ClusterNotReady`` "Some resources are not ready";
* ``BlueGreenUpdating`` (EmqxEnterprise): True while a new StatefulSet takes over from the
  old one after an image change, with ``blueGreenUpdateStatus`` (origin and current
  StatefulSet, start time, evacuations) and ``Evacuate`` Events as nodes are drained.

An EmqxBroker rolls its single StatefulSet instead (pods replaced from the highest ordinal
down; ``Running`` False while a pod restarts). Conditions are newest first; one that is set
again moves to the front with a new ``lastUpdateTime``.

``apps.emqx.io/v1beta1`` (operator 1.0, 2021): conditions only, newest first, each with
``lastUpdateTime``/``lastTransitionTime`` strings: ``Creating`` "Bootstrap emqx cluster" on
the first reconcile, ``Healthy`` (reason "Cluster available") once every node runs,
``Scaling`` ("Scaling up"/"Scaling down") and ``Upgrading`` on spec changes, ``Failed`` while
a node is down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from emqx.models import apps_v1beta1, apps_v1beta4
from emqx.models._base import Resource
from sandbox.operator.base import Controller, EventSpec, Outcome, StatusChange, move_to_front
from sandbox.operator.common import (
    ImageInfo,
    drop_empty,
    faults_of,
    image_info,
    now_rfc3339,
    stable_int,
    stable_uid,
    template_hash,
)
from sandbox.operator.pods import PodSet, SimPod

if TYPE_CHECKING:
    from sandbox.operator.simulator import Simulator

__all__ = ["BrokerController", "BrokerV1beta1Controller"]

log = logging.getLogger(__name__)

_NODE_DOWN_FAULTS = ("core-node-down", "replicant-node-down")


@dataclass
class _BrokerWorld:
    """The StatefulSets of one broker: one, or two during an EmqxEnterprise blue-green update."""

    uid: str
    sets: list[PodSet] = field(default_factory=list)  # oldest first; the last is the newest
    update_revision: str | None = None
    current_revision: str | None = None  # the StatefulSet's status.currentRevision
    desired: int = 0
    images: dict[str, ImageInfo] = field(default_factory=dict)  # what each revision runs
    started_at: str | None = None  # blue-green start
    evacuating: str | None = None  # the node being evacuated


def _image_v1beta4(spec: dict[str, Any]) -> str:
    image = (((spec.get("template") or {}).get("spec") or {}).get("emqxContainer") or {}).get("image") or {}
    repository = image.get("repository") or "emqx/emqx"
    if image.get("registry"):
        repository = f"{image['registry']}/{repository}"
    version = f"{image.get('prefix') or ''}{image.get('version') or ''}{image.get('suffix') or ''}"
    return f"{repository}:{version}" if version else repository


def _headless_node(pod: SimPod, raw: dict[str, Any]) -> str:
    meta = raw.get("metadata") or {}
    domain = (raw.get("spec") or {}).get("clusterDomain") or "cluster.local"
    return f"emqx@{pod.name}.{meta.get('name')}-headless.{meta.get('namespace')}.svc.{domain}"


class _BrokerBase(Controller):
    """The simulated StatefulSet(s) of an EMQX 4 cluster, shared by both API versions."""

    blue_green = False

    def __init__(self, kind: str) -> None:
        self.kind = kind  # type: ignore[misc]
        self._worlds: dict[str, _BrokerWorld] = {}

    def forget(self, uid: str) -> None:
        self._worlds.pop(uid, None)

    def _image(self, spec: dict[str, Any]) -> str:
        raise NotImplementedError

    def _world(self, raw: dict[str, Any]) -> _BrokerWorld:
        uid = str((raw.get("metadata") or {}).get("uid"))
        world = self._worlds.get(uid)
        if world is None:
            world = self._worlds[uid] = _BrokerWorld(uid)
            self._adopt(raw, world)
        return world

    def _adopt(self, raw: dict[str, Any], world: _BrokerWorld) -> None:
        """Rebuild the pods an earlier simulator left running (see the status), so that a
        restart does not create the cluster again."""

    def _replicas(self, spec: dict[str, Any]) -> int:
        replicas = spec.get("replicas")
        return int(replicas) if isinstance(replicas, int) else 3

    def _sync(self, raw: dict[str, Any], world: _BrokerWorld) -> str | None:
        """Bring the StatefulSets in line with the spec; returns 'create', 'rolling',
        'blue-green', 'scale-up' or 'scale-down' when something started, else None."""
        spec = raw.get("spec") or {}
        name = str((raw.get("metadata") or {}).get("name"))
        image = self._image(spec)
        info = image_info(image, major=4, enterprise=self.kind == "EmqxEnterprise")
        revision = template_hash({k: v for k, v in spec.items() if k != "replicas"})
        replicas = self._replicas(spec)
        world.images.setdefault(revision, info)
        started: str | None = None
        if world.update_revision is None:
            sts_name = f"{name}-{revision}" if self.blue_green else name
            world.sets.append(PodSet.new(sts_name, revision, world.uid, info))
            world.update_revision = world.current_revision = revision
            started = "create"
        elif revision != world.update_revision:
            if self.blue_green:
                world.sets.append(PodSet.new(f"{name}-{revision}", revision, world.uid, info))
                world.started_at = None
                started = "blue-green"
            else:
                world.sets[-1].revision = revision  # rolling update of the one StatefulSet
                started = "rolling"
            world.update_revision = revision
        if started is None and replicas != world.desired and world.desired:
            started = "scale-up" if replicas > world.desired else "scale-down"
        world.desired = replicas
        world.sets[-1].scale_up_to(replicas)
        return started

    @staticmethod
    def _refresh_current_revision(world: _BrokerWorld) -> None:
        """The StatefulSet controller's currentRevision: it becomes the update revision
        once every pod runs the update revision."""
        newest = world.sets[-1]
        if len(world.sets) == 1 and all(p.revision == newest.revision for p in newest.pods):
            world.current_revision = world.update_revision

    def _advance(self, raw: dict[str, Any], world: _BrokerWorld) -> tuple[list[EventSpec], bool]:
        """One pod step: delete a surplus pod, stop/recover one (faults), start one, replace
        one of an old revision (rolling), or drain the origin StatefulSet (blue-green)."""
        faults = faults_of(raw.get("metadata") or {})
        down = any(f in faults for f in _NODE_DOWN_FAULTS)
        stuck = "stuck-progressing" in faults
        events: list[EventSpec] = []
        newest = world.sets[-1]
        if len(newest.pods) > world.desired:
            newest.remove_one()
            return events, True
        if not down:
            pod = next((p for p in newest.pods if p.down), None)
            if pod is not None:
                pod.down = False
                events.append(("Normal", "NodeRecovered", f"EMQX node {_headless_node(pod, raw)} is running again"))
                return events, True
        elif not any(p.down for p in newest.pods):
            pod = next((p for p in reversed(newest.pods) if p.running), None)
            if pod is not None:
                pod.down = True
                node = _headless_node(pod, raw)
                events.append(("Warning", "NodeDown", f"EMQX node {node} is stopped (simulated fault)"))
                return events, True
        if not stuck and newest.ready_one() is not None:
            return events, True
        all_running = all(p.running for p in newest.pods) and len(newest.pods) == world.desired
        if all_running and any(p.revision != newest.revision for p in newest.pods):
            # RollingUpdate: recreate the highest-ordinal pod still on the old revision.
            pod = next(p for p in reversed(newest.pods) if p.revision != newest.revision)
            pod.revision, pod.ready = newest.revision, False
            return events, True
        if all_running and len(world.sets) > 1:
            origin = world.sets[0]
            if origin.pods:
                pod = origin.pods[-1]
                node = _headless_node(pod, raw)
                if world.evacuating != node:
                    world.evacuating = node
                    events.append(("Normal", "Evacuate", f"Evacuate node {node} start"))
                else:
                    origin.remove_one()
                    world.evacuating = None
                    events.append(("Normal", "Evacuate", f"Evacuated node {node} successfully"))
                    events.append(("Normal", "Evacuate", f"Scale down StatefulSet {origin.name} to {len(origin.pods)}"))
                return events, True
            world.sets.pop(0)
            world.current_revision = world.update_revision
            return events, True
        return events, False


class BrokerController(_BrokerBase):
    """EmqxBroker / EmqxEnterprise ``apps.emqx.io/v1beta4``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.model = apps_v1beta4.EmqxEnterprise if kind == "EmqxEnterprise" else apps_v1beta4.EmqxBroker  # type: ignore[misc]
        self.blue_green = kind == "EmqxEnterprise"

    def _image(self, spec: dict[str, Any]) -> str:
        return _image_v1beta4(spec)

    def _adopt(self, raw: dict[str, Any], world: _BrokerWorld) -> None:
        status = raw.get("status") or {}
        version = str(status.get("currentStatefulSetVersion") or "")
        sts_name, _, revision = version.rpartition("-")
        if not revision or status.get("blueGreenUpdateStatus") or not status.get("emqxNodes"):
            return  # nothing to adopt, or a blue-green update in flight: start afresh
        pod_set = PodSet.new(sts_name, revision, world.uid, image_info(self._image(raw.get("spec") or {}), major=4))
        for node in status["emqxNodes"]:
            pod_name = str(node.get("node", "")).partition("@")[2].split(".", 1)[0]
            ordinal = pod_name.rsplit("-", 1)[-1]
            pod = SimPod(
                pod_name, stable_uid(pod_set.uid, pod_name), int(ordinal) if ordinal.isdigit() else 0, revision
            )
            pod.ready, pod.down = True, node.get("node_status") != "Running"
            pod_set.pods.append(pod)
            world.images[revision] = ImageInfo(
                "", str(node.get("version") or ""), pod_set.image.edition, str(node.get("otp_release") or "")
            )
        pod_set.pods.sort(key=lambda p: p.ordinal)
        world.sets = [pod_set]
        world.update_revision = world.current_revision = revision
        world.desired = int(status.get("replicas") or len(pod_set.pods))

    def reconcile(self, sim: Simulator, raw: dict[str, Any], *, advance: bool) -> Outcome:
        if not _fits(self.model, raw):
            return Outcome(settled=True)
        world = self._world(raw)
        self._sync(raw, world)
        change = sim.write_status(self, raw, lambda current: self._status(world, current))
        moved = False
        if advance:
            events, moved = self._advance(raw, world)
            for event in events:
                sim.recorder.event(raw, *event)
        return Outcome(settled=change is None and not moved)

    def _status(self, world: _BrokerWorld, current: dict[str, Any]) -> StatusChange:
        self._refresh_current_revision(world)
        old = current.get("status") or {}
        conditions = [dict(c) for c in old.get("conditions") or []]
        nodes: list[dict[str, Any]] = []
        for pod_set in world.sets:
            for pod in pod_set.pods:
                if not pod.ready:
                    continue
                name = _headless_node(pod, current)
                image = world.images.get(pod.revision, pod_set.image)
                connections = stable_int(name, 300, 6000) if pod.running else 0
                nodes.append(
                    drop_empty(
                        {
                            "node": name,
                            "node_status": "Running" if pod.running else "Stopped",
                            "otp_release": image.otp_release,
                            "version": image.version,
                            "connections": connections,
                        }
                    )
                )
        ready = sum(1 for n in nodes if n["node_status"] == "Running")
        status: dict[str, Any] = {k: v for k, v in old.items() if k not in ("blueGreenUpdateStatus",)}
        events: list[EventSpec] = []

        def add_condition(type_: str, value: str, reason: str = "", message: str = "") -> None:
            nonlocal conditions
            condition = drop_empty({"type": type_, "status": value, "reason": reason, "message": message})
            existing = conditions[0] if conditions else None
            if existing is not None and all(existing.get(k) == condition.get(k) for k in ("type", "status", "reason")):
                return  # unchanged and already the newest: leave the times alone
            conditions = move_to_front(conditions, condition)
            events.append(("Normal" if value == "True" else "Warning", reason or type_, message or f"{type_} {value}"))

        if len(world.sets) == 1:
            pod_set = world.sets[0]
            status["currentStatefulSetVersion"] = f"{pod_set.name}-{world.current_revision}"
            if ready == world.desired:
                add_condition("Running", "True", "ClusterReady", "All resources are ready")
            else:
                add_condition("Running", "False", "ClusterNotReady", "Some resources are not ready")
        else:
            origin, newest = world.sets[0], world.sets[-1]
            status["currentStatefulSetVersion"] = f"{newest.name}-{newest.revision}"
            add_condition("BlueGreenUpdating", "True")
            if newest.all_ready(world.desired):
                if world.started_at is None:
                    world.started_at = now_rfc3339()
                evacuations = []
                if world.evacuating:
                    evacuations.append(
                        {
                            "node": world.evacuating,
                            "state": "prohibiting",
                            "session_recipients": [_headless_node(p, current) for p in newest.pods],
                            "stats": {
                                "initial_connected": 1200,
                                "current_connected": 0,
                                "initial_sessions": 1200,
                                "current_sessions": 0,
                            },
                        }
                    )
                status["blueGreenUpdateStatus"] = drop_empty(
                    {
                        "originStatefulSet": origin.name,
                        "currentStatefulSet": newest.name,
                        "startedAt": world.started_at,
                        "evacuationsStatus": evacuations,
                    }
                )
        status["conditions"] = conditions
        status["emqxNodes"] = nodes
        status["replicas"] = world.desired
        status["readyReplicas"] = ready
        return StatusChange(drop_empty(status), events)


class BrokerV1beta1Controller(_BrokerBase):
    """EmqxBroker / EmqxEnterprise ``apps.emqx.io/v1beta1`` (operator 1.0, 2021)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.model = apps_v1beta1.EmqxEnterprise if kind == "EmqxEnterprise" else apps_v1beta1.EmqxBroker  # type: ignore[misc]

    def _image(self, spec: dict[str, Any]) -> str:
        return str(spec.get("image") or "emqx/emqx:4.3.10")

    def _adopt(self, raw: dict[str, Any], world: _BrokerWorld) -> None:
        # v1beta1 status lists no nodes: a cluster that was Healthy is taken as it is.
        conditions = (raw.get("status") or {}).get("conditions") or []
        if not conditions or conditions[0].get("type") != "Healthy":
            return
        self._sync(raw, world)
        for pod in world.sets[-1].pods:
            pod.ready = True

    def reconcile(self, sim: Simulator, raw: dict[str, Any], *, advance: bool) -> Outcome:
        if not _fits(self.model, raw):
            return Outcome(settled=True)
        world = self._world(raw)
        previous = world.desired
        started = self._sync(raw, world)
        spec_change: tuple[str, str, str] | None = None
        if started == "rolling":
            spec_change = ("Upgrading", "Upgrading", f"Upgrading to {self._image(raw.get('spec') or {})}")
        elif started in ("scale-up", "scale-down"):
            reason = "Scaling up" if started == "scale-up" else "Scaling down"
            spec_change = ("Scaling", reason, f"{reason} from {previous} to {world.desired} nodes")
        change = sim.write_status(self, raw, lambda current: self._status(world, current, spec_change))
        moved = False
        if advance:
            events, moved = self._advance(raw, world)
            for event in events:
                sim.recorder.event(raw, *event)
        return Outcome(settled=change is None and not moved)

    def _status(
        self, world: _BrokerWorld, current: dict[str, Any], spec_change: tuple[str, str, str] | None
    ) -> StatusChange | None:
        self._refresh_current_revision(world)
        conditions = [dict(c) for c in (current.get("status") or {}).get("conditions") or []]
        events: list[EventSpec] = []

        def set_condition(type_: str, reason: str, message: str) -> None:
            nonlocal conditions
            if conditions and conditions[0].get("type") == type_ and conditions[0].get("reason") == reason:
                return
            conditions = move_to_front(
                conditions, {"type": type_, "status": "True", "reason": reason, "message": message}
            )
            events.append(("Warning" if type_ == "Failed" else "Normal", type_, message))

        newest = world.sets[-1]
        down = next((p for s in world.sets for p in s.pods if p.down), None)
        if not conditions:
            set_condition("Creating", "Creating", "Bootstrap emqx cluster")
        elif spec_change is not None:
            set_condition(*spec_change)
        elif down is not None:
            set_condition("Failed", "Failed", f"EMQX node {_headless_node(down, current)} is not running")
        elif newest.all_ready(world.desired) and world.current_revision == world.update_revision:
            set_condition("Healthy", "Cluster available", "Cluster ok")
        if not events:
            return None
        return StatusChange({**(current.get("status") or {}), "conditions": conditions}, events)


def _fits(model: type[Resource], raw: dict[str, Any]) -> bool:
    try:
        model.from_dict(raw)
    except ValidationError as error:
        meta = raw.get("metadata") or {}
        log.warning(
            "skipping %s %s/%s: it does not fit the model: %s",
            model.kind,
            meta.get("namespace"),
            meta.get("name"),
            error,
        )
        return False
    return True
