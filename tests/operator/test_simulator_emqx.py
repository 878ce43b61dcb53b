"""EMQX v2beta1 status as the operator writes it, played by the simulator against the sandbox.

Most tests step the simulator one reconcile at a time and look at every status it wrote,
so the sequences asserted are exactly what a watcher of the object sees.
"""

from __future__ import annotations

import re
import threading

import pytest

from emqx.client import Clientset, EventType, ResourceClient
from emqx.models.apps_v2beta1 import EMQX
from sandbox.operator import FAULT_ANNOTATION, Key, Simulator
from tests.factories import emqx
from tests.operator import FAST, drive, events_of, head, heads, types_of, wait_for

ENTERPRISE = "emqx/emqx-enterprise:5.8.6"
HEALTHY_ORDER = [
    "Ready",
    "Available",
    "ReplicantNodesReady",
    "ReplicantNodesProgressing",
    "CoreNodesReady",
    "CoreNodesProgressing",
    "Initialized",
]


@pytest.fixture
def client(cs: Clientset, namespace: str) -> ResourceClient[EMQX]:
    return cs.apps_v2beta1.emqxes(namespace)


def _ready(obj: EMQX) -> bool:
    return head(obj) == ("Ready", "Ready")


def _to_ready(sim: Simulator, client: ResourceClient[EMQX], obj: EMQX) -> list[EMQX]:
    return drive(sim, "EMQX", obj, lambda: client.get(str(obj.metadata.name)), until=_ready)


def _patch_and_step(sim: Simulator, client: ResourceClient[EMQX], name: str, patch: dict) -> EMQX:
    client.patch(name, patch)
    assert sim.reconcile_object("EMQX", client.namespace or "", name)
    return client.get(name)


def test_a_core_only_emqx_goes_from_initialized_to_ready_one_condition_at_a_time(sim, client, namespace) -> None:
    created = client.create(emqx("solo", image=ENTERPRISE, core_replicas=2))
    states = _to_ready(sim, client, created)

    assert heads(states) == [
        ("Initialized", "Initialized"),
        ("CoreNodesProgressing", "CreateNewStatefulSet"),
        ("CoreNodesReady", "CoreNodesReady"),
        ("Available", "Available"),
        ("Ready", "Ready"),
    ]
    final = states[-1]
    assert types_of(final) == ["Ready", "Available", "CoreNodesReady", "CoreNodesProgressing", "Initialized"]
    assert all(c.status == "True" for c in final.status.conditions)
    assert all(c.observed_generation == final.metadata.generation for c in final.status.conditions)
    times = [c.last_transition_time for c in final.status.conditions]
    assert times == sorted(times, reverse=True)  # newest first
    # The ready count grows one simulated pod at a time.
    ready_counts = [(s.status.core_nodes_status.ready_replicas or 0) for s in states]
    assert ready_counts == sorted(ready_counts) and ready_counts[-1] == 2 and 1 in ready_counts
    counts = final.status.core_nodes_status
    assert (counts.replicas, counts.ready_replicas, counts.current_replicas, counts.update_replicas) == (2, 2, 2, 2)
    assert counts.current_revision == counts.update_revision and re.fullmatch(r"[a-z2-9]{10}", counts.update_revision)
    nodes = final.status.core_nodes
    assert [n.node for n in nodes] == [
        f"emqx@solo-core-{counts.update_revision}-{i}.solo-headless.{namespace}.svc.cluster.local" for i in (0, 1)
    ]
    assert {(n.node_status, n.role, n.version, n.edition) for n in nodes} == {
        ("running", "core", "5.8.6", "Enterprise")
    }
    assert all(n.otp_release and n.controller_uid and n.pod_uid and n.connections for n in nodes)
    assert final.status.replicant_nodes is None and final.status.replicant_nodes_status is None


def test_core_and_replicants_pass_through_the_replicant_conditions_in_the_healthy_order(sim, client) -> None:
    created = client.create(emqx("duo", image="emqx/emqx:5.7.2", core_replicas=1, replicant_replicas=3))
    states = _to_ready(sim, client, created)

    assert heads(states) == [
        ("Initialized", "Initialized"),
        ("CoreNodesProgressing", "CreateNewStatefulSet"),
        ("CoreNodesReady", "CoreNodesReady"),
        ("ReplicantNodesProgressing", "CreateNewReplicaSet"),
        ("ReplicantNodesReady", "ReplicantNodesReady"),
        ("Available", "Available"),
        ("Ready", "Ready"),
    ]
    final = states[-1]
    assert types_of(final) == HEALTHY_ORDER
    replicants = final.status.replicant_nodes_status
    assert (replicants.replicas, replicants.ready_replicas, replicants.update_replicas) == (3, 3, 3)
    nodes = final.status.replicant_nodes
    assert len(nodes) == 3 and all(re.fullmatch(r"emqx@10\.244\.\d+\.\d+", n.node) for n in nodes)
    assert {(n.role, n.version, n.edition, n.node_status) for n in nodes} == {
        ("replicant", "5.7.2", "Opensource", "running")
    }
    # With replicants, clients connect to the replicants, not to the core nodes.
    assert all(n.connections for n in nodes) and not any(n.connections for n in final.status.core_nodes)


def test_an_image_change_goes_back_to_core_nodes_progressing_with_update_stateful_set(sim, client, cs) -> None:
    created = client.create(emqx("roll", image="emqx/emqx:5.8.6", core_replicas=2, replicant_replicas=2))
    ready = _to_ready(sim, client, created)[-1]
    old_revision = ready.status.core_nodes_status.update_revision

    rolled = _patch_and_step(sim, client, "roll", {"spec": {"image": "emqx/emqx:5.8.7"}})

    assert head(rolled) == ("CoreNodesProgressing", "UpdateStatefulSet")
    # Ready, Available and CoreNodesReady are removed, not set False; the rest stays.
    assert types_of(rolled) == [
        "CoreNodesProgressing",
        "ReplicantNodesReady",
        "ReplicantNodesProgressing",
        "Initialized",
    ]
    assert all(c.status == "True" for c in rolled.status.conditions)
    core = rolled.status.core_nodes_status
    assert core.current_revision == old_revision != core.update_revision
    assert rolled.status.conditions[0].observed_generation == rolled.metadata.generation == 2

    states = drive(sim, "EMQX", rolled, lambda: client.get("roll"), until=_ready)
    assert heads(states) == [
        ("CoreNodesProgressing", "UpdateStatefulSet"),
        ("CoreNodesReady", "CoreNodesReady"),
        ("ReplicantNodesProgressing", "UpdateReplicaSet"),
        ("ReplicantNodesReady", "ReplicantNodesReady"),
        ("Available", "Available"),
        ("Ready", "Ready"),
    ]
    final = states[-1]
    assert types_of(final) == HEALTHY_ORDER
    # Old and new nodes serve side by side until the old revision is drained.
    assert max(s.status.core_nodes_status.ready_replicas or 0 for s in states) > 2
    assert final.status.core_nodes_status.current_revision == final.status.core_nodes_status.update_revision
    assert {n.version for n in final.status.core_nodes + final.status.replicant_nodes} == {"5.8.7"}
    reasons = [e.reason for e in events_of(cs, final)]
    assert (
        reasons.index("CreateNewStatefulSet") < reasons.index("UpdateStatefulSet") < reasons.index("UpdateReplicaSet")
    )


def test_going_back_to_the_previous_image_is_a_revert_stateful_set(sim, client) -> None:
    created = client.create(emqx("revert", image="emqx/emqx:5.8.6", core_replicas=1))
    _to_ready(sim, client, created)
    _patch_and_step(sim, client, "revert", {"spec": {"image": "emqx/emqx:5.8.7"}})

    reverted = _patch_and_step(sim, client, "revert", {"spec": {"image": "emqx/emqx:5.8.6"}})

    assert head(reverted) == ("CoreNodesProgressing", "RevertStatefulSet")
    final = _to_ready(sim, client, reverted)[-1]
    assert {n.version for n in final.status.core_nodes} == {"5.8.6"}


def test_scaling_replicants_down_goes_through_replicant_nodes_progressing(sim, client) -> None:
    created = client.create(emqx("shrink", core_replicas=1, replicant_replicas=3))
    _to_ready(sim, client, created)

    scaled = _patch_and_step(sim, client, "shrink", {"spec": {"replicantTemplate": {"spec": {"replicas": 1}}}})

    assert head(scaled) == ("ReplicantNodesProgressing", "ReplicantNodesProgressing")
    assert types_of(scaled) == ["ReplicantNodesProgressing", "CoreNodesReady", "CoreNodesProgressing", "Initialized"]
    assert (scaled.status.replicant_nodes_status.replicas, scaled.status.replicant_nodes_status.ready_replicas) == (
        1,
        3,
    )
    states = drive(sim, "EMQX", scaled, lambda: client.get("shrink"), until=_ready)
    assert heads(states)[-3:] == [
        ("ReplicantNodesReady", "ReplicantNodesReady"),
        ("Available", "Available"),
        ("Ready", "Ready"),
    ]
    assert states[0].status.replicant_nodes_status.ready_replicas == 2  # one pod gone at a time
    assert len(states[-1].status.replicant_nodes) == 1


def test_scaling_core_nodes_up_starts_again_from_initialized(sim, client) -> None:
    created = client.create(emqx("grow", core_replicas=1))
    _to_ready(sim, client, created)

    scaled = _patch_and_step(sim, client, "grow", {"spec": {"coreTemplate": {"spec": {"replicas": 3}}}})

    # Core readiness (1 of 3) dropped below the spec: from Initialized, everything else removed.
    assert head(scaled) == ("CoreNodesProgressing", "CoreNodesProgressing")
    assert types_of(scaled) == ["CoreNodesProgressing", "Initialized"]
    states = drive(sim, "EMQX", scaled, lambda: client.get("grow"), until=_ready)
    ready_counts = [s.status.core_nodes_status.ready_replicas for s in states]
    assert ready_counts[0] == 2 and ready_counts[-1] == 3
    assert heads(states) == [
        ("CoreNodesProgressing", "CoreNodesProgressing"),
        ("CoreNodesReady", "CoreNodesReady"),
        ("Available", "Available"),
        ("Ready", "Ready"),
    ]


def test_invalid_hocon_is_a_warning_event_and_the_status_stays_where_it_is(sim, client, cs) -> None:
    created = client.create(emqx("conf", core_replicas=1, spec={"config": {"data": "mqtt.max_packet_size = 1MB\n"}}))
    ready = _to_ready(sim, client, created)[-1]

    client.patch("conf", {"spec": {"config": {"data": "mqtt {\n  max_packet_size = 1MB\n"}}})
    for _ in range(3):
        assert not sim.reconcile_object("EMQX", client.namespace or "", "conf")

    after = client.get("conf")
    assert after.status == ready.status
    warnings = [e for e in events_of(cs, after) if e.type == "Warning"]
    assert [(e.reason, e.count) for e in warnings] == [("InvalidConfig", 1)]
    assert "line 1, column 6" in (warnings[0].message or "") and "never closed" in (warnings[0].message or "")


def test_a_new_emqx_with_invalid_hocon_gets_no_status(sim, client, cs) -> None:
    created = client.create(emqx("bad", spec={"config": {"data": "listeners.tcp.default.bind = 0.0.0.0:1883"}}))
    assert not sim.reconcile_object("EMQX", client.namespace or "", "bad")
    assert client.get("bad").status is None
    assert [e.reason for e in events_of(cs, created)] == ["InvalidConfig"]


def test_a_core_node_down_fault_degrades_the_cluster_until_it_is_removed(sim, client, cs) -> None:
    created = client.create(emqx("faulty", core_replicas=3))
    _to_ready(sim, client, created)

    client.patch("faulty", {"metadata": {"annotations": {FAULT_ANNOTATION: "core-node-down"}}})
    states = drive(sim, "EMQX", created, lambda: client.get("faulty"), until=lambda o: not _ready(o))
    degraded = states[-1]
    assert head(degraded) == ("CoreNodesProgressing", "CoreNodesProgressing")
    assert types_of(degraded) == ["CoreNodesProgressing", "Initialized"]
    assert degraded.status.core_nodes_status.ready_replicas == 2
    assert sorted(n.node_status for n in degraded.status.core_nodes) == ["running", "running", "stopped"]
    for _ in range(3):  # it stays degraded while the fault is there
        sim.reconcile_object("EMQX", client.namespace or "", "faulty")
    assert head(client.get("faulty")) == ("CoreNodesProgressing", "CoreNodesProgressing")

    client.patch("faulty", {"metadata": {"annotations": {FAULT_ANNOTATION: None}}})
    recovered = drive(sim, "EMQX", created, lambda: client.get("faulty"), until=_ready)[-1]
    assert {n.node_status for n in recovered.status.core_nodes} == {"running"}
    reasons = [(e.type, e.reason) for e in events_of(cs, recovered)]
    assert ("Warning", "NodeDown") in reasons and ("Normal", "NodeRecovered") in reasons


def test_a_replicant_node_down_fault_goes_back_to_replicant_nodes_progressing(sim, client) -> None:
    created = client.create(emqx("rfault", core_replicas=1, replicant_replicas=2))
    _to_ready(sim, client, created)

    client.patch("rfault", {"metadata": {"annotations": {FAULT_ANNOTATION: "replicant-node-down"}}})
    degraded = drive(sim, "EMQX", created, lambda: client.get("rfault"), until=lambda o: not _ready(o))[-1]

    assert head(degraded) == ("ReplicantNodesProgressing", "ReplicantNodesProgressing")
    assert types_of(degraded) == ["ReplicantNodesProgressing", "CoreNodesReady", "CoreNodesProgressing", "Initialized"]
    assert degraded.status.replicant_nodes_status.ready_replicas == 1
    client.patch("rfault", {"metadata": {"annotations": {FAULT_ANNOTATION: None}}})
    drive(sim, "EMQX", created, lambda: client.get("rfault"), until=_ready)


def test_stuck_progressing_keeps_a_new_cluster_in_core_nodes_progressing(sim, client, cs) -> None:
    created = client.create(emqx("stuck", core_replicas=2, annotations={FAULT_ANNOTATION: "stuck-progressing"}))
    for _ in range(6):
        sim.reconcile_object("EMQX", client.namespace or "", "stuck")
    stuck = client.get("stuck")
    assert head(stuck) == ("CoreNodesProgressing", "CreateNewStatefulSet")
    assert stuck.status.core_nodes_status.ready_replicas is None  # omitempty: zero is not written
    assert ("Warning", "PodsNotReady") in [(e.type, e.reason) for e in events_of(cs, stuck)]

    client.patch("stuck", {"metadata": {"annotations": {FAULT_ANNOTATION: None}}})
    _to_ready(sim, client, created)


def test_events_are_recorded_as_the_operator_records_them(sim, client, cs, namespace) -> None:
    created = client.create(emqx("events", core_replicas=1))
    final = _to_ready(sim, client, created)[-1]
    # a second rollout repeats CoreNodesReady, Available and Ready: counted, not duplicated
    _patch_and_step(sim, client, "events", {"spec": {"image": "emqx/emqx:5.8.7"}})
    _to_ready(sim, client, final)

    events = events_of(cs, final)
    assert [e.reason for e in events] == [
        "Initialized",
        "CreateNewStatefulSet",
        "CoreNodesReady",
        "Available",
        "Ready",
        "UpdateStatefulSet",
    ]
    by_reason = {e.reason: e for e in events}
    assert by_reason["Ready"].count == 2 and by_reason["Initialized"].count == 1
    assert by_reason["Ready"].last_timestamp >= by_reason["Ready"].first_timestamp
    ready = by_reason["Ready"]
    assert (ready.type, ready.message, ready.source.component, ready.reporting_controller) == (
        "Normal",
        "Cluster is ready",
        "emqx-operator",
        "emqx-operator",
    )
    ref = ready.involved_object
    assert (ref.api_version, ref.kind, ref.name, ref.namespace, ref.uid) == (
        "apps.emqx.io/v2beta1",
        "EMQX",
        "events",
        namespace,
        created.metadata.uid,
    )


def test_a_conflicting_write_is_retried_on_a_fresh_read(sim, client) -> None:
    created = client.create(emqx("race", core_replicas=1))
    interfered: list[Key] = []

    def interfere(key: Key) -> None:
        if not interfered:  # someone else writes the object between the simulator's read and write
            interfered.append(key)
            client.patch("race", {"metadata": {"labels": {"touched": "yes"}}})

    sim.before_status_write = interfere
    assert sim.reconcile_object("EMQX", client.namespace or "", "race")

    assert sim.conflicts == 1 and interfered == [Key("EMQX", client.namespace or "", "race")]
    stored = client.get("race")
    assert head(stored) == ("Initialized", "Initialized") and stored.metadata.labels == {"touched": "yes"}
    assert created.metadata.uid == stored.metadata.uid


def test_in_the_background_the_simulator_brings_an_emqx_to_ready_and_rolls_it(cs, client, namespace) -> None:
    seen: list[tuple[str, str | None] | None] = []
    last_version: list[str | None] = [None]  # of the last event of bg the recorder has taken
    watch = client.watch()

    def record() -> None:
        for event in watch:
            if event.type is EventType.MODIFIED and event.object.metadata.name == "bg":
                h = head(event.object)
                if not seen or seen[-1] != h:
                    seen.append(h)
                last_version[0] = event.object.metadata.resource_version

    recorder = threading.Thread(target=record, daemon=True)
    recorder.start()
    with Simulator(cs, pace=FAST, namespace=namespace):
        client.create(emqx("bg", core_replicas=2, replicant_replicas=2))
        wait_for(lambda: _ready(client.get("bg")), what="bg Ready")
        client.patch("bg", {"spec": {"image": "emqx/emqx:5.8.7"}})
        wait_for(
            lambda: _ready(client.get("bg")) and {n.version for n in client.get("bg").status.core_nodes} == {"5.8.7"},
            what="bg Ready on 5.8.7",
        )
    # The simulator has stopped: bg changes no more. Stop the watch only once the recorder has
    # taken the event of bg as it now stands, not while that event may still be on its way.
    final = client.get("bg").metadata.resource_version
    wait_for(lambda: last_version[0] == final, what=f"the watch event of bg at resourceVersion {final}")
    watch.stop()
    recorder.join(5)
    assert seen == [
        ("Initialized", "Initialized"),
        ("CoreNodesProgressing", "CreateNewStatefulSet"),
        ("CoreNodesReady", "CoreNodesReady"),
        ("ReplicantNodesProgressing", "CreateNewReplicaSet"),
        ("ReplicantNodesReady", "ReplicantNodesReady"),
        ("Available", "Available"),
        ("Ready", "Ready"),
        ("CoreNodesProgressing", "UpdateStatefulSet"),
        ("CoreNodesReady", "CoreNodesReady"),
        ("ReplicantNodesProgressing", "UpdateReplicaSet"),
        ("ReplicantNodesReady", "ReplicantNodesReady"),
        ("Available", "Available"),
        ("Ready", "Ready"),
    ]


def test_the_simulator_survives_an_api_server_outage_and_resumes_its_watches(sandbox, cs, client, namespace) -> None:
    sim = Simulator(cs, pace=FAST, namespace=namespace).start()
    try:
        client.create(emqx("outage", core_replicas=1))
        wait_for(lambda: _ready(client.get("outage")), what="Ready before the outage")
        with sandbox.outage():
            pass  # the API server and etcd stop, then start again on the same port
        client.patch("outage", {"spec": {"image": "emqx/emqx:5.8.7"}})
        wait_for(
            lambda: (
                head(client.get("outage")) == ("Ready", "Ready")
                and client.get("outage").status.core_nodes[0].version == "5.8.7"
            ),
            timeout=60,
            what="Ready on the new image after the outage",
        )
        assert sim.running
    finally:
        sim.stop()
    assert not sim.running


def test_an_object_the_models_cannot_read_is_skipped_and_others_go_on(sim, client, namespace, kubectl) -> None:
    # v2alpha1 does not require an image; served as v2beta1 (no conversion webhook) such an
    # object lacks the field v2beta1 requires, so the v2beta1 model cannot read it.
    odd = kubectl(
        "apply",
        "-f",
        "-",
        input=(
            "apiVersion: apps.emqx.io/v2alpha1\nkind: EMQX\nmetadata:\n"
            f"  name: odd\n  namespace: {namespace}\nspec:\n  coreTemplate:\n    spec:\n      replicas: 1\n"
        ),
    )
    assert odd.returncode == 0, odd.stderr
    client.create(emqx("fine", core_replicas=1))

    written = sim.reconcile_once()

    assert written == [Key("EMQX", namespace, "fine")]
    assert head(client.get("fine")) == ("Initialized", "Initialized")


def test_a_restarted_simulator_adopts_the_clusters_it_finds_instead_of_rolling_them_again(cs, sim, client) -> None:
    created = client.create(emqx("adopted", core_replicas=2, replicant_replicas=2))
    ready = _to_ready(sim, client, created)[-1]

    restarted = Simulator(cs, pace=FAST, namespace=client.namespace)
    for _ in range(3):
        assert not restarted.reconcile_object("EMQX", client.namespace or "", "adopted")
    assert client.get("adopted").status == ready.status

    client.patch("adopted", {"spec": {"image": "emqx/emqx:5.8.7"}})
    assert restarted.reconcile_object("EMQX", client.namespace or "", "adopted")
    assert head(client.get("adopted")) == ("CoreNodesProgressing", "UpdateStatefulSet")
    final = _to_ready(restarted, client, created)[-1]
    assert {n.version for n in final.status.core_nodes + final.status.replicant_nodes} == {"5.8.7"}
