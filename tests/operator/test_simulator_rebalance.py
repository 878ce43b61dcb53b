"""Rebalance v2beta1: Processing then Completed for a ready Enterprise cluster, Failed when
the instance is missing, not ready or not an Enterprise edition."""

from __future__ import annotations

from typing import Any

from emqx.client import Clientset
from sandbox.operator import Simulator
from sandbox.operator.rebalance import STATES
from tests.factories import emqx, emqx_enterprise, rebalance
from tests.operator import drive, events_of, head


def _ready_emqx(sim: Simulator, cs: Clientset, namespace: str, name: str, image: str, replicants: int = 2) -> Any:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx(name, image=image, core_replicas=1, replicant_replicas=replicants))
    return drive(sim, "EMQX", created, lambda: client.get(name), until=lambda o: head(o) == ("Ready", "Ready"))[-1]


def _finished(obj: Any) -> bool:
    return obj.status is not None and obj.status.phase in ("Completed", "Failed")


def test_a_rebalance_of_a_ready_enterprise_emqx_is_processing_then_completed(sim, cs, namespace) -> None:
    target = _ready_emqx(sim, cs, namespace, "ee5", "emqx/emqx-enterprise:5.8.6", replicants=3)
    client = cs.apps_v2beta1.rebalances(namespace)
    created = client.create(rebalance("rb", instance_name="ee5", conn_evict_rate=10))

    states = drive(sim, "Rebalance", created, lambda: client.get("rb"), until=_finished)

    assert [s.status.phase for s in states] == ["Processing"] * (len(STATES) + 1) + ["Completed"]
    assert [[r.state for r in s.status.rebalance_states or []] for s in states] == [
        [],
        *([state] for state in STATES),
        [],
    ]
    processing = states[2].status.rebalance_states[0]
    replicants = [n.node for n in target.status.replicant_nodes]
    assert processing.coordinator_node == processing.node == replicants[0]
    assert processing.donors == replicants[:1] and processing.recipients == replicants[1:]
    assert (processing.connection_eviction_rate, processing.session_eviction_rate) == (10, 500)
    final = states[-1].status
    assert [(c.type, c.status) for c in final.conditions] == [("Completed", "True"), ("Processing", "True")]
    assert final.started_time is not None and final.completed_time >= final.started_time
    assert final.rebalance_states is None
    events = events_of(cs, states[-1])
    assert [(e.reason, e.message) for e in events] == [
        ("Rebalance", "rebalance is processing"),
        ("Rebalance", "rebalance completed"),
    ]
    assert events[0].count == len(STATES) + 1  # one Event, counted, not one per reconcile
    # Completed is final: nothing more is written.
    assert not sim.reconcile_object("Rebalance", namespace, "rb")


def test_a_rebalance_of_a_missing_emqx_fails(sim, cs, namespace) -> None:
    client = cs.apps_v2beta1.rebalances(namespace)
    created = client.create(rebalance("lost", instance_name="nowhere"))

    states = drive(sim, "Rebalance", created, lambda: client.get("lost"), until=_finished)

    assert len(states) == 1
    status = states[0].status
    assert status.phase == "Failed"
    assert [(c.type, c.status, c.message) for c in status.conditions] == [
        ("Failed", "True", "EMQX nowhere is not found")
    ]
    assert [(e.type, e.reason, e.message) for e in events_of(cs, created)] == [
        ("Warning", "Rebalance", "rebalance failed")
    ]


def test_a_rebalance_of_an_emqx_that_is_not_ready_fails(sim, cs, namespace) -> None:
    cs.apps_v2beta1.emqxes(namespace).create(emqx("young", image="emqx/emqx-enterprise:5.8.6"))
    client = cs.apps_v2beta1.rebalances(namespace)
    created = client.create(rebalance("early", instance_name="young"))

    failed = drive(sim, "Rebalance", created, lambda: client.get("early"), until=_finished)[-1]

    assert failed.status.phase == "Failed"
    assert failed.status.conditions[0].message == "EMQX young is not ready"


def test_a_rebalance_of_an_open_source_emqx_fails(sim, cs, namespace) -> None:
    _ready_emqx(sim, cs, namespace, "oss", "emqx/emqx:5.7.2")
    client = cs.apps_v2beta1.rebalances(namespace)
    created = client.create(rebalance("oss-rb", instance_name="oss"))

    failed = drive(sim, "Rebalance", created, lambda: client.get("oss-rb"), until=_finished)[-1]

    assert failed.status.conditions[0].message == "Only enterprise edition can be rebalanced"


def test_a_rebalance_of_a_running_emqx_enterprise_4_uses_its_nodes(sim, cs, namespace) -> None:
    brokers = cs.apps_v1beta4.emqx_enterprises(namespace)
    created_ee = brokers.create(emqx_enterprise("ee4", replicas=2))
    target = drive(
        sim,
        "EmqxEnterprise",
        created_ee,
        lambda: brokers.get("ee4"),
        until=lambda o: head(o) == ("Running", "ClusterReady"),
    )[-1]
    client = cs.apps_v2beta1.rebalances(namespace)
    body = rebalance("rb4", instance_name="ee4").to_dict()
    body["spec"]["instanceKind"] = "EmqxEnterprise"
    created = client.create(body)

    states = drive(sim, "Rebalance", created, lambda: client.get("rb4"), until=_finished)

    assert states[-1].status.phase == "Completed"
    assert states[1].status.rebalance_states[0].coordinator_node == target.status.emqx_nodes[0].node


def test_on_operator_2_3_a_rebalance_of_a_ready_enterprise_emqx_v2_completes(sim_23, cs_23, namespace_23) -> None:
    # 2.3 stores EMQX as v2, whose nodes no longer say their edition: the image does.
    from emqx.models import apps_v2

    ee = cs_23.apps_v2.emqxes(namespace_23)
    doc = {
        "metadata": {"name": "ee5", "namespace": namespace_23},
        "spec": {
            "image": "emqx/emqx-enterprise:5.10.0",
            "coreTemplate": {"spec": {"replicas": 1}},
            "replicantTemplate": {"spec": {"replicas": 2}},
        },
    }
    created = ee.create(apps_v2.EMQX.from_dict(doc))
    drive(sim_23, "EMQX", created, lambda: ee.get("ee5"), until=lambda o: head(o) == ("Ready", "Ready"))
    client = cs_23.apps_v2beta1.rebalances(namespace_23)
    created_rb = client.create(rebalance("rb", instance_name="ee5", conn_evict_rate=10))
    states = drive(sim_23, "Rebalance", created_rb, lambda: client.get("rb"), until=_finished)
    assert states[-1].status.phase == "Completed"
    assert states[2].status.rebalance_states[0].donors[0].startswith("emqx@")
