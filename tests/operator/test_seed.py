"""The demo seed: idempotent, and shaped for the demo (namespaces, instances, states)."""

from __future__ import annotations

import pytest

from emqx.client import Clientset
from sandbox import demo_data
from sandbox.operator import FAULT_ANNOTATION, Simulator
from tests.operator import head

# The seed writes fixed namespaces (emqx-prod, ...), so these tests share one seeded cluster.
pytestmark = pytest.mark.usefixtures("sandbox")


def _names(cs: Clientset, kind: str) -> list[str]:
    client = cs.for_kind(kind, None)
    return sorted(
        f"{o.metadata.namespace}/{o.metadata.name}" for o in client.list(label_selector=demo_data.SEED_LABEL).items
    )


def test_seeding_twice_neither_duplicates_nor_fails(cs) -> None:
    first = demo_data.seed(cs)
    before = {kind: _names(cs, kind) for kind in ("EMQX", "EmqxBroker", "EmqxEnterprise", "Rebalance")}

    second = demo_data.seed(cs)

    assert second.created == []
    assert sorted(second.existing) == sorted(first.created + first.existing)
    assert {kind: _names(cs, kind) for kind in before} == before
    assert len(before["EMQX"]) == len(demo_data.EMQXES) and 6 <= len(before["EMQX"]) <= 10
    assert before["EmqxBroker"] == ["emqx-staging/legacy-broker"]
    assert before["EmqxEnterprise"] == ["emqx-prod/legacy-ee"]
    assert before["Rebalance"] == ["emqx-prod/payments-gw-rebalance"]


def test_the_seed_leaves_what_a_person_changed_alone(cs) -> None:
    demo_data.seed(cs)
    client = cs.apps_v2beta1.emqxes("iot-lab")
    client.patch("sandbox-56", {"spec": {"coreTemplate": {"spec": {"replicas": 2}}}})

    demo_data.seed(cs)

    assert client.get("sandbox-56").spec.core_template.spec.replicas == 2
    client.patch("sandbox-56", {"spec": {"coreTemplate": {"spec": {"replicas": 1}}}})


def test_the_namespaces_carry_their_environment_label(sandbox, cs) -> None:
    demo_data.seed(cs)
    for name, labels in demo_data.NAMESPACES.items():
        status, body = sandbox.request("GET", f"/api/v1/namespaces/{name}")
        assert status == 200
        assert labels.items() <= body["metadata"]["labels"].items()
    assert demo_data.NAMESPACES["emqx-prod"]["environment"] == "production"


def test_the_seeded_instances_show_the_states_the_demo_promises(cs) -> None:
    demo_data.seed(cs)
    # One simulator per demo namespace: the other tests' objects are not this test's business.
    sims = {ns: Simulator(cs, pace=0.05, namespace=ns) for ns in demo_data.NAMESPACES}
    for _ in range(25):
        for sim in sims.values():
            sim.reconcile_once()
    emqx = {f"{o.metadata.namespace}/{o.metadata.name}": o for o in cs.apps_v2beta1.emqxes(None).list().items}

    assert head(emqx["emqx-prod/mqtt-core"]) == ("Ready", "Ready")
    assert head(emqx["iot-lab/sandbox-56"]) == ("Ready", "Ready")
    assert head(emqx["emqx-prod/payments-gw"])[0] == "CoreNodesProgressing"  # core-node-down
    assert emqx["emqx-prod/payments-gw"].metadata.annotations[FAULT_ANNOTATION] == "core-node-down"
    assert head(emqx["iot-lab/edge-gateway"])[0] == "ReplicantNodesProgressing"  # replicant-node-down
    assert emqx["emqx-staging/broken-config"].status is None  # InvalidConfig: no status at all
    images = {o.spec.image for o in emqx.values() if o.metadata.namespace in demo_data.NAMESPACES}
    assert {"emqx/emqx:5.6.1", "emqx/emqx:5.7.2", "emqx/emqx:5.8.6", "emqx/emqx-enterprise:5.8.6"} <= images
    rebalance = cs.apps_v2beta1.rebalances("emqx-prod").get("payments-gw-rebalance")
    assert rebalance.status.phase == "Failed"

    assert demo_data.seed_rebalance_when_ready(cs, timeout=5, interval=0.05)
    for _ in range(8):
        sims["emqx-prod"].reconcile_once()
    deferred = cs.apps_v2beta1.rebalances("emqx-prod").get("mqtt-core-rebalance")
    assert deferred.status.phase == "Completed"
