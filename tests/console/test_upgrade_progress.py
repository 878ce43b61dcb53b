"""Progress of an update on the EMQX detail page (issue 17, part 5): the status panel, which the page
polls, shows each node role's old and new revision, the nodes on each, and the node evacuations with
their connection and session counts, as each operator line writes them (here the simulator): 2.2's
v2beta1 (``nodeEvacuationsStatus`` with current counts), 2.3's v2 in its state-machine model A
(``nodeEvacuationsStatus``, initial counts only) and 3.0's v3beta1 (``nodeEvacuations``, initial
counts only; revisions for the replicant ReplicaSets alone). Once Ready, the progress is gone."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from console import clusters
from sandbox.operator import Simulator
from tests.console.kind_cases import CASES, World
from tests.support import eventually

pytestmark = pytest.mark.django_db

# EMQX in each version an operator line serves (2.2's v2beta1, 2.3's v2, 3.0's v3beta1); on 2.3 the
# simulator plays model A unless told otherwise.
EMQX_CASES = [case for case in CASES if case.model.kind == "EMQX"]


@pytest.fixture
def sim(world: World) -> Simulator:
    """The operator's simulator for the world's namespace, stepped by the test (never started)."""
    return Simulator(world.clientset, pace=0.01, namespace=world.namespace)


def _ready(obj: Any) -> bool:
    """Ready True, read by type (v2beta1 removes it going back, v2 model A and v3beta1 set it False)."""
    conditions = obj.status.conditions if obj.status else None
    return any(c.type == "Ready" and c.status == "True" for c in conditions or [])


def _panel(world: World, name: str) -> str:
    """The status panel as the page's poll gets it, once the console has seen the object as it is now."""
    cluster = clusters.get_cluster(world.cluster)
    assert cluster is not None
    version = world.objects.get(name).metadata.resource_version

    def seen() -> bool:
        cached = cluster.cache("EMQX").get(world.namespace, name)
        return cached is not None and cached.metadata.resource_version == version

    eventually(seen, message="the console never saw the simulator's last write")
    response = world.client.get(world.url("_status", name))
    assert response.status_code in (200, 286)
    return response.content.decode()


def _step_until(world: World, sim: Simulator, name: str, done: Callable[[Any], bool]) -> None:
    for _ in range(60):
        if done(world.objects.get(name)):
            return
        sim.reconcile_object("EMQX", world.namespace, name)
    raise AssertionError(f"{name} never got there")


def _next_patch_release(image: str) -> str:
    """``emqx/emqx:5.8.6`` -> ``emqx/emqx:5.8.7``."""
    repository, _, tag = image.rpartition(":")
    major_minor, _, patch = tag.rpartition(".")
    return f"{repository}:{major_minor}.{int(patch) + 1}"


def _nodes_on(status: Any, role: str, version: str) -> list[str]:
    """The names of the status's ``role`` nodes that run EMQX ``version`` (v2beta1 names a node
    ``node``, v2 and v3beta1 ``name``; v3beta1 lists both roles in ``clusterNodes``)."""
    nodes = getattr(status, f"{role}_nodes", None)
    if nodes is None:
        nodes = [n for n in getattr(status, "cluster_nodes", None) or [] if n.role == role]
    return [getattr(n, "node", None) or n.name for n in nodes if n.version == version]


def _role_row(html: str, label: str) -> str:
    """The revisions table's row of one node role ("Core nodes"), or '' when it has none."""
    row = re.search(rf'<tr class="role-progress">\s*<th scope="row">{label}</th>(.*?)</tr>', html, re.S)
    return row.group(1) if row is not None else ""


def _new_nodes_cell(html: str, label: str) -> str:
    """The "New nodes" cell (the last one) of a role's row in the panel's revisions table."""
    row = re.search(rf'<tr class="role-progress">\s*<th scope="row">{label}</th>(.*?)</tr>', html, re.S)
    assert row is not None, html
    return re.findall(r"<td>(.*?)</td>", row.group(1), re.S)[-1]


def _counts(evacuation: Any) -> tuple[str, str]:
    """What the evacuation row says of connections and sessions: v2beta1 reports what is left of
    what there was, v2 and v3beta1 only what there was when it started."""
    stats = getattr(evacuation, "stats", None)
    if stats is not None:
        return (
            f"{stats.current_connected} of {stats.initial_connected}",
            f"{stats.current_sessions} of {stats.initial_sessions}",
        )
    return f"{evacuation.initial_connections} at start", f"{evacuation.initial_sessions} at start"


@pytest.mark.parametrize("world", EMQX_CASES, ids=lambda case: case.id, indirect=True)
def test_an_update_shows_old_and_new_revisions_and_evacuations_until_ready(world: World, sim: Simulator) -> None:
    spec = {
        **world.case.spec("target"),
        # 3.0's schema wants 2 core replicas beside replicants.
        "coreTemplate": {"spec": {"replicas": 2}},
        "replicantTemplate": {"spec": {"replicas": 2}},
    }
    world.objects.create(world.case.model.from_dict({"metadata": {"name": "bg"}, "spec": spec}))
    _step_until(world, sim, "bg", _ready)
    assert "update-progress" not in _panel(world, "bg")

    new_image = _next_patch_release(spec["image"])
    world.objects.patch("bg", {"spec": {"image": new_image}})
    new_version = new_image.rpartition(":")[2]
    revisions_seen = evacuation_seen = in_place_seen = False
    for _ in range(80):
        sim.reconcile_object("EMQX", world.namespace, "bg")
        obj = world.objects.get("bg")
        html = _panel(world, "bg")
        status = obj.status
        assert status is not None
        for role, sets in (("core", status.core_nodes_status), ("replicant", status.replicant_nodes_status)):
            update, current = getattr(sets, "update_revision", None), getattr(sets, "current_revision", None)
            if update and update != current:
                assert "Update in progress" in html
                assert f'<code class="old-revision">{current}</code>' in html
                assert f'<code class="new-revision">{update}</code>' in html
                new_nodes = _new_nodes_cell(html, f"{role.capitalize()} nodes")
                assert all(f"<code>{n}</code>" in new_nodes for n in _nodes_on(status, role, new_version))
                revisions_seen = True
        rolling = [
            c
            for c in status.conditions or []
            if (c.type, str(c.status), c.reason) == ("CoreNodesProgressing", "True", "RollingUpdate")
        ]
        if rolling and not getattr(status.core_nodes_status, "update_revision", None):
            # v3beta1's one core StatefulSet rolls in place: counts, no revisions, the whole way through
            core = _role_row(html, "Core nodes")
            updated, desired = status.core_nodes_status.updated_replicas, status.core_replicas
            assert f'<span class="rollout-count">{updated} of {desired}</span>' in core, core
            in_place_seen = True
        evacuations = getattr(status, "node_evacuations_status", None) or getattr(status, "node_evacuations", None)
        for evacuation in evacuations or []:
            row = re.search(r'<tr class="evacuation">.*?</tr>', html, re.S)
            assert row is not None, html
            node = getattr(evacuation, "node_name", None) or getattr(evacuation, "node", None)
            assert f"<code>{node}</code>" in row.group(0)
            connections, sessions = _counts(evacuation)
            assert f'<td class="evacuation-connections">{connections}</td>' in row.group(0)
            assert f'<td class="evacuation-sessions">{sessions}</td>' in row.group(0)
            evacuation_seen = True
        if _ready(obj) and not evacuations:
            break
    assert revisions_seen, "the panel never showed the old and new revisions"
    assert evacuation_seen, "the panel never showed an evacuation"
    if world.case.model.version == "v3beta1":
        assert in_place_seen, "the panel never showed the core StatefulSet's rollout"
    assert _ready(world.objects.get("bg"))
    assert "update-progress" not in _panel(world, "bg")
