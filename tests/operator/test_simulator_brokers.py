"""EmqxBroker / EmqxEnterprise status as the operator writes it: v1beta4 on today's cluster,
v1beta1 on a 2021 one (the simulator picks the version through discovery)."""

from __future__ import annotations

import re
from typing import Any

from emqx.client import Clientset, ResourceClient
from sandbox.operator import FAULT_ANNOTATION, Simulator
from tests.factories import emqx_broker, emqx_broker_v1beta1, emqx_enterprise
from tests.operator import FAST, drive, events_of, head, types_of


def _running(obj: Any) -> bool:
    return head(obj) == ("Running", "ClusterReady")


def _first(obj: Any) -> tuple[str, str, str | None] | None:
    """The newest condition (type, status, reason), whatever its status."""
    conditions = obj.status.conditions if obj.status else None
    return (conditions[0].type, conditions[0].status, conditions[0].reason) if conditions else None


def _firsts(states: list[Any]) -> list[tuple[str, str, str | None] | None]:
    result: list[tuple[str, str, str | None] | None] = []
    for state in states:
        if not result or result[-1] != _first(state):
            result.append(_first(state))
    return result


def _to_running(sim: Simulator, client: ResourceClient[Any], obj: Any) -> list[Any]:
    return drive(sim, obj.kind, obj, lambda: client.get(str(obj.metadata.name)), until=_running)


def test_an_emqx_broker_is_running_once_every_node_is_ready(sim, cs, namespace) -> None:
    client = cs.apps_v1beta4.emqx_brokers(namespace)
    created = client.create(emqx_broker("broker", replicas=3))
    states = _to_running(sim, client, created)

    assert _firsts(states) == [("Running", "False", "ClusterNotReady"), ("Running", "True", "ClusterReady")]
    assert [s.status.ready_replicas or 0 for s in states] == [0, 1, 2, 3]
    final = states[-1].status
    assert (final.replicas, final.ready_replicas) == (3, 3)
    assert [c.message for c in final.conditions] == ["All resources are ready"]
    assert final.conditions[0].last_update_time and final.conditions[0].last_transition_time
    assert [n.node for n in final.emqx_nodes] == [
        f"emqx@broker-{i}.broker-headless.{namespace}.svc.cluster.local" for i in range(3)
    ]
    assert {(n.node_status, n.version) for n in final.emqx_nodes} == {("Running", "4.4.19")}
    assert re.fullmatch(r"broker-[a-z2-9]{10}", final.current_stateful_set_version)


def test_an_emqx_broker_image_change_rolls_its_pods_one_at_a_time(sim, cs, namespace) -> None:
    client = cs.apps_v1beta4.emqx_brokers(namespace)
    created = client.create(emqx_broker("rolling", replicas=2))
    before = _to_running(sim, client, created)[-1].status.current_stateful_set_version

    client.patch("rolling", {"spec": {"template": {"spec": {"emqxContainer": {"image": {"version": "4.4.20"}}}}}})
    rolled = lambda o: _running(o) and {n.version for n in o.status.emqx_nodes} == {"4.4.20"}  # noqa: E731
    states = drive(sim, "EmqxBroker", created, lambda: client.get("rolling"), until=rolled)

    # Each pod restarts in turn (highest ordinal first): Running is False while one is down.
    not_ready, ready = ("Running", "False", "ClusterNotReady"), ("Running", "True", "ClusterReady")
    assert _firsts(states) == [not_ready, ready, not_ready, ready]
    assert min(s.status.ready_replicas or 0 for s in states) == 1  # never more than one pod down
    first_replaced = [n.node for n in states[1].status.emqx_nodes if n.version == "4.4.20"]
    assert first_replaced == [f"emqx@rolling-1.rolling-headless.{namespace}.svc.cluster.local"]
    final = states[-1].status
    assert final.current_stateful_set_version != before
    assert types_of(states[-1]) == ["Running"]


def test_an_emqx_enterprise_image_change_is_a_blue_green_update(sim, cs, namespace) -> None:
    client = cs.apps_v1beta4.emqx_enterprises(namespace)
    created = client.create(emqx_enterprise("ee", replicas=2))
    origin = _to_running(sim, client, created)[-1].status.current_stateful_set_version

    client.patch("ee", {"spec": {"template": {"spec": {"emqxContainer": {"image": {"version": "4.4.20"}}}}}})
    states = drive(sim, "EmqxEnterprise", created, lambda: client.get("ee"), until=lambda o: not _running(o))
    updating = states[-1]
    assert head(updating) == ("BlueGreenUpdating", None)
    assert types_of(updating) == ["BlueGreenUpdating", "Running"]
    assert updating.status.current_stateful_set_version != origin

    states = drive(
        sim,
        "EmqxEnterprise",
        created,
        lambda: client.get("ee"),
        until=lambda o: o.status.blue_green_update_status is not None,
    )
    blue_green = states[-1].status.blue_green_update_status
    assert blue_green.origin_stateful_set.startswith("ee-") and blue_green.current_stateful_set.startswith("ee-")
    assert blue_green.origin_stateful_set != blue_green.current_stateful_set and blue_green.started_at
    assert states[-1].status.ready_replicas == 4  # both StatefulSets serve until the old one is drained

    final = _to_running(sim, client, created)[-1]
    assert types_of(final) == ["Running", "BlueGreenUpdating"]
    assert final.status.blue_green_update_status is None
    assert {n.version for n in final.status.emqx_nodes} == {"4.4.20"} and final.status.ready_replicas == 2
    messages = [e.message for e in events_of(cs, final) if e.reason == "Evacuate"]
    assert any(m.startswith("Evacuate node emqx@ee-") for m in messages)
    assert f"Scale down StatefulSet {blue_green.origin_stateful_set} to 0" in messages


def test_a_broker_node_down_fault_makes_it_not_running_until_removed(sim, cs, namespace) -> None:
    client = cs.apps_v1beta4.emqx_brokers(namespace)
    created = client.create(emqx_broker("down", replicas=3))
    _to_running(sim, client, created)

    client.patch("down", {"metadata": {"annotations": {FAULT_ANNOTATION: "core-node-down"}}})
    degraded = drive(sim, "EmqxBroker", created, lambda: client.get("down"), until=lambda o: not _running(o))[-1]
    assert _first(degraded) == ("Running", "False", "ClusterNotReady")
    assert sorted(n.node_status for n in degraded.status.emqx_nodes) == ["Running", "Running", "Stopped"]

    client.patch("down", {"metadata": {"annotations": {FAULT_ANNOTATION: None}}})
    _to_running(sim, client, created)


def test_on_a_2021_cluster_brokers_get_the_v1beta1_conditions(sandbox_2021) -> None:
    sandbox_2021.create_namespace("sim-2021")
    with Clientset.from_kubeconfig(sandbox_2021.kubeconfig) as cs:
        sim = Simulator(cs, pace=FAST, namespace="sim-2021")
        assert {k: c.version for k, c in sim.controllers().items()} == {
            "EmqxBroker": "v1beta1",
            "EmqxEnterprise": "v1beta1",
        }
        client = cs.apps_v1beta1.emqx_brokers("sim-2021")
        created = client.create(emqx_broker_v1beta1("old", replicas=3))
        healthy = lambda o: head(o) == ("Healthy", "Cluster available")  # noqa: E731
        states = drive(sim, "EmqxBroker", created, lambda: client.get("old"), until=healthy)

        assert [head(s) for s in states] == [("Creating", "Creating"), ("Healthy", "Cluster available")]
        creating, ready = states[-1].status.conditions[1], states[-1].status.conditions[0]
        assert (creating.type, creating.message) == ("Creating", "Bootstrap emqx cluster")
        assert (ready.type, ready.message) == ("Healthy", "Cluster ok")
        assert isinstance(ready.last_update_time, str) and isinstance(ready.last_transition_time, str)

        client.patch("old", {"spec": {"replicas": 5}})
        states = drive(sim, "EmqxBroker", created, lambda: client.get("old"), until=lambda o: not healthy(o))
        states += drive(sim, "EmqxBroker", created, lambda: client.get("old"), until=healthy)
        assert [head(s) for s in states] == [("Scaling", "Scaling up"), ("Healthy", "Cluster available")]
        assert states[0].status.conditions[0].message == "Scaling up from 3 to 5 nodes"
        assert types_of(states[-1]) == ["Healthy", "Scaling", "Creating"]
        assert [e.reason for e in events_of(cs, created)] == ["Creating", "Healthy", "Scaling"]


def test_a_restarted_simulator_adopts_running_brokers(cs, sim, namespace) -> None:
    client = cs.apps_v1beta4.emqx_enterprises(namespace)
    created = client.create(emqx_enterprise("kept", replicas=2))
    running = _to_running(sim, client, created)[-1]

    restarted = Simulator(cs, pace=FAST, namespace=namespace)
    for _ in range(3):
        assert not restarted.reconcile_object("EmqxEnterprise", namespace, "kept")
    assert client.get("kept").status == running.status
