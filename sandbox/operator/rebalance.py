"""Rebalance ``apps.emqx.io/v2beta1``: the status the operator's rebalance controller writes.

``controllers/apps/v2beta1/rebalance_controller.go``, per reconcile:

* the instance (``spec.instanceKind``: ``EMQX`` v2beta1, or ``EmqxEnterprise`` v1beta4) must
  exist and be ready (EMQX: ``Ready`` True, and an Enterprise edition; EmqxEnterprise:
  ``Running`` True), otherwise ``phase: Failed`` with a True ``Failed`` condition whose
  message says why ("EMQX emqx-ee is not found", "... is not ready", "Only enterprise
  edition can be rebalanced");
* a new Rebalance starts: ``phase: Processing``, ``startedTime``, a True ``Processing``
  condition;
* while Processing, ``rebalanceStates`` reports EMQX's rebalance (coordinator node, donors,
  recipients, eviction rates) through its states ``wait_health_check``, ``evicting_conns``,
  ``wait_takeover``, ``evicting_sessions``, one per simulated step; when EMQX reports no
  rebalance any more: ``phase: Completed``, ``completedTime``, a True ``Completed``
  condition, no ``rebalanceStates``.

Conditions are newest first (``lastUpdateTime`` and ``lastTransitionTime``). Events: Normal
``Rebalance`` "rebalance is processing" (counted), "rebalance completed", Warning
``Rebalance`` "rebalance failed". Completed and Failed are final here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from emqx import images
from emqx.discovery import GROUP
from emqx.models.apps_v2beta1 import Rebalance
from emqx.rest import api_path
from sandbox.operator.base import Controller, EventSpec, Outcome, StatusChange, move_to_front
from sandbox.operator.common import drop_empty, now_rfc3339

if TYPE_CHECKING:
    from sandbox.operator.simulator import Simulator

__all__ = ["STATES", "RebalanceController"]

log = logging.getLogger(__name__)

STATES = ("wait_health_check", "evicting_conns", "wait_takeover", "evicting_sessions")
"""EMQX's rebalance states, as /api/v5/load_rebalance/global_status reports them."""


@dataclass
class _Progress:
    step: int = 0  # reconciles spent Processing


class RebalanceController(Controller):
    kind = "Rebalance"
    model = Rebalance

    def __init__(self) -> None:
        self._progress: dict[str, _Progress] = {}

    def forget(self, uid: str) -> None:
        self._progress.pop(uid, None)

    def reconcile(self, sim: Simulator, raw: dict[str, Any], *, advance: bool) -> Outcome:
        meta = raw.get("metadata") or {}
        try:
            rebalance = Rebalance.from_dict(raw)
        except ValidationError as error:
            log.warning(
                "skipping Rebalance %s/%s: it does not fit the v2beta1 model: %s",
                meta.get("namespace"),
                meta.get("name"),
                error,
            )
            return Outcome(settled=True)
        phase = (raw.get("status") or {}).get("phase") or ""
        if phase in ("Completed", "Failed"):
            return Outcome(settled=True)
        if rebalance.spec is None:
            # The CRD does not require a spec; which instance to rebalance is unknown, and the
            # simulator does not guess how the operator words that: it leaves it alone.
            log.warning("skipping Rebalance %s/%s: it has no spec", meta.get("namespace"), meta.get("name"))
            return Outcome(settled=True)
        progress = self._progress.setdefault(str(meta.get("uid")), _Progress())
        if phase == "Processing" and progress.step == 0:  # a simulator started after it began
            progress.step = _resume_step(raw)

        problem, nodes = self._check_instance(sim, rebalance)
        change = sim.write_status(
            self, raw, lambda current: self._status(current, rebalance, problem, nodes, progress.step)
        )
        if advance and problem is None:
            progress.step += 1
        phase = (change.status.get("phase") if change else phase) or ""
        return Outcome(settled=phase in ("Completed", "Failed"))

    def _check_instance(self, sim: Simulator, rebalance: Rebalance) -> tuple[str | None, list[str]]:
        """Why the instance cannot be rebalanced (None if it can), and its nodes."""
        assert rebalance.spec is not None
        namespace = str(rebalance.metadata.namespace)
        name = rebalance.spec.instance_name
        if rebalance.spec.instance_kind == "EmqxEnterprise":
            path = api_path(GROUP, "v1beta4", "emqxenterprises", namespace=namespace)
            instance = sim.get_optional(path, namespace, name)
            if instance is None:
                return f"EMQX Enterprise {name} is not found", []
            status = instance.get("status") or {}
            if not _true(status, "Running"):
                return f"EMQX Enterprise {name} is not ready", []
            return None, [str(n.get("node")) for n in status.get("emqxNodes") or []]
        # The EMQX version this cluster's operator line stores (v2beta1 on 2.2, v2 on 2.3).
        emqx = sim.controllers().get("EMQX")
        version = emqx.version if emqx is not None else "v2beta1"
        path = api_path(GROUP, version, "emqxes", namespace=namespace)
        instance = sim.get_optional(path, namespace, name)
        if instance is None:
            return f"EMQX {name} is not found", []
        status = instance.get("status") or {}
        if not _true(status, "Ready"):
            return f"EMQX {name} is not ready", []
        core = status.get("coreNodes") or []
        if not core or not _enterprise(instance, core[0]):
            return "Only enterprise edition can be rebalanced", []
        nodes = status.get("replicantNodes") or core
        # v2beta1 names a node `node`, v2 `name`.
        return None, [str(n.get("node") or n.get("name")) for n in nodes]

    def _status(
        self, current: dict[str, Any], rebalance: Rebalance, problem: str | None, nodes: list[str], step: int
    ) -> StatusChange | None:
        old = current.get("status") or {}
        if (old.get("phase") or "") in ("Completed", "Failed"):
            return None
        status = dict(old)
        conditions = [dict(c) for c in old.get("conditions") or []]
        events: list[EventSpec] = []

        def set_condition(type_: str, message: str = "") -> None:
            nonlocal conditions
            conditions = move_to_front(conditions, drop_empty({"type": type_, "status": "True", "message": message}))

        if problem is not None:
            status["phase"] = "Failed"
            set_condition("Failed", problem)
            status.pop("rebalanceStates", None)
            events.append(("Warning", "Rebalance", "rebalance failed"))
        elif not old.get("phase"):
            status["phase"] = "Processing"
            status["startedTime"] = now_rfc3339()
            set_condition("Processing")
            events.append(("Normal", "Rebalance", "rebalance is processing"))
        elif step - 1 < len(STATES):
            set_condition("Processing")
            status["rebalanceStates"] = [_state(rebalance, nodes, STATES[max(0, step - 1)])]
            events.append(("Normal", "Rebalance", "rebalance is processing"))
        else:
            status["phase"] = "Completed"
            status["completedTime"] = now_rfc3339()
            set_condition("Completed")
            status.pop("rebalanceStates", None)
            events.append(("Normal", "Rebalance", "rebalance completed"))
        status["conditions"] = conditions
        return StatusChange(status, events)


def _state(rebalance: Rebalance, nodes: list[str], state: str) -> dict[str, Any]:
    """One entry of ``rebalanceStates``: the first node coordinates, and gives connections
    (donor) to the others (recipients)."""
    assert rebalance.spec is not None
    strategy = rebalance.spec.rebalance_strategy
    coordinator = nodes[0] if nodes else ""
    return drop_empty(
        {
            "state": state,
            "session_eviction_rate": strategy.sess_evict_rate,
            "recipients": nodes[1:],
            "node": coordinator,
            "donors": nodes[:1],
            "coordinator_node": coordinator,
            "connection_eviction_rate": strategy.conn_evict_rate,
        }
    )


def _enterprise(instance: dict[str, Any], node: dict[str, Any]) -> bool:
    """Whether the EMQX runs the Enterprise edition: v2beta1 nodes say so (``edition``); v2 nodes
    no longer carry it, so the image tells (emqx.images.edition_of, as the simulator's nodes report it)."""
    if "edition" in node:
        return bool(node.get("edition") == "Enterprise")
    return images.edition_of(str((instance.get("spec") or {}).get("image") or "")) == "Enterprise"


def _true(status: dict[str, Any], type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in status.get("conditions") or [])


def _resume_step(raw: dict[str, Any]) -> int:
    states = (raw.get("status") or {}).get("rebalanceStates") or []
    if states and states[0].get("state") in STATES:
        return STATES.index(states[0]["state"]) + 2
    return 1
