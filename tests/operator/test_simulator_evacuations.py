"""Node evacuations during an update, as each operator line writes them, played by the simulator.

Every line evacuates the nodes that serve clients (the replicants, or the core nodes without any)
one at a time before they stop (``sandbox.operator.emqx_world.node_evacuation``), and reports it
in its own field: ``nodeEvacuationsStatus`` (2.2's v2beta1 with ``stats``; 2.3's v2 model A with
initial counts), ``nodeEvacuations`` (3.0's v3beta1). Two modes write none: 2.3 model B, whose
``nodeEvacuations`` the served v2 schema prunes, and a v3beta1 whose evacuation strategy is
``Disabled``. Each case is stepped one reconcile at a time through one image update.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from emqx.client import Clientset
from emqx.discovery import GROUP
from emqx.rest import api_path
from sandbox.operator import Simulator
from sandbox.operator.common import STATUS_MODEL_ANNOTATION
from tests.operator import FAST

FIELDS = ("nodeEvacuationsStatus", "nodeEvacuations")
V2_RATES = {"evacuationStrategy": {"connEvictRate": 200, "sessEvictRate": 100}}
V3_RATES = {"evacuationStrategy": {"type": "NodeEvacuation", "connectionEvictionRate": 200, "sessionEvictionRate": 100}}


@dataclass(frozen=True)
class Line:
    """One operator line (and mode) through an image update."""

    id: str
    bundle: str  # the sandbox's CRD bundle: "2.2", "2.3", "3.0"
    version: str  # the EMQX version written and read
    field: str | None  # the status field its evacuations are in; None: it writes none
    core: int = 1
    replicants: int | None = 2
    update_strategy: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


LINES = [
    Line("v2beta1-on-2.2", "2.2", "v2beta1", "nodeEvacuationsStatus", update_strategy=V2_RATES),
    Line("v2-model-A-on-2.3", "2.3", "v2", "nodeEvacuationsStatus", update_strategy=V2_RATES),
    # 3.0's schema: a core-replicant cluster has at least 2 core replicas.
    Line("v3beta1-replicants-on-3.0", "3.0", "v3beta1", "nodeEvacuations", core=2, update_strategy=V3_RATES),
    # One rolling core StatefulSet: its ordinal pods are evacuated before each is replaced.
    Line("v3beta1-core-only-on-3.0", "3.0", "v3beta1", "nodeEvacuations", core=2, replicants=None,
         update_strategy=V3_RATES),
    Line("v2-model-B-on-2.3", "2.3", "v2", None, update_strategy=V2_RATES, annotations={STATUS_MODEL_ANNOTATION: "B"}),
    Line("v3beta1-disabled-on-3.0", "3.0", "v3beta1", None, core=2,
         update_strategy={"evacuationStrategy": {"type": "Disabled"}}),
]  # fmt: skip

_FIXTURES = {"2.2": ("cs", "namespace"), "2.3": ("cs_23", "namespace_23"), "3.0": ("cs_30", "namespace_30")}
_IMAGES = {"v3beta1": ("emqx/emqx:5.10.0", "emqx/emqx:5.10.1")}
_V2_IMAGES = ("emqx/emqx-enterprise:5.8.6", "emqx/emqx-enterprise:5.8.7")


@dataclass(frozen=True)
class Node:
    name: str
    role: str
    running: bool
    version: str
    sessions: int
    connections: int


def _nodes(line: Line, status: dict[str, Any]) -> dict[str, Node]:
    """The status's nodes by name, whatever the line calls their fields."""
    if line.version == "v3beta1":
        items = status.get("clusterNodes") or []
    else:
        items = [*(status.get("coreNodes") or []), *(status.get("replicantNodes") or [])]
    nodes = {}
    for n in items:
        if line.version == "v2beta1":  # EMQX's connections counter, and its live connections
            node = Node(n["node"], n["role"], n["node_status"] == "running", n["version"], n.get("connections", 0),
                        n.get("live_connections", 0))  # fmt: skip
        else:
            node = Node(n["name"], n["role"], n["status"] == "running", n["version"], n.get("sessions", 0),
                        n.get("connections", 0))  # fmt: skip
        nodes[node.name] = node
    return nodes


def _evacuations(line: Line, status: dict[str, Any]) -> list[dict[str, Any]]:
    """The evacuations as (node, initial sessions, initial connections, recipients, rates) dicts."""
    result = []
    for e in status.get(line.field or "") or []:
        stats = e.get("stats") or {}
        result.append(
            {
                "node": e.get("node") or e.get("nodeName"),
                "sessions": stats.get("initial_sessions", e.get("initialSessions")),
                "connections": stats.get("initial_connected", e.get("initialConnections")),
                "recipients": e.get("session_recipients") or e.get("sessionRecipients") or [],
                "rates": (
                    e.get("connection_eviction_rate", e.get("connectionEvictionRate")),
                    e.get("session_eviction_rate", e.get("sessionEvictionRate")),
                ),
                "state": e.get("state"),
                "left": (stats.get("current_sessions"), stats.get("current_connected")),
            }
        )
    return result


def _ready(obj: dict[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


@pytest.fixture(params=LINES, ids=lambda line: line.id)
def line_world(request: pytest.FixtureRequest) -> tuple[Line, Simulator, Clientset, str]:
    """The line, a simulator (not started) on its cluster, a client and a namespace of the test's own there."""
    line: Line = request.param
    cs_name, namespace_name = _FIXTURES[line.bundle]
    cs: Clientset = request.getfixturevalue(cs_name)
    namespace: str = request.getfixturevalue(namespace_name)
    return line, Simulator(cs, pace=FAST, namespace=namespace), cs, namespace


def _run(sim: Simulator, cs: Clientset, path: str, namespace: str, name: str, until: Any) -> list[dict[str, Any]]:
    """Reconcile one step at a time until ``until(object)``; every object as written."""
    written = []
    for _ in range(80):
        obj: dict[str, Any] = cs.transport.request_json("GET", path)
        if until(obj):
            return written
        if sim.reconcile_object("EMQX", namespace, name):
            written.append(cs.transport.request_json("GET", path))
    raise AssertionError(f"{name} did not get there in 80 reconciles")


def test_each_line_evacuates_the_old_nodes_one_at_a_time_during_an_update_as_its_operator_writes_it(
    line_world: tuple[Line, Simulator, Clientset, str],
) -> None:
    line, sim, cs, namespace = line_world
    old_image, new_image = _IMAGES.get(line.version, _V2_IMAGES)
    spec: dict[str, Any] = {"image": old_image, "coreTemplate": {"spec": {"replicas": line.core}}}
    if line.replicants is not None:
        spec["replicantTemplate"] = {"spec": {"replicas": line.replicants}}
    spec["updateStrategy"] = line.update_strategy
    meta: dict[str, Any] = {"name": "evac", **({"annotations": line.annotations} if line.annotations else {})}
    cs.transport.request_json(
        "POST",
        api_path(GROUP, line.version, "emqxes", namespace=namespace),
        body={"apiVersion": f"{GROUP}/{line.version}", "kind": "EMQX", "metadata": meta, "spec": spec},
    )
    path = api_path(GROUP, line.version, "emqxes", namespace=namespace, name="evac")
    settled = _run(sim, cs, path, namespace, "evac", _ready)[-1]
    serving = "replicant" if line.replicants else "core"
    before = {n.name: n for n in _nodes(line, settled["status"]).values() if n.role == serving}
    assert len(before) == (line.replicants or line.core)
    assert not any(key in settled["status"] for key in FIELDS)

    cs.transport.request_json(
        "PATCH", path, body={"spec": {"image": new_image}}, content_type="application/merge-patch+json"
    )
    new_version = new_image.rpartition(":")[2]

    def updated(obj: dict[str, Any]) -> bool:
        nodes = _nodes(line, obj.get("status") or {}).values()
        return (
            _ready(obj)
            and len(nodes) == len(_nodes(line, settled["status"]))
            and all(n.version == new_version for n in nodes)
        )

    states = _run(sim, cs, path, namespace, "evac", updated)
    final = states[-1]["status"]
    assert not any(key in final for key in FIELDS), "the evacuations end with the update"
    if line.field is None:
        assert not any(key in s["status"] for s in states for key in FIELDS)
        return
    evacuated: list[str] = []
    for state in states:
        status = state["status"]
        assert not any(key in status for key in FIELDS if key != line.field)
        evacuations = _evacuations(line, status)
        assert len(evacuations) <= 1, "one node at a time"
        for e in evacuations:
            old = before[e["node"]]  # a node that served clients before the update
            nodes = _nodes(line, status)
            assert nodes[e["node"]].running, "it is evacuated before it stops"
            assert (e["sessions"], e["connections"]) == (old.sessions, old.connections)
            assert e["recipients"] and e["node"] not in e["recipients"]
            assert all(nodes[r].running and nodes[r].role == serving for r in e["recipients"])
            assert e["rates"] == (200, 100)
            assert e["state"] == "evicting_conns"
            if line.version == "v2beta1":  # v2beta1 also reports what is left; v2 and v3beta1 do not
                assert e["left"] == (old.sessions // 2, old.connections // 2)
            else:
                assert e["left"] == (None, None)
            if not evacuated or evacuated[-1] != e["node"]:
                evacuated.append(e["node"])
    assert sorted(evacuated) == sorted(before), "every old node is evacuated, once"
