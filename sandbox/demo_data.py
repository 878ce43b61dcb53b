"""The demo's data: a few namespaces and EMQX clusters of different shapes and states.

``seed(cs)`` creates what is missing and leaves what exists alone (create-if-absent), so
seeding twice neither duplicates nor fails, and nothing a person changed in the console is
put back. The states come from the status simulator (``sandbox.operator``), driven by the
objects themselves:

========================  ==========================================================
emqx-prod/mqtt-core       Enterprise 5.8, 3 core + 4 replicants, tuned config: Ready
emqx-prod/telemetry       Enterprise 5.7, 3 core nodes only: Ready
emqx-prod/payments-gw     Enterprise 5.8 with the ``core-node-down`` fault: degraded
emqx-staging/mqtt-core    open source 5.8, 2 core + 2 replicants: Ready
emqx-staging/broken-config  a ``]`` missing in its HOCON: InvalidConfig, no status
emqx-staging/canary       Enterprise 5.8, 1 core + 1 replicant: Ready
iot-lab/sandbox-56        open source 5.6, one core node: Ready
iot-lab/edge-gateway      open source 5.8 with the ``replicant-node-down`` fault: degraded
iot-lab/fleet-rollout     brand new, 3 core + 6 replicants at 20 s per pod: progressing
emqx-staging/legacy-broker    EmqxBroker (EMQX 4.4), 3 nodes
emqx-prod/legacy-ee           EmqxEnterprise (EMQX Enterprise 4.4), 3 nodes
emqx-prod/payments-gw-rebalance  a Rebalance of payments-gw, which is not ready: Failed
========================  ==========================================================

``seed_rebalance_when_ready`` adds emqx-prod/mqtt-core-rebalance once mqtt-core is Ready,
which the simulator then takes through Processing to Completed.

On a 2021 cluster (brokers v1beta1 only, no EMQX kind) only the brokers are seeded, in
v1beta1. Pure Python, no Django.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from emqx.client import Clientset
from emqx.errors import AlreadyExists, EmqxClientError
from sandbox.operator.common import FAULT_ANNOTATION, PACE_ANNOTATION

__all__ = [
    "DEFERRED_REBALANCE",
    "EMQXES",
    "NAMESPACES",
    "SEED_LABEL",
    "SeedReport",
    "seed",
    "seed_rebalance_when_ready",
]

log = logging.getLogger(__name__)

FIELD_MANAGER = "emqx-demo-seed"
SEED_LABEL = "demo.emqx.io/seed"

NAMESPACES: dict[str, dict[str, str]] = {
    "emqx-prod": {"environment": "production", "team": "platform"},
    "emqx-staging": {"environment": "staging", "team": "platform"},
    "iot-lab": {"environment": "lab", "team": "iot"},
}

_TUNED_CONFIG = """\
mqtt {
  max_packet_size = 2MB
  max_clientid_len = 65535
  session_expiry_interval = 2h
}
listeners.ssl.default.bind = "0.0.0.0:8883"
log.console.level = warning
"""

# A ']' is missing: the kind of slip that InvalidConfig is there to catch.
_BROKEN_CONFIG = """\
authentication = [
  {
    mechanism = password_based
    backend = built_in_database
    user_id_type = username
  }
log.console.level = debug
"""


def _emqx(
    namespace: str,
    name: str,
    image: str,
    core: int,
    replicants: int = 0,
    *,
    config: str | None = None,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"image": image, "coreTemplate": {"spec": {"replicas": core}}}
    if replicants:
        spec["replicantTemplate"] = {"spec": {"replicas": replicants}}
    if config is not None:
        spec["config"] = {"data": config}
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {SEED_LABEL: "true", **(labels or {})}}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "apps.emqx.io/v2beta1", "kind": "EMQX", "metadata": metadata, "spec": spec}


EMQXES: list[dict[str, Any]] = [
    _emqx("emqx-prod", "mqtt-core", "emqx/emqx-enterprise:5.8.6", 3, 4, config=_TUNED_CONFIG, labels={"tier": "edge"}),
    _emqx("emqx-prod", "telemetry", "emqx/emqx-enterprise:5.7.2", 3, labels={"tier": "backend"}),
    _emqx(
        "emqx-prod",
        "payments-gw",
        "emqx/emqx-enterprise:5.8.6",
        3,
        2,
        annotations={FAULT_ANNOTATION: "core-node-down"},
        labels={"tier": "edge"},
    ),
    _emqx("emqx-staging", "mqtt-core", "emqx/emqx:5.8.4", 2, 2, labels={"tier": "edge"}),
    _emqx("emqx-staging", "broken-config", "emqx/emqx:5.7.2", 1, config=_BROKEN_CONFIG),
    _emqx("emqx-staging", "canary", "emqx/emqx-enterprise:5.8.6", 1, 1),
    _emqx("iot-lab", "sandbox-56", "emqx/emqx:5.6.1", 1),
    _emqx("iot-lab", "edge-gateway", "emqx/emqx:5.8.6", 2, 3, annotations={FAULT_ANNOTATION: "replicant-node-down"}),
    _emqx("iot-lab", "fleet-rollout", "emqx/emqx-enterprise:5.8.6", 3, 6, annotations={PACE_ANNOTATION: "20"}),
]


def _broker_v1beta4(kind: str, namespace: str, name: str, repository: str, version: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": 3,
        "template": {"spec": {"emqxContainer": {"image": {"repository": repository, "version": version}}}},
    }
    if kind == "EmqxEnterprise":
        spec["blueGreenUpdate"] = {"initialDelaySeconds": 10, "evacuationStrategy": {"connEvictRate": 100}}
    return {
        "apiVersion": "apps.emqx.io/v1beta4",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": {SEED_LABEL: "true"}},
        "spec": spec,
    }


def _broker_v1beta1(kind: str, namespace: str, name: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps.emqx.io/v1beta1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": {SEED_LABEL: "true"}},
        "spec": {"image": image, "replicas": 3},
    }


BROKERS: dict[str, list[dict[str, Any]]] = {
    "v1beta4": [
        _broker_v1beta4("EmqxBroker", "emqx-staging", "legacy-broker", "emqx/emqx", "4.4.19"),
        _broker_v1beta4("EmqxEnterprise", "emqx-prod", "legacy-ee", "emqx/emqx-ee", "4.4.19"),
    ],
    "v1beta1": [
        _broker_v1beta1("EmqxBroker", "emqx-staging", "legacy-broker", "emqx/emqx:4.3.10"),
        _broker_v1beta1("EmqxEnterprise", "emqx-prod", "legacy-ee", "emqx/emqx-ee:4.3.5"),
    ],
}


def _rebalance(name: str, instance: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps.emqx.io/v2beta1",
        "kind": "Rebalance",
        "metadata": {"name": name, "namespace": "emqx-prod", "labels": {SEED_LABEL: "true"}},
        "spec": {
            "instanceKind": "EMQX",
            "instanceName": instance,
            "rebalanceStrategy": {"connEvictRate": 50, "sessEvictRate": 50, "waitTakeover": 10},
        },
    }


REBALANCES: list[dict[str, Any]] = [_rebalance("payments-gw-rebalance", "payments-gw")]
DEFERRED_REBALANCE: dict[str, Any] = _rebalance("mqtt-core-rebalance", "mqtt-core")


@dataclass
class SeedReport:
    """What ``seed`` did, as ``Kind namespace/name`` strings."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"{len(self.created)} created", f"{len(self.existing)} already there"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped (not served by this cluster)")
        return ", ".join(parts)


def _describe(document: dict[str, Any]) -> str:
    meta = document["metadata"]
    return f"{document['kind']} {meta['namespace']}/{meta['name']}"


def _ensure_namespace(cs: Clientset, name: str, labels: dict[str, str], report: SeedReport) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    try:
        cs.transport.request("POST", "/api/v1/namespaces", query=[("fieldManager", FIELD_MANAGER)], body=body)
        report.created.append(f"Namespace {name}")
    except AlreadyExists:
        # Keep the namespace; make sure the labels the console filters on are there.
        cs.transport.request(
            "PATCH",
            f"/api/v1/namespaces/{name}",
            query=[("fieldManager", FIELD_MANAGER)],
            body={"metadata": {"labels": labels}},
            content_type="application/merge-patch+json",
        )
        report.existing.append(f"Namespace {name}")


def _create_if_absent(cs: Clientset, document: dict[str, Any], report: SeedReport) -> None:
    kind, version = document["kind"], document["apiVersion"].rpartition("/")[2]
    client = cs.for_kind(kind, document["metadata"]["namespace"], version=version)
    try:
        client.create(document, field_manager=FIELD_MANAGER)
        report.created.append(_describe(document))
    except AlreadyExists:
        report.existing.append(_describe(document))


def seed(cs: Clientset) -> SeedReport:
    """Create the demo's namespaces and objects that do not exist yet (see the module
    docstring). Kinds the cluster does not serve are skipped and reported."""
    report = SeedReport()
    discovery = cs.discovery
    discovery.refresh()
    for name, labels in NAMESPACES.items():
        _ensure_namespace(cs, name, labels, report)
    emqx_served = discovery.kind("EMQX").serves("v2beta1")
    for document in EMQXES:
        if emqx_served:
            _create_if_absent(cs, document, report)
        else:
            report.skipped.append(_describe(document))
    broker_version = discovery.best_version("EmqxBroker", ("v1beta4", "v1beta1"))
    for document in BROKERS.get(broker_version or "", []):
        _create_if_absent(cs, document, report)
    for document in REBALANCES:
        if discovery.kind("Rebalance").serves("v2beta1") and emqx_served:
            _create_if_absent(cs, document, report)
        else:
            report.skipped.append(_describe(document))
    return report


def seed_rebalance_when_ready(
    cs: Clientset, *, timeout: float = 600.0, stop: threading.Event | None = None, interval: float = 1.0
) -> bool:
    """Wait until emqx-prod/mqtt-core is Ready, then create its Rebalance (if absent).
    A Rebalance of a cluster that is not ready fails at once, as with the real operator,
    hence the wait. Returns True once the Rebalance exists."""
    stop = stop or threading.Event()
    instance = DEFERRED_REBALANCE["spec"]["instanceName"]
    deadline = time.monotonic() + timeout
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            emqx = cs.apps_v2beta1.emqxes("emqx-prod").get(instance)
            conditions = emqx.status.conditions if emqx.status is not None else None
            if conditions and conditions[0].type == "Ready" and conditions[0].status == "True":
                report = SeedReport()
                _create_if_absent(cs, DEFERRED_REBALANCE, report)
                return True
        except EmqxClientError as error:  # not there yet, or the API server is away: retry
            log.debug("waiting for %s: %s", instance, error)
        stop.wait(interval)
    return False
