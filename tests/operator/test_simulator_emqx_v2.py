"""EMQX v2 status as operator 2.3 writes it, in both of its status models, played by the
simulator on a 2.3 cluster (EMQX v2 stored, v2beta1 still served).

Model A is the state machine (conditions inserted first, reset to False going backwards),
model B the independent conditions (appended at the end when they change). Each test steps
the simulator one reconcile at a time and reads every status it wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from emqx.client import Clientset
from emqx.discovery import GROUP
from emqx.events import EventsClient
from emqx.rest import api_path
from sandbox.operator import FAULT_ANNOTATION, Simulator
from sandbox.operator.common import STATUS_MODEL_ANNOTATION
from sandbox.operator.emqx_v2 import EmqxV2Controller
from tests.operator import FAST

ENTERPRISE = "emqx/emqx-enterprise:5.8.6"
Triple = tuple[str, str, str]
NODE_KEYS = {"name", "podName", "status", "otpRelease", "version", "role", "sessions", "connections"}

pytestmark = pytest.mark.usefixtures("sandbox_23")


class Cluster:
    """One EMQX in the test's namespace, read and changed as raw JSON through ``version``."""

    def __init__(self, cs: Clientset, namespace: str, name: str, version: str = "v2") -> None:
        self.cs, self.namespace, self.name, self.version = cs, namespace, name, version
        self.path = api_path(GROUP, "v2", "emqxes", namespace=namespace, name=name)

    def create(
        self,
        *,
        core: int = 2,
        replicants: int | None = None,
        annotations: dict[str, str] | None = None,
        config: str | None = None,
    ) -> None:
        spec: dict[str, Any] = {"image": ENTERPRISE, "coreTemplate": {"spec": {"replicas": core}}}
        if replicants is not None:
            spec["replicantTemplate"] = {"spec": {"replicas": replicants}}
        if config is not None:
            spec["config"] = {"data": config}
        meta: dict[str, Any] = {"name": self.name, **({"annotations": annotations} if annotations else {})}
        body = {"apiVersion": f"{GROUP}/{self.version}", "kind": "EMQX", "metadata": meta, "spec": spec}
        self.cs.transport.request_json(
            "POST", api_path(GROUP, self.version, "emqxes", namespace=self.namespace), body=body
        )

    def get(self) -> dict[str, Any]:
        obj: dict[str, Any] = self.cs.transport.request_json("GET", self.path)
        return obj

    def patch(self, patch: dict[str, Any]) -> None:
        self.cs.transport.request_json("PATCH", self.path, body=patch, content_type="application/merge-patch+json")


def cluster_named(cs: Clientset, namespace: str, name: str, version: str = "v2") -> Cluster:
    return Cluster(cs, namespace, name, version)


def triples(obj: dict[str, Any]) -> list[Triple]:
    """(type, status, reason) of each condition, in list order."""
    return [(c["type"], c["status"], c["reason"]) for c in (obj.get("status") or {}).get("conditions") or []]


def head(obj: dict[str, Any]) -> str | None:
    """Model A's current state: the first True condition."""
    return next((t for t, s, _ in triples(obj) if s == "True"), None)


def step(sim: Simulator, cluster: Cluster) -> dict[str, Any] | None:
    written = sim.reconcile_object("EMQX", cluster.namespace, cluster.name)
    return cluster.get() if written else None


def drive(
    sim: Simulator, cluster: Cluster, until: Callable[[dict[str, Any]], bool], limit: int = 40
) -> list[dict[str, Any]]:
    """Reconcile until a status write gives ``until(object)``; the object after each write."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        written = step(sim, cluster)
        if written is not None:
            seen.append(written)
            if until(written):
                return seen
    raise AssertionError(f"not there after {limit} reconciles: {triples(cluster.get())}")


def ready_a(obj: dict[str, Any]) -> bool:
    return head(obj) == "Ready"


def ready_b(obj: dict[str, Any]) -> bool:
    return ("Ready", "True", "Ready") in triples(obj)


ALL_TRUE_CORE_ONLY = [
    ("Ready", "True", "Ready"),
    ("Available", "True", "Available"),
    ("CoreNodesReady", "True", "CoreNodesReady"),
    ("CoreNodesProgressing", "True", "CoreNodesProgressing"),
    ("Initialized", "True", "Initialized"),
]


# ----- model A ---------------------------------------------------------------------------------


def test_model_a_puts_each_new_state_first_from_initialized_to_ready(sim_23, cs_23, namespace_23) -> None:
    cluster = cluster_named(cs_23, namespace_23, "solo")
    cluster.create(core=2)

    states = drive(sim_23, cluster, ready_a)

    assert [triples(s) for s in states] == [
        [("Initialized", "True", "Initialized")],
        [("CoreNodesProgressing", "True", "CoreNodesProgressing"), ("Initialized", "True", "Initialized")],
        ALL_TRUE_CORE_ONLY,  # CoreNodesReady, Available and Ready in one reconcile
    ]
    final = states[-1]
    conditions = final["status"]["conditions"]
    assert [c["message"] for c in conditions] == ["Cluster is ready", "", "", "", ""]
    assert not any("observedGeneration" in c for c in conditions)
    times = [c["lastTransitionTime"] for c in conditions]
    assert times == sorted(times, reverse=True)  # each write went first
    status = final["status"]
    counts = status["coreNodesStatus"]
    assert {k: counts[k] for k in ("replicas", "readyReplicas", "currentReplicas", "updateReplicas")} == {
        "replicas": 2,
        "readyReplicas": 2,
        "currentReplicas": 2,
        "updateReplicas": 2,
    }
    assert counts["currentRevision"] == counts["updateRevision"]
    nodes = status["coreNodes"]
    assert sorted(n["podName"] for n in nodes) == [f"solo-core-{counts['updateRevision']}-{i}" for i in (0, 1)]
    assert all(set(n) == NODE_KEYS for n in nodes)  # a core-only cluster's cores serve the clients
    assert all(n["name"] == f"emqx@{n['podName']}.solo-headless.{namespace_23}.svc.cluster.local" for n in nodes)
    assert {(n["status"], n["role"], n["version"]) for n in nodes} == {("running", "core", "5.8.6")}
    assert status["replicantNodesStatus"] == {} and status["dsReplication"] == {}
    assert "replicantNodes" not in status and "nodeEvacuationsStatus" not in status
    assert step(sim_23, cluster) is None  # Ready: nothing rewritten


def test_model_a_resets_to_create_replica_set_when_the_replicants_start(sim_23, cs_23, namespace_23) -> None:
    cluster = cluster_named(cs_23, namespace_23, "duo")
    cluster.create(core=2, replicants=2)

    states = drive(sim_23, cluster, ready_a)

    assert [triples(s) for s in states] == [
        [("Initialized", "True", "Initialized")],
        [("CoreNodesProgressing", "True", "CoreNodesProgressing"), ("Initialized", "True", "Initialized")],
        [
            ("CoreNodesProgressing", "False", "CreateReplicaSet"),
            ("CoreNodesReady", "False", "CreateReplicaSet"),
            ("ReplicantNodesProgressing", "False", "CreateReplicaSet"),
            ("Initialized", "True", "Initialized"),
        ],
        [
            ("ReplicantNodesProgressing", "True", "ReplicantNodesProgressing"),
            ("CoreNodesReady", "True", "CoreNodesReady"),
            ("CoreNodesProgressing", "True", "CoreNodesProgressing"),
            ("Initialized", "True", "Initialized"),
        ],
        [
            ("Ready", "True", "Ready"),
            ("Available", "True", "Available"),
            ("ReplicantNodesReady", "True", "ReplicantNodesReady"),
            ("ReplicantNodesProgressing", "True", "ReplicantNodesProgressing"),
            ("CoreNodesReady", "True", "CoreNodesReady"),
            ("CoreNodesProgressing", "True", "CoreNodesProgressing"),
            ("Initialized", "True", "Initialized"),
        ],
    ]
    status = states[-1]["status"]
    replicants = status["replicantNodes"]
    assert len(replicants) == 2 and all(set(n) == NODE_KEYS for n in replicants)
    assert all(n["sessions"] > n["connections"] > 0 for n in replicants)
    # With replicants, the clients connect to them: the core nodes report no sessions.
    assert all("sessions" not in n and "connections" not in n for n in status["coreNodes"])
    assert status["replicantNodesStatus"]["replicas"] == 2 == status["replicantNodesStatus"]["readyReplicas"]


def test_model_a_core_node_down_rewrites_every_true_condition_false_at_the_front(sim_23, cs_23, namespace_23) -> None:
    cluster = cluster_named(cs_23, namespace_23, "faulty")
    cluster.create(core=3)
    drive(sim_23, cluster, ready_a)

    cluster.patch({"metadata": {"annotations": {FAULT_ANNOTATION: "core-node-down"}}})
    degraded = drive(sim_23, cluster, lambda o: not ready_a(o))[-1]

    # ResetConditions("CoreNodesNotReady"): True -> False, each moved first in turn; then the
    # machine starts again from Initialized and stays at CoreNodesProgressing.
    assert triples(degraded) == [
        ("CoreNodesProgressing", "True", "CoreNodesProgressing"),
        ("CoreNodesReady", "False", "CoreNodesNotReady"),
        ("Available", "False", "CoreNodesNotReady"),
        ("Ready", "False", "CoreNodesNotReady"),
        ("Initialized", "True", "Initialized"),
    ]
    assert sorted(n["status"] for n in degraded["status"]["coreNodes"]) == ["running", "running", "stopped"]
    assert degraded["status"]["coreNodesStatus"]["readyReplicas"] == 2
    for _ in range(3):  # it stays there while the fault lasts
        assert step(sim_23, cluster) is None

    cluster.patch({"metadata": {"annotations": {FAULT_ANNOTATION: None}}})
    recovered = drive(sim_23, cluster, ready_a)
    assert [triples(s) for s in recovered] == [ALL_TRUE_CORE_ONLY]


def test_model_a_new_image_resets_with_create_new_stateful_set_and_rolls_a_new_set(sim_23, cs_23, namespace_23) -> None:
    cluster = cluster_named(cs_23, namespace_23, "roll")
    cluster.create(core=2)
    ready = drive(sim_23, cluster, ready_a)[-1]
    old_revision = ready["status"]["coreNodesStatus"]["updateRevision"]

    cluster.patch({"spec": {"image": "emqx/emqx-enterprise:5.8.7"}})
    states = drive(sim_23, cluster, ready_a)

    assert triples(states[0]) == [
        ("CoreNodesProgressing", "False", "CreateNewStatefulSet"),
        ("CoreNodesReady", "False", "CreateNewStatefulSet"),
        ("Available", "False", "CreateNewStatefulSet"),
        ("Ready", "False", "CreateNewStatefulSet"),
        ("Initialized", "True", "Initialized"),
    ]
    counts = states[0]["status"]["coreNodesStatus"]
    assert counts["currentRevision"] == old_revision != counts["updateRevision"]
    heads = [head(s) for s in states]
    assert heads[0] == "Initialized" and heads[-1] == "Ready" and "CoreNodesProgressing" in heads
    final = states[-1]["status"]
    assert {n["version"] for n in final["coreNodes"]} == {"5.8.7"}
    assert final["coreNodesStatus"]["currentRevision"] == final["coreNodesStatus"]["updateRevision"] != old_revision


def test_durable_sessions_in_the_config_add_ds_replication(sim_23, cs_23, namespace_23) -> None:
    cluster = cluster_named(cs_23, namespace_23, "ds")
    cluster.create(core=2, config="durable_sessions {\n  enable = true\n}\n")

    drive(sim_23, cluster, ready_a)
    for _ in range(4):  # the shard transitions settle after the pods
        sim_23.reconcile_object("EMQX", cluster.namespace, cluster.name)

    dbs = cluster.get()["status"]["dsReplication"]["dbs"]
    assert [(d["name"], d["numShards"], d["numTransitions"], d["minReplicas"], d["maxReplicas"]) for d in dbs] == [
        ("messages", 16, 0, 2, 2)
    ]


def test_invalid_hocon_is_a_warning_event_and_no_status(sim_23, cs_23, namespace_23) -> None:
    cluster = cluster_named(cs_23, namespace_23, "bad")
    cluster.create(config="listeners.tcp.default.bind = 0.0.0.0:1883")

    assert step(sim_23, cluster) is None
    obj = cluster.get()
    assert "status" not in obj or not obj["status"].get("conditions")
    events = EventsClient(cs_23.transport, namespace_23).list(involved_object=obj).items
    assert [(e.type, e.reason) for e in events] == [("Warning", "InvalidConfig")]


# ----- model B ---------------------------------------------------------------------------------


def test_model_b_evaluates_each_condition_alone_and_appends_a_change_at_the_end(cs_23, namespace_23) -> None:
    sim = Simulator(cs_23, pace=FAST, namespace=namespace_23, emqx_v2_model="B")
    cluster = cluster_named(cs_23, namespace_23, "indep")
    cluster.create(core=2, replicants=2)

    states = drive(sim, cluster, ready_b)

    assert [triples(s) for s in states] == [
        [
            ("CoreNodesProgressing", "True", "Create"),
            ("ReplicantNodesProgressing", "True", "Create"),
            ("Available", "False", "ReplicantPodsUnavailable"),
            ("Ready", "False", "CoreNodesProgressing"),
        ],
        [
            ("ReplicantNodesProgressing", "True", "Create"),
            ("Available", "False", "ReplicantPodsUnavailable"),
            ("Ready", "False", "CoreNodesProgressing"),
            ("CoreNodesProgressing", "False", "Converged"),
        ],
        [
            ("ReplicantNodesProgressing", "True", "Create"),
            ("Available", "False", "ReplicantPodsUnavailable"),
            ("CoreNodesProgressing", "False", "Converged"),
            ("Ready", "False", "ReplicantNodesProgressing"),
        ],
        [
            ("CoreNodesProgressing", "False", "Converged"),
            ("Ready", "False", "ReplicantNodesProgressing"),
            ("ReplicantNodesProgressing", "False", "Converged"),
            ("Available", "False", "ReplicantPodsUnavailable"),  # "0/2" -> "1/2": rewritten, moved last
        ],
        [
            ("CoreNodesProgressing", "False", "Converged"),
            ("ReplicantNodesProgressing", "False", "Converged"),
            ("Available", "True", "ReplicantPodsAvailable"),
            ("Ready", "True", "Ready"),
        ],
    ]
    available = [next(c for c in s["status"]["conditions"] if c["type"] == "Available") for s in states]
    assert [c["message"] for c in available] == [
        "0/2 replicant pods available",
        "0/2 replicant pods available",
        "0/2 replicant pods available",
        "1/2 replicant pods available",
        "2/2 replicant pods available",
    ]
    final = states[-1]["status"]
    assert not any("observedGeneration" in c for c in final["conditions"])
    # updatedReplicas is not in the served v2 schema: the API server keeps what it knows.
    assert final["coreNodesStatus"] == {"readyReplicas": 2, "currentReplicas": 2}
    assert sorted(n["podName"] for n in final["coreNodes"]) == ["indep-core-0", "indep-core-1"]
    assert final["replicantNodesStatus"]["currentRevision"] == final["replicantNodesStatus"]["updateRevision"]
    assert step(sim, cluster) is None


def test_model_b_rolls_the_core_set_in_place_with_rolling_update_messages(cs_23, namespace_23) -> None:
    sim = Simulator(cs_23, pace=FAST, namespace=namespace_23, emqx_v2_model="B")
    cluster = cluster_named(cs_23, namespace_23, "inplace")
    cluster.create(core=2)
    drive(sim, cluster, ready_b)

    cluster.patch({"spec": {"image": "emqx/emqx-enterprise:5.8.7"}})
    states = drive(sim, cluster, ready_b)

    messages = []
    for s in states:
        c = next(c for c in s["status"]["conditions"] if c["type"] == "CoreNodesProgressing")
        if not messages or messages[-1] != c["message"]:
            messages.append(c["message"])
    assert messages == ["0 core pods updated", "1/2 core pods updated", "2 core pods up to date"]
    assert {n["version"] for n in states[-1]["status"]["coreNodes"]} == {"5.8.7"}


def test_the_status_model_annotation_chooses_the_model_per_object(sim_23, cs_23, namespace_23) -> None:
    a = cluster_named(cs_23, namespace_23, "plain")
    b = cluster_named(cs_23, namespace_23, "annotated")
    a.create(core=1)
    b.create(core=1, annotations={STATUS_MODEL_ANNOTATION: "b"})

    assert sim_23.reconcile_once()

    assert triples(a.get()) == [("Initialized", "True", "Initialized")]
    assert triples(b.get()) == [
        ("CoreNodesProgressing", "True", "Create"),
        ("Available", "False", "CorePodsUnavailable"),
        ("Ready", "False", "CoreNodesProgressing"),
    ]


# ----- which controller ---------------------------------------------------------------------------


def test_on_a_2_3_cluster_the_simulator_writes_v2_status_for_objects_made_through_v2beta1(
    sim_23, cs_23, namespace_23
) -> None:
    controllers = sim_23.controllers()
    assert isinstance(controllers["EMQX"], EmqxV2Controller) and controllers["EMQX"].status_model == "A"
    assert set(controllers) == {"EMQX", "Rebalance"}
    legacy = cluster_named(cs_23, namespace_23, "legacy", version="v2beta1")
    legacy.create(core=1)

    final = drive(sim_23, legacy, ready_a)[-1]

    assert final["apiVersion"] == f"{GROUP}/v2"
    assert set(final["status"]["coreNodes"][0]) == NODE_KEYS  # v2 item names, not v2beta1's
    with pytest.raises(ValueError, match="emqx_v2_model"):
        Simulator(cs_23, emqx_v2_model="C")


def test_a_restarted_simulator_takes_over_a_model_a_cluster_without_rolling_it(sim_23, cs_23, namespace_23) -> None:
    cluster = cluster_named(cs_23, namespace_23, "adopted")
    cluster.create(core=2, replicants=2)
    ready = drive(sim_23, cluster, ready_a)[-1]

    restarted = Simulator(cs_23, pace=FAST, namespace=namespace_23)
    for _ in range(3):
        assert not restarted.reconcile_object("EMQX", namespace_23, "adopted")
    assert cluster.get()["status"] == ready["status"]
