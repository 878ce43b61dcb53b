"""EMQX v3beta1 status as operator 3.0 writes it, played by the simulator on a 3.0 cluster.

The simulator is stepped one reconcile at a time; every status it writes is read back raw
(``spec.config.roots`` may hold values the generated model does not take), so the sequences
asserted are exactly what a watcher of the object sees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from emqx.client import Clientset
from emqx.discovery import GROUP
from emqx.events import Event, EventsClient
from emqx.rest import api_path
from sandbox.operator import FAULT_ANNOTATION, Simulator
from sandbox.operator.emqx_v3beta1 import PAUSED_ANNOTATION, STARTUP_ROOTS, EmqxV3beta1Controller, split_roots
from tests.operator import FAST, wait_for

ENTERPRISE = "emqx/emqx-enterprise:5.8.6"
EMPTY_REVISION = hashlib.sha256(b"").hexdigest()
Triple = tuple[str, str, str]

pytestmark = pytest.mark.usefixtures("sandbox_30")


class Cluster:
    """One EMQX v3beta1 in the test's namespace, read and changed as raw JSON."""

    def __init__(self, cs: Clientset, namespace: str, name: str) -> None:
        self.cs, self.namespace, self.name = cs, namespace, name
        self.path = api_path(GROUP, "v3beta1", "emqxes", namespace=namespace, name=name)

    def create(
        self,
        *,
        core: int = 2,
        replicants: int | None = None,
        roots: dict[str, Any] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {"image": ENTERPRISE, "coreTemplate": {"spec": {"replicas": core}}}
        if replicants is not None:
            spec["replicantTemplate"] = {"spec": {"replicas": replicants}}
        if roots is not None:
            spec["config"] = {"roots": roots}
        meta: dict[str, Any] = {"name": self.name}
        if annotations:
            meta["annotations"] = annotations
        body = {"apiVersion": f"{GROUP}/v3beta1", "kind": "EMQX", "metadata": meta, "spec": spec}
        path = api_path(GROUP, "v3beta1", "emqxes", namespace=self.namespace)
        created: dict[str, Any] = self.cs.transport.request_json("POST", path, body=body)
        return created

    def get(self) -> dict[str, Any]:
        obj: dict[str, Any] = self.cs.transport.request_json("GET", self.path)
        return obj

    def patch(self, patch: dict[str, Any]) -> None:
        self.cs.transport.request_json("PATCH", self.path, body=patch, content_type="application/merge-patch+json")

    def annotate(self, key: str, value: str | None) -> None:
        self.patch({"metadata": {"annotations": {key: value}}})


@pytest.fixture
def cluster(cs_30: Clientset, namespace_30: str) -> Cluster:
    return Cluster(cs_30, namespace_30, "emqx")


def events(cs: Clientset, obj: dict[str, Any]) -> list[Event]:
    """The Events about ``obj``, oldest first."""
    items = EventsClient(cs.transport, obj["metadata"]["namespace"]).list(involved_object=obj).items
    return sorted(items, key=lambda e: e.metadata.name or "")


def triples(obj: dict[str, Any]) -> list[Triple]:
    """(type, status, reason) of each condition, in list order."""
    return [(c["type"], c["status"], c["reason"]) for c in (obj.get("status") or {}).get("conditions") or []]


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    found = [c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == type_]
    assert len(found) == 1, f"{type_} in {triples(obj)}"
    return found[0]


def step(sim: Simulator, cluster: Cluster) -> dict[str, Any] | None:
    """One reconcile; the object as stored if its status was written, else None."""
    written = sim.reconcile_object("EMQX", cluster.namespace, cluster.name)
    return cluster.get() if written else None


def drive(
    sim: Simulator, cluster: Cluster, until: Callable[[dict[str, Any]], bool], limit: int = 30
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


def is_ready(obj: dict[str, Any]) -> bool:
    return ("Ready", "True", "Ready") in triples(obj)


def to_ready(sim: Simulator, cluster: Cluster) -> dict[str, Any]:
    return drive(sim, cluster, is_ready)[-1]


def projection(obj: dict[str, Any], *types: str) -> dict[str, tuple[str, str, str]]:
    """(status, reason, message) of the named conditions."""
    return {t: (condition(obj, t)["status"], condition(obj, t)["reason"], condition(obj, t)["message"]) for t in types}


# ----- from nothing to Ready ------------------------------------------------------------------


def test_a_new_emqx_reports_every_condition_by_type_from_create_to_ready(sim_30, cluster) -> None:
    cluster.create(core=2, replicants=2)

    states = drive(sim_30, cluster, is_ready)

    order = ["EMQXAPIAvailable", "CoreNodesProgressing", "ReplicantNodesProgressing", "Available", "Ready"]
    order += ["Paused", "ConfigApplied"]
    assert [triples(s) for s in states] == [
        [
            ("EMQXAPIAvailable", "False", "NoRequester"),
            ("CoreNodesProgressing", "True", "Create"),
            ("ReplicantNodesProgressing", "True", "Create"),
            ("Available", "False", "ReplicantPodsUnavailable"),
            ("Ready", "False", "CoreNodesProgressing"),
            ("Paused", "False", "AnnotationNotSet"),
            ("ConfigApplied", "False", "PendingInitialStartup"),
        ],
        [
            ("EMQXAPIAvailable", "True", "RequestSucceeded"),
            ("CoreNodesProgressing", "False", "Converged"),
            ("ReplicantNodesProgressing", "True", "Create"),
            ("Available", "False", "ReplicantPodsUnavailable"),
            ("Ready", "False", "CoreNodesProgressing"),
            ("Paused", "False", "AnnotationNotSet"),
            ("ConfigApplied", "True", "Applied"),
        ],
        [
            ("EMQXAPIAvailable", "True", "RequestSucceeded"),
            ("CoreNodesProgressing", "False", "Converged"),
            ("ReplicantNodesProgressing", "True", "Create"),
            ("Available", "False", "ReplicantPodsUnavailable"),
            ("Ready", "False", "ReplicantNodesProgressing"),
            ("Paused", "False", "AnnotationNotSet"),
            ("ConfigApplied", "True", "Applied"),
        ],
        [
            ("EMQXAPIAvailable", "True", "RequestSucceeded"),
            ("CoreNodesProgressing", "False", "Converged"),
            ("ReplicantNodesProgressing", "False", "Converged"),
            ("Available", "False", "ReplicantPodsUnavailable"),
            ("Ready", "False", "ReplicantNodesProgressing"),
            ("Paused", "False", "AnnotationNotSet"),
            ("ConfigApplied", "True", "Applied"),
        ],
        [
            ("EMQXAPIAvailable", "True", "RequestSucceeded"),
            ("CoreNodesProgressing", "False", "Converged"),
            ("ReplicantNodesProgressing", "False", "Converged"),
            ("Available", "True", "ReplicantPodsAvailable"),
            ("Ready", "True", "Ready"),
            ("Paused", "False", "AnnotationNotSet"),
            ("ConfigApplied", "True", "Applied"),
        ],
    ]
    # The order is the order in which types were first set; it never changes.
    assert all([c["type"] for c in s["status"]["conditions"]] == order for s in states)
    first, final = states[0], states[-1]
    assert projection(first, "CoreNodesProgressing", "ReplicantNodesProgressing", "EMQXAPIAvailable") == {
        "CoreNodesProgressing": ("True", "Create", "spinning up core set"),
        "ReplicantNodesProgressing": ("True", "Create", "spinning up replicant set"),
        "EMQXAPIAvailable": ("False", "NoRequester", "No eligible core pod is available to serve EMQX API requests"),
    }
    assert projection(final, "Available", "Ready", "ConfigApplied", "CoreNodesProgressing") == {
        "Available": ("True", "ReplicantPodsAvailable", "2/2 replicant pods available"),
        "Ready": ("True", "Ready", "Cluster is ready"),
        "ConfigApplied": ("True", "Applied", "Desired configuration is active"),
        "CoreNodesProgressing": ("False", "Converged", "2 core pods up to date"),
    }
    assert {c["observedGeneration"] for c in final["status"]["conditions"]} == {1}
    # lastTransitionTime moves only when the status flips: Paused never did.
    assert len({condition(s, "Paused")["lastTransitionTime"] for s in states}) == 1

    status = final["status"]
    assert (status["coreReplicas"], status["replicantReplicas"]) == (2, 2)
    assert (
        status["coreSelector"]
        == "apps.emqx.io/db-role=core,apps.emqx.io/instance=emqx,apps.emqx.io/managed-by=emqx-operator"
    )
    assert status["replicantSelector"] == status["coreSelector"].replace("=core", "=replicant")
    assert status["coreNodesStatus"] == {"readyReplicas": 2, "updatedReplicas": 2, "currentReplicas": 2}
    replicants = status["replicantNodesStatus"]
    assert (replicants["readyReplicas"], replicants["currentReplicas"], replicants["updateReplicas"]) == (2, 2, 2)
    assert replicants["currentRevision"] == replicants["updateRevision"]
    nodes = status["clusterNodes"]
    assert sorted(n["podName"] for n in nodes if n["role"] == "core") == ["emqx-core-0", "emqx-core-1"]
    assert all(
        n["podName"].startswith(f"emqx-replicant-{replicants['updateRevision']}-")
        for n in nodes[2:]
        if n["role"] == "replicant"
    )
    assert all(
        set(n) == {"name", "podName", "status", "otpRelease", "version", "role", "sessions", "connections"}
        for n in nodes
    )
    assert {(n["status"], n["version"]) for n in nodes} == {("running", "5.8.6")}
    # Clients connect to the replicants; core nodes report zero (the fields are required).
    assert all(n["sessions"] == 0 == n["connections"] for n in nodes if n["role"] == "core")
    assert all(n["sessions"] > n["connections"] > 0 for n in nodes if n["role"] == "replicant")
    assert status["config"] == {
        "desiredRevision": EMPTY_REVISION,
        "desiredStartupRevision": EMPTY_REVISION,
        "runtimeRevision": EMPTY_REVISION,
        "activeStartupRevisions": [EMPTY_REVISION],
    }
    assert status["dsReplication"] == {}
    assert "nodeEvacuations" not in status


def test_the_simulator_plays_operator_3_0_on_a_cluster_that_serves_v3beta1(sim_30) -> None:
    controllers = sim_30.controllers()
    assert isinstance(controllers["EMQX"], EmqxV3beta1Controller)
    assert set(controllers) == {"EMQX", "EMQXAPIKey"}  # the 3.0 chart ships no Rebalance CRD


# ----- configuration -------------------------------------------------------------------------


def test_changing_a_startup_root_rolls_every_pod_before_the_config_is_applied(sim_30, cluster, cs_30) -> None:
    cluster.create(core=2)
    before = to_ready(sim_30, cluster)

    cluster.patch({"spec": {"config": {"roots": {"dashboard": {"listeners": {"http": {"bind": 18084}}}}}}})
    states = drive(sim_30, cluster, is_ready)

    watched = ("CoreNodesProgressing", "Available", "Ready", "ConfigApplied")
    pending = ("False", "StartupConfigPending", "Configuration roots require rolling restart: [dashboard]")
    assert [projection(s, *watched) for s in states] == [
        {
            "CoreNodesProgressing": ("True", "RollingUpdate", "0 core pods updated"),
            "Available": ("True", "CorePodsAvailable", "2/2 core pods available"),
            "Ready": ("False", "CoreNodesProgressing", "Core nodes are progressing"),
            "ConfigApplied": pending,
        },
        {
            "CoreNodesProgressing": ("True", "RollingUpdate", "1/2 core pods updated"),
            "Available": ("False", "CorePodsUnavailable", "1/2 core pods available"),
            "Ready": ("False", "CoreNodesProgressing", "Core nodes are progressing"),
            "ConfigApplied": pending,
        },
        {
            "CoreNodesProgressing": ("True", "RollingUpdate", "1/2 core pods updated"),
            "Available": ("True", "CorePodsAvailable", "2/2 core pods available"),
            "Ready": ("False", "CoreNodesProgressing", "Core nodes are progressing"),
            "ConfigApplied": pending,
        },
        {
            "CoreNodesProgressing": ("False", "Converged", "2 core pods up to date"),
            "Available": ("False", "CorePodsUnavailable", "1/2 core pods available"),
            "Ready": ("False", "CoreNodesProgressing", "Core nodes are progressing"),
            "ConfigApplied": ("True", "Applied", "Desired configuration is active"),
        },
        {
            "CoreNodesProgressing": ("False", "Converged", "2 core pods up to date"),
            "Available": ("True", "CorePodsAvailable", "2/2 core pods available"),
            "Ready": ("True", "Ready", "Cluster is ready"),
            "ConfigApplied": ("True", "Applied", "Desired configuration is active"),
        },
    ]
    # The pods were replaced one at a time, keeping their names. The first write still counts
    # them against the old template: updateStatus observed before addCoreSet changed the set.
    assert [s["status"]["coreNodesStatus"]["updatedReplicas"] for s in states] == [2, 1, 1, 2, 2]
    assert sorted(n["podName"] for n in states[-1]["status"]["clusterNodes"]) == ["emqx-core-0", "emqx-core-1"]
    new = states[-1]["status"]["config"]
    old = before["status"]["config"]
    assert new["desiredStartupRevision"] != old["desiredStartupRevision"] == EMPTY_REVISION
    assert new["runtimeRevision"] == old["runtimeRevision"]  # nothing went through the API
    assert [s["status"]["config"]["activeStartupRevisions"] for s in states] == [
        [EMPTY_REVISION],
        [EMPTY_REVISION],
        sorted([EMPTY_REVISION, new["desiredStartupRevision"]]),
        [new["desiredStartupRevision"]],
        [new["desiredStartupRevision"]],
    ]
    assert all(c["observedGeneration"] == 2 for c in states[-1]["status"]["conditions"])
    rollouts = [e for e in events(cs_30, cluster.get()) if e.reason == "StartupConfigRollout"]
    assert [(e.type, e.message, e.count) for e in rollouts] == [
        ("Normal", "Configuration roots require rolling restart: [dashboard]", 1)
    ]


def test_a_runtime_root_change_is_applied_through_the_api_without_restarting_pods(sim_30, cluster) -> None:
    cluster.create(core=2)
    before = to_ready(sim_30, cluster)

    cluster.patch({"spec": {"config": {"roots": {"log": {"console": {"level": "debug"}}}}}})
    after = step(sim_30, cluster)

    assert after is not None
    assert triples(after) == triples(before)
    runtime = after["status"]["config"]["runtimeRevision"]
    assert runtime == hashlib.sha256(b'"log" = {"console":{"level":"debug"}}\n').hexdigest()
    assert after["status"]["config"]["desiredRevision"] == runtime
    assert after["status"]["config"]["activeStartupRevisions"] == [EMPTY_REVISION]
    assert after["status"]["coreNodesStatus"] == before["status"]["coreNodesStatus"]
    assert step(sim_30, cluster) is None  # nothing left to do


def test_a_root_emqx_refuses_is_config_rejected_until_it_is_removed(sim_30, cluster, cs_30) -> None:
    cluster.create(core=1)
    ready = to_ready(sim_30, cluster)

    cluster.patch({"spec": {"config": {"roots": {"sim_reject": {"on": True}, "mqtt": {"max_packet_size": "1MB"}}}}})
    rejected = step(sim_30, cluster)

    assert rejected is not None
    assert projection(rejected, "ConfigApplied") == {
        "ConfigApplied": ("False", "ConfigRejected", "Runtime configuration rejected by EMQX API")
    }
    assert rejected["status"]["config"]["runtimeRevision"] == ready["status"]["config"]["runtimeRevision"]
    assert condition(rejected, "Ready")["status"] == "True"  # the cluster itself is fine
    for _ in range(2):
        step(sim_30, cluster)
    failures = [e for e in events(cs_30, cluster.get()) if e.reason == "ReconcilerFailed"]
    assert len(failures) == 1 and failures[0].type == "Warning" and failures[0].count == 3
    assert "sim_reject" in (failures[0].message or "") and "step syncConfig" in (failures[0].message or "")

    # A scalar where EMQX expects an object is refused too (the CRD accepts any JSON value).
    cluster.patch({"spec": {"config": {"roots": {"sim_reject": None, "mqtt": 5}}}})
    assert condition(step(sim_30, cluster) or cluster.get(), "ConfigApplied")["reason"] == "ConfigRejected"

    cluster.patch({"spec": {"config": {"roots": {"mqtt": {"max_packet_size": "1MB"}}}}})
    applied = step(sim_30, cluster)
    assert applied is not None
    assert projection(applied, "ConfigApplied") == {
        "ConfigApplied": ("True", "Applied", "Desired configuration is active")
    }
    assert applied["status"]["config"]["runtimeRevision"] == applied["status"]["config"]["desiredRevision"]


def test_durable_sessions_keep_ready_false_until_the_replication_settles(sim_30, cluster) -> None:
    cluster.create(core=3, roots={"durable_sessions": {"enable": True}})

    states = drive(sim_30, cluster, is_ready)

    readies = []
    for s in states:
        reason = condition(s, "Ready")["reason"]
        if not readies or readies[-1] != reason:
            readies.append(reason)
    assert readies == ["CoreNodesProgressing", "DSReplicationProgressing", "Ready"]
    dbs = [s["status"]["dsReplication"].get("dbs") for s in states]
    transitions = [d[0]["numTransitions"] for d in dbs if d]
    assert transitions[0] == 4 and transitions[-1] == 0 and transitions == sorted(transitions, reverse=True)
    db = dbs[-1][0]
    assert db == {
        "name": "messages",
        "numShards": 16,
        "numShardReplicas": 48,
        "lostShardReplicas": 0,
        "numTransitions": 0,
        "minReplicas": 3,
        "maxReplicas": 3,
    }
    ds = next(s for s in states if condition(s, "Ready")["reason"] == "DSReplicationProgressing")
    assert condition(ds, "Ready")["message"] == "Durable storage membership transitions are in progress"


def test_startup_roots_are_the_documented_set_and_cluster_links_stay_runtime() -> None:
    assert STARTUP_ROOTS == ("node", "rpc", "durable_sessions", "durable_storage", "dashboard", "cluster")
    runtime, startup = split_roots(
        {"cluster": {"name": "c1", "links": [{"name": "eu"}]}, "log": {"console": {}}, "node": {"process_limit": 9}}
    )
    assert runtime == {"cluster": {"links": [{"name": "eu"}]}, "log": {"console": {}}}
    assert startup == {"cluster": {"name": "c1"}, "node": {"process_limit": 9}}


# ----- pause ----------------------------------------------------------------------------------


def test_a_paused_emqx_is_observed_but_nothing_moves_until_it_is_resumed(sim_30, cluster) -> None:
    cluster.create(core=2)
    ready = to_ready(sim_30, cluster)

    cluster.annotate(PAUSED_ANNOTATION, "true")
    paused = step(sim_30, cluster)
    assert paused is not None
    assert projection(paused, "Paused") == {
        "Paused": ("True", "AnnotationSet", "Reconciliation is paused by the apps.emqx.io/paused annotation")
    }
    assert [t for t in triples(paused) if t[0] != "Paused"] == [t for t in triples(ready) if t[0] != "Paused"]

    # A spec change that would roll every pod: observed (observedGeneration), not acted on.
    cluster.patch({"spec": {"image": "emqx/emqx-enterprise:5.8.7"}})
    observed = step(sim_30, cluster)
    assert observed is not None and triples(observed) == triples(paused)
    assert condition(observed, "Ready")["observedGeneration"] == 2
    assert condition(observed, "ConfigApplied")["observedGeneration"] == 1  # syncConfig did not run
    for _ in range(4):
        assert step(sim_30, cluster) is None
    still = cluster.get()
    assert still["status"] == observed["status"]
    assert {n["version"] for n in still["status"]["clusterNodes"]} == {"5.8.6"}
    assert still["status"]["coreNodesStatus"] == {"readyReplicas": 2, "updatedReplicas": 2, "currentReplicas": 2}

    cluster.annotate(PAUSED_ANNOTATION, "false")
    resumed = step(sim_30, cluster)
    assert resumed is not None
    assert projection(resumed, "Paused", "CoreNodesProgressing", "Ready") == {
        "Paused": (
            "False",
            "AnnotationFalse",
            "Reconciliation is active because the apps.emqx.io/paused annotation is false",
        ),
        "CoreNodesProgressing": ("True", "RollingUpdate", "0 core pods updated"),
        "Ready": ("False", "CoreNodesProgressing", "Core nodes are progressing"),
    }
    final = to_ready(sim_30, cluster)
    assert {n["version"] for n in final["status"]["clusterNodes"]} == {"5.8.7"}

    cluster.annotate(PAUSED_ANNOTATION, None)
    assert projection(step(sim_30, cluster) or cluster.get(), "Paused") == {
        "Paused": ("False", "AnnotationNotSet", "Reconciliation is active")
    }


def test_an_emqx_created_paused_gets_only_paused_and_no_requester(sim_30, cluster) -> None:
    cluster.create(core=1, annotations={PAUSED_ANNOTATION: ""})

    first = step(sim_30, cluster)
    for _ in range(3):
        assert step(sim_30, cluster) is None

    assert first is not None
    assert triples(first) == [("EMQXAPIAvailable", "False", "NoRequester"), ("Paused", "True", "AnnotationSet")]
    assert (first["status"]["coreReplicas"], first["status"]["replicantReplicas"]) == (0, 0)
    assert "clusterNodes" not in first["status"]

    cluster.annotate(PAUSED_ANNOTATION, None)
    states = drive(sim_30, cluster, is_ready)
    assert triples(states[0]) == [
        ("EMQXAPIAvailable", "False", "NoRequester"),
        ("Paused", "False", "AnnotationNotSet"),
        ("CoreNodesProgressing", "True", "Create"),
        ("Available", "False", "CorePodsUnavailable"),
        ("Ready", "False", "CoreNodesProgressing"),
        ("ConfigApplied", "False", "PendingInitialStartup"),
    ]


# ----- faults ---------------------------------------------------------------------------------


def test_api_unavailable_turns_ready_false_with_empty_node_lists(sim_30, cluster) -> None:
    cluster.create(core=2, replicants=2)
    to_ready(sim_30, cluster)

    cluster.annotate(FAULT_ANNOTATION, "api-unavailable")
    down = step(sim_30, cluster)

    assert down is not None
    api = condition(down, "EMQXAPIAvailable")
    assert (api["status"], api["reason"]) == ("False", "RequestFailed")
    assert "api/v5/nodes" in api["message"] and "connection refused" in api["message"]
    assert projection(down, "Ready", "CoreNodesProgressing", "Available") == {
        "Ready": ("False", "CoreNodesProgressing", "Core nodes are progressing"),
        "CoreNodesProgressing": ("False", "Converged", "2 core pods up to date"),
        "Available": ("True", "ReplicantPodsAvailable", "2/2 replicant pods available"),
    }
    assert "clusterNodes" not in down["status"] and down["status"]["dsReplication"] == {}
    assert down["status"]["coreNodesStatus"]["readyReplicas"] == 0

    cluster.annotate(FAULT_ANNOTATION, None)
    back = step(sim_30, cluster)
    assert back is not None and is_ready(back) and len(back["status"]["clusterNodes"]) == 4


def test_a_core_node_down_turns_ready_and_available_false(sim_30, cluster, cs_30) -> None:
    cluster.create(core=3)
    to_ready(sim_30, cluster)

    cluster.annotate(FAULT_ANNOTATION, "core-node-down")
    degraded = drive(sim_30, cluster, lambda o: not is_ready(o))[-1]

    assert projection(degraded, "Ready", "Available", "CoreNodesProgressing") == {
        "Ready": ("False", "CoreNodesProgressing", "Core nodes are progressing"),
        "Available": ("False", "CorePodsUnavailable", "2/3 core pods available"),
        "CoreNodesProgressing": ("False", "Converged", "3 core pods up to date"),
    }
    assert sorted(n["status"] for n in degraded["status"]["clusterNodes"]) == ["running", "running", "stopped"]
    cluster.annotate(FAULT_ANNOTATION, None)
    to_ready(sim_30, cluster)
    assert ("Warning", "NodeDown") in [(e.type, e.reason) for e in events(cs_30, cluster.get())]


def test_a_restarted_simulator_takes_over_a_ready_cluster_without_rolling_it(cs_30, sim_30, cluster) -> None:
    cluster.create(core=2, replicants=2)
    ready = to_ready(sim_30, cluster)

    restarted = Simulator(cs_30, pace=FAST, namespace=cluster.namespace)
    for _ in range(3):
        assert not restarted.reconcile_object("EMQX", cluster.namespace, cluster.name)
    assert cluster.get()["status"] == ready["status"]


def test_in_the_background_the_simulator_brings_an_emqx_and_its_api_key_to_ready(cs_30, cluster) -> None:
    keys = cs_30.apps_v3beta1.emqx_api_keys(cluster.namespace)
    with Simulator(cs_30, pace=FAST, namespace=cluster.namespace):
        cluster.create(core=2, replicants=2)
        keys.create({"metadata": {"name": "ops"}, "spec": {"emqxRef": {"name": "emqx"}, "secretRef": {"name": "ops"}}})
        wait_for(lambda: is_ready(cluster.get()), what="EMQX Ready")
        key = wait_for(
            lambda: next(
                (
                    k
                    for k in [keys.get("ops")]
                    if k.status and any(c.status == "True" for c in k.status.conditions or [])
                ),
                None,
            ),
            what="EMQXAPIKey Ready",
        )
    assert [(c.type, c.reason) for c in key.status.conditions] == [("Ready", "SecretCreated")]
    assert cluster.get()["status"]["replicantReplicas"] == 2
