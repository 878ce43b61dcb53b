"""The demo's data: per emqx-operator line, the namespaces and objects of a plausible fleet.

``seed(cs)`` finds out which line the cluster runs (:func:`detect_line`: the EMQX versions it
serves) and creates what is missing of that line's data, leaving what exists alone
(create-if-absent): seeding twice neither duplicates nor fails, and nothing a person changed in
the console is put back. The states come from the status simulator (``sandbox.operator``),
driven by the objects themselves. ``seed_when_ready(cs)`` then does the line's later steps,
each once the instance it needs is Ready (a Rebalance of a cluster that is not ready fails at
once, as with the real operator; a rollout needs a first revision to roll from).

**Operator 2.3** (EMQX ``apps.emqx.io/v2``, Rebalance v2beta1):

=================================  ===========================================================
emqx-prod/mqtt-edge                Enterprise 5.10, 3 core + 4 replicants, tuned config: Ready
emqx-prod/telemetry                Enterprise 5.10, 3 core nodes only: Ready
emqx-prod/payments-gw              Enterprise 5.9, 2 core + 2 replicants; once Ready, rolled to
                                   5.10 at 30 s per pod: rolling to a new image for minutes
emqx-staging/mqtt-edge             Enterprise 6.0, 2 core + 1 replicant: Ready
iot-platform/device-gateway        open source 5.8, 2 core + 3 replicants, with the
                                   ``replicant-node-down`` fault: degraded
emqx-prod/mqtt-edge-rebalance      once mqtt-edge is Ready: Processing, then Completed
=================================  ===========================================================

**Operator 2.2** (EMQX v2beta1, the 4.x brokers v1beta4, Rebalance v2beta1):

=================================  ===========================================================
emqx-prod/mqtt-core                Enterprise 5.8, 3 core + 4 replicants, tuned config: Ready
emqx-prod/telemetry                Enterprise 5.7, 3 core nodes only: Ready
emqx-prod/payments-gw              Enterprise 5.8 with the ``core-node-down`` fault: degraded
emqx-staging/mqtt-core             open source 5.8, 2 core + 2 replicants: Ready
emqx-staging/broken-config         a ``]`` missing in its HOCON: InvalidConfig, no status
emqx-staging/canary                Enterprise 5.8, 1 core + 1 replicant: Ready
iot-lab/sandbox-56                 open source 5.6, one core node: Ready
iot-lab/edge-gateway               open source 5.8 with the ``replicant-node-down`` fault: degraded
iot-lab/fleet-rollout              brand new, 3 core + 6 replicants at 20 s per pod: progressing
emqx-staging/legacy-broker         EmqxBroker (EMQX 4.4), 3 nodes
emqx-prod/legacy-ee                EmqxEnterprise (EMQX Enterprise 4.4), 3 nodes
emqx-prod/payments-gw-rebalance    a Rebalance of payments-gw, which is not ready: Failed
emqx-prod/mqtt-core-rebalance      once mqtt-core is Ready: Processing, then Completed
=================================  ===========================================================

**Operator 3.0** (EMQX v3beta1, EMQXAPIKey; no Rebalance, no brokers):

=================================  ===========================================================
emqx-pilot/mqtt-next               Enterprise 6.0, 2 core + 2 replicants, ``spec.config.roots``
emqx-pilot/single-node             open source 5.10, one core node
emqx-pilot/mqtt-next-ci            EMQXAPIKey of mqtt-next (Viewer), Secret mqtt-next-ci-api-key
=================================  ===========================================================

**2021** (EmqxBroker/EmqxEnterprise v1beta1 only): the two brokers, in v1beta1.

Pure Python, no Django.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from emqx.client import Clientset
from emqx.client.resource import ResourceClient
from emqx.errors import AlreadyExists, EmqxClientError
from sandbox.operator.common import FAULT_ANNOTATION, PACE_ANNOTATION

__all__ = [
    "LINES",
    "SEED_LABEL",
    "Deferred",
    "Line",
    "SeedReport",
    "detect_line",
    "seed",
    "seed_rebalance_when_ready",
    "seed_when_ready",
]

log = logging.getLogger(__name__)

FIELD_MANAGER = "emqx-demo-seed"
SEED_LABEL = "demo.emqx.io/seed"
GROUP = "apps.emqx.io"


@dataclass(frozen=True)
class Deferred:
    """A later step of the seed, done once the EMQX ``namespace/instance`` is Ready: create
    ``create`` (if absent), or merge-patch the instance with ``patch`` while its image is still
    ``from_image`` (so a change a person made is never undone)."""

    namespace: str
    instance: str
    create: dict[str, Any] | None = None
    patch: dict[str, Any] | None = None
    from_image: str | None = None

    def describe(self) -> str:
        if self.create is not None:
            return _describe(self.create)
        return f"EMQX {self.namespace}/{self.instance} rollout"


@dataclass(frozen=True)
class Line:
    """One emqx-operator line's demo data: its namespaces (with their labels), the objects to
    create (in this order: what is referred to first), and the steps that wait for Ready."""

    name: str
    emqx_version: str | None
    namespaces: dict[str, dict[str, str]]
    documents: tuple[dict[str, Any], ...]
    deferred: tuple[Deferred, ...] = ()

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.documents if d["kind"] == kind]


def _metadata(
    namespace: str, name: str, annotations: dict[str, str] | None = None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {SEED_LABEL: "true", **(labels or {})}}
    if annotations:
        metadata["annotations"] = annotations
    return metadata


def _emqx(
    version: str,
    namespace: str,
    name: str,
    image: str,
    core: int,
    replicants: int = 0,
    *,
    config: str | dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An EMQX of ``version``: v2beta1 and v2 take HOCON (``config.data``), v3beta1 a tree
    (``config.roots``)."""
    spec: dict[str, Any] = {"image": image, "coreTemplate": {"spec": {"replicas": core}}}
    if replicants:
        spec["replicantTemplate"] = {"spec": {"replicas": replicants}}
    if isinstance(config, str):
        spec["config"] = {"data": config}
    elif config is not None:
        spec["config"] = {"roots": config}
    return {
        "apiVersion": f"{GROUP}/{version}",
        "kind": "EMQX",
        "metadata": _metadata(namespace, name, annotations, labels),
        "spec": spec,
    }


def _rebalance(namespace: str, name: str, instance: str, *, instance_kind: bool = True) -> dict[str, Any]:
    """A Rebalance v2beta1 of the EMQX ``instance``. Operator 2.3's v2beta1 has no ``instanceKind``
    (EMQX is the only kind left to rebalance): ``instance_kind=False``."""
    spec: dict[str, Any] = {
        "instanceName": instance,
        "rebalanceStrategy": {"connEvictRate": 50, "sessEvictRate": 50, "waitTakeover": 10},
    }
    if instance_kind:
        spec = {"instanceKind": "EMQX", **spec}
    return {"apiVersion": f"{GROUP}/v2beta1", "kind": "Rebalance", "metadata": _metadata(namespace, name), "spec": spec}


def _broker_v1beta4(kind: str, namespace: str, name: str, repository: str, version: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": 3,
        "template": {"spec": {"emqxContainer": {"image": {"repository": repository, "version": version}}}},
    }
    if kind == "EmqxEnterprise":
        spec["blueGreenUpdate"] = {"initialDelaySeconds": 10, "evacuationStrategy": {"connEvictRate": 100}}
    return {"apiVersion": f"{GROUP}/v1beta4", "kind": kind, "metadata": _metadata(namespace, name), "spec": spec}


def _broker_v1beta1(kind: str, namespace: str, name: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1beta1",
        "kind": kind,
        "metadata": _metadata(namespace, name),
        "spec": {"image": image, "replicas": 3},
    }


# ----- operator 2.2: the demo as it was, the 4.x brokers included --------------------------------

_PLATFORM_NAMESPACES: dict[str, dict[str, str]] = {
    "emqx-prod": {"environment": "production", "team": "platform"},
    "emqx-staging": {"environment": "staging", "team": "platform"},
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


def _v2beta1(namespace: str, name: str, image: str, core: int, replicants: int = 0, **kw: Any) -> dict[str, Any]:
    return _emqx("v2beta1", namespace, name, image, core, replicants, **kw)


LINE_2_2 = Line(
    name="2.2",
    emqx_version="v2beta1",
    namespaces={**_PLATFORM_NAMESPACES, "iot-lab": {"environment": "lab", "team": "iot"}},
    documents=(
        _v2beta1(
            "emqx-prod", "mqtt-core", "emqx/emqx-enterprise:5.8.6", 3, 4, config=_TUNED_CONFIG, labels={"tier": "edge"}
        ),
        _v2beta1("emqx-prod", "telemetry", "emqx/emqx-enterprise:5.7.2", 3, labels={"tier": "backend"}),
        _v2beta1(
            "emqx-prod",
            "payments-gw",
            "emqx/emqx-enterprise:5.8.6",
            3,
            2,
            annotations={FAULT_ANNOTATION: "core-node-down"},
            labels={"tier": "edge"},
        ),
        _v2beta1("emqx-staging", "mqtt-core", "emqx/emqx:5.8.4", 2, 2, labels={"tier": "edge"}),
        _v2beta1("emqx-staging", "broken-config", "emqx/emqx:5.7.2", 1, config=_BROKEN_CONFIG),
        _v2beta1("emqx-staging", "canary", "emqx/emqx-enterprise:5.8.6", 1, 1),
        _v2beta1("iot-lab", "sandbox-56", "emqx/emqx:5.6.1", 1),
        _v2beta1(
            "iot-lab", "edge-gateway", "emqx/emqx:5.8.6", 2, 3, annotations={FAULT_ANNOTATION: "replicant-node-down"}
        ),
        _v2beta1("iot-lab", "fleet-rollout", "emqx/emqx-enterprise:5.8.6", 3, 6, annotations={PACE_ANNOTATION: "20"}),
        _broker_v1beta4("EmqxBroker", "emqx-staging", "legacy-broker", "emqx/emqx", "4.4.19"),
        _broker_v1beta4("EmqxEnterprise", "emqx-prod", "legacy-ee", "emqx/emqx-ee", "4.4.19"),
        _rebalance("emqx-prod", "payments-gw-rebalance", "payments-gw"),
    ),
    deferred=(Deferred("emqx-prod", "mqtt-core", create=_rebalance("emqx-prod", "mqtt-core-rebalance", "mqtt-core")),),
)

# ----- operator 2.3: EMQX v2 ----------------------------------------------------------------------

_EDGE_CONFIG = """\
mqtt {
  max_packet_size = 1MB
  max_inflight = 64
  session_expiry_interval = 2h
}
listeners.ssl.default.bind = "0.0.0.0:8883"
log.console.level = warning
"""

ROLLOUT_FROM = "emqx/emqx-enterprise:5.9.1"
ROLLOUT_TO = "emqx/emqx-enterprise:5.10.1"
# The rollout's pace (seconds per pod): slow enough to be seen rolling for a few minutes.
ROLLOUT_PACE = "30"


def _v2(namespace: str, name: str, image: str, core: int, replicants: int = 0, **kw: Any) -> dict[str, Any]:
    return _emqx("v2", namespace, name, image, core, replicants, **kw)


LINE_2_3 = Line(
    name="2.3",
    emqx_version="v2",
    namespaces={**_PLATFORM_NAMESPACES, "iot-platform": {"environment": "production", "team": "iot"}},
    documents=(
        _v2(
            "emqx-prod", "mqtt-edge", "emqx/emqx-enterprise:5.10.1", 3, 4, config=_EDGE_CONFIG, labels={"tier": "edge"}
        ),
        _v2("emqx-prod", "telemetry", "emqx/emqx-enterprise:5.10.1", 3, labels={"tier": "backend"}),
        _v2("emqx-prod", "payments-gw", ROLLOUT_FROM, 2, 2, labels={"tier": "edge"}),
        _v2("emqx-staging", "mqtt-edge", "emqx/emqx-enterprise:6.0.0", 2, 1, labels={"tier": "edge"}),
        _v2(
            "iot-platform",
            "device-gateway",
            "emqx/emqx:5.8.6",
            2,
            3,
            annotations={FAULT_ANNOTATION: "replicant-node-down"},
        ),
    ),
    deferred=(
        Deferred(
            "emqx-prod",
            "payments-gw",
            patch={"metadata": {"annotations": {PACE_ANNOTATION: ROLLOUT_PACE}}, "spec": {"image": ROLLOUT_TO}},
            from_image=ROLLOUT_FROM,
        ),
        Deferred(
            "emqx-prod",
            "mqtt-edge",
            create=_rebalance("emqx-prod", "mqtt-edge-rebalance", "mqtt-edge", instance_kind=False),
        ),
    ),
)

# ----- operator 3.0: EMQX v3beta1 and EMQXAPIKey ---------------------------------------------------

NEXT_CONFIG_ROOTS: dict[str, Any] = {
    "mqtt": {"max_packet_size": "1MB"},
    "log": {"console": {"level": "warning"}},
}

LINE_3_0 = Line(
    name="3.0",
    emqx_version="v3beta1",
    namespaces={"emqx-pilot": {"environment": "staging", "team": "platform"}},
    documents=(
        # v3beta1 (CEL): replicants need at least 2 core nodes.
        _emqx(
            "v3beta1",
            "emqx-pilot",
            "mqtt-next",
            "emqx/emqx-enterprise:6.0.0",
            2,
            2,
            config=NEXT_CONFIG_ROOTS,
            labels={"tier": "edge"},
        ),
        _emqx("v3beta1", "emqx-pilot", "single-node", "emqx/emqx:5.10.1", 1),
        {
            "apiVersion": f"{GROUP}/v3beta1",
            "kind": "EMQXAPIKey",
            "metadata": _metadata("emqx-pilot", "mqtt-next-ci"),
            "spec": {
                "emqxRef": {"name": "mqtt-next"},
                "secretRef": {"name": "mqtt-next-ci-api-key"},
                "role": "Viewer",
                "description": "Read-only key for the CI smoke tests",
            },
        },
    ),
)

# ----- 2021: the brokers in v1beta1 only -------------------------------------------------------------

LINE_2021 = Line(
    name="2021",
    emqx_version=None,
    namespaces=dict(_PLATFORM_NAMESPACES),
    documents=(
        _broker_v1beta1("EmqxBroker", "emqx-staging", "legacy-broker", "emqx/emqx:4.3.10"),
        _broker_v1beta1("EmqxEnterprise", "emqx-prod", "legacy-ee", "emqx/emqx-ee:4.3.5"),
    ),
)

LINES: dict[str, Line] = {line.name: line for line in (LINE_2_3, LINE_2_2, LINE_3_0, LINE_2021)}


# ----- seeding ---------------------------------------------------------------------------------------


@dataclass
class SeedReport:
    """What ``seed`` did, as ``Kind namespace/name`` strings, on which line."""

    line: str = ""
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


def detect_line(cs: Clientset) -> str:
    """The operator line whose CRDs the cluster has, from the versions it serves: "3.0" (EMQX
    v3beta1), "2.3" (EMQX v2), "2.2" (EMQX v2beta1) or "2021" (brokers v1beta1 only). Raises
    LookupError when it serves none of them (no EMQX CRD installed)."""
    discovery = cs.discovery
    discovery.refresh()
    emqx = discovery.kind("EMQX")
    for version, line in (("v3beta1", "3.0"), ("v2", "2.3"), ("v2beta1", "2.2")):
        if emqx.serves(version):
            return line
    if discovery.kind("EmqxBroker").serves("v1beta1"):
        return "2021"
    raise LookupError(f"{cs.server} serves no version of the emqx-operator's CRDs that the demo data knows")


def _client(cs: Clientset, document: dict[str, Any]) -> ResourceClient[Any]:
    """The typed client of the document's kind and version (cs.apps_v2.emqxes(ns), ...)."""
    version = document["apiVersion"].rpartition("/")[2]
    return cs.for_kind(document["kind"], document["metadata"]["namespace"], version=version)


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
    version = document["apiVersion"].rpartition("/")[2]
    if not cs.discovery.kind(document["kind"]).serves(version):
        report.skipped.append(_describe(document))
        return
    try:
        _client(cs, document).create(document, field_manager=FIELD_MANAGER)
        report.created.append(_describe(document))
    except AlreadyExists:
        report.existing.append(_describe(document))


def _in_prefixed(document: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The document in its namespace with ``prefix`` in front (references stay by name, in the
    same namespace)."""
    if not prefix:
        return document
    metadata = {**document["metadata"], "namespace": prefix + document["metadata"]["namespace"]}
    return {**document, "metadata": metadata}


def seed(cs: Clientset, line: str | None = None, *, prefix: str = "") -> SeedReport:
    """Create the namespaces and objects of the cluster's line (``line``, or
    :func:`detect_line`) that do not exist yet; see the module docstring. Kinds the cluster
    does not serve are skipped and reported. ``prefix`` goes in front of every namespace's
    name (tests: a world of their own on a shared cluster)."""
    data = LINES[line or detect_line(cs)]
    report = SeedReport(line=data.name)
    cs.discovery.refresh()
    for name, labels in data.namespaces.items():
        _ensure_namespace(cs, prefix + name, labels, report)
    for document in data.documents:
        _create_if_absent(cs, _in_prefixed(document, prefix), report)
    return report


def _emqx_path(version: str, namespace: str, name: str) -> str:
    return f"/apis/{GROUP}/{version}/namespaces/{namespace}/emqxes/{name}"


def _is_ready(emqx: dict[str, Any]) -> bool:
    """Whether the instance's ``Ready`` condition is True (looked up by type: v2beta1 keeps the
    newest first, v2 and v3beta1 keep every type in place)."""
    conditions = (emqx.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions if isinstance(c, dict))


def _do(cs: Clientset, line: Line, step: Deferred, namespace: str, emqx: dict[str, Any], prefix: str) -> None:
    if step.create is not None:
        _create_if_absent(cs, _in_prefixed(step.create, prefix), SeedReport(line=line.name))
    if step.patch is not None and (emqx.get("spec") or {}).get("image") == step.from_image:
        assert line.emqx_version is not None
        cs.for_kind("EMQX", namespace, version=line.emqx_version).patch(
            step.instance, step.patch, field_manager=FIELD_MANAGER
        )


def seed_when_ready(
    cs: Clientset,
    *,
    line: str | None = None,
    prefix: str = "",
    timeout: float = 600.0,
    stop: threading.Event | None = None,
    interval: float = 1.0,
) -> bool:
    """The later steps of the cluster's line (``Line.deferred``), each once its instance is
    Ready: a Rebalance created, a rollout started (``line`` and ``prefix`` as for :func:`seed`).
    Returns True once every step is done (at once when the line has none), False on
    ``timeout`` or ``stop``."""
    stop = stop or threading.Event()
    deadline = time.monotonic() + timeout
    data: Line | None = LINES[line] if line else None
    pending: list[Deferred] | None = None
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            if data is None:
                data = LINES[detect_line(cs)]
            if pending is None:
                pending = list(data.deferred)
            for step in list(pending):
                assert data.emqx_version is not None
                namespace = prefix + step.namespace
                emqx = cs.transport.request_json("GET", _emqx_path(data.emqx_version, namespace, step.instance))
                if _is_ready(emqx):
                    _do(cs, data, step, namespace, emqx, prefix)
                    pending.remove(step)
            if not pending:
                return True
        except (EmqxClientError, LookupError) as error:  # not there yet, or the API server is away: retry
            log.debug("demo data, waiting: %s", error)
        stop.wait(interval)
    return False


# The name of the 2.2-only function this was; tests/e2e/make_screenshots.py still calls it.
seed_rebalance_when_ready = seed_when_ready
