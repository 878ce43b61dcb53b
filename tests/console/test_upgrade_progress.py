"""Progress of a blue-green update on the EMQX detail page (issue 17, part 5): the status panel, which
the page polls, shows each node role's old and new revision, the nodes on each, and the node
evacuations with their connection and session counts, as the operator writes them (here the
simulator, operator 2.2's EMQX v2beta1); once Ready, the progress is gone."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from console import clusters
from emqx.client.clientset import Clientset
from emqx.client.resource import ResourceClient
from emqx.models.apps_v2beta1 import EMQX
from sandbox.operator import Simulator
from tests import factories
from tests.support import eventually

pytestmark = pytest.mark.django_db


def _ready(obj: EMQX) -> bool:
    conditions = obj.status.conditions if obj.status else None
    return next((c.type for c in conditions or [] if c.status == "True"), None) == "Ready"


def _panel(client: Client, emqxes: ResourceClient[EMQX], name: str) -> str:
    """The status panel as the page's poll gets it, once the console has seen the object as it is now."""
    cluster = clusters.get_cluster("default")
    assert cluster is not None
    version = emqxes.get(name).metadata.resource_version

    def seen() -> bool:
        cached = cluster.cache("EMQX").get(emqxes.namespace or "", name)
        return cached is not None and cached.metadata.resource_version == version

    eventually(seen, message="the console never saw the simulator's last write")
    response = client.get(f"/clusters/default/emqx/{emqxes.namespace}/{name}/_status")
    assert response.status_code in (200, 286)
    return response.content.decode()


def _step_until(sim: Simulator, emqxes: ResourceClient[EMQX], name: str, done: Callable[[EMQX], bool]) -> None:
    for _ in range(60):
        if done(emqxes.get(name)):
            return
        sim.reconcile_object("EMQX", emqxes.namespace or "", name)
    raise AssertionError(f"{name} never got there")


def test_a_blue_green_update_shows_old_and_new_revisions_and_evacuations_until_ready(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(factories.emqx("bg", namespace=namespace, core_replicas=1, replicant_replicas=2))
    sim = Simulator(clientset, pace=0.01, namespace=namespace)
    _step_until(sim, emqxes, "bg", _ready)
    assert "update-progress" not in _panel(admin, emqxes, "bg")

    emqxes.patch("bg", {"spec": {"image": "emqx/emqx:5.8.7"}})
    revisions_seen = evacuation_seen = False
    for _ in range(80):
        sim.reconcile_object("EMQX", namespace, "bg")
        obj = emqxes.get("bg")
        html = _panel(admin, emqxes, "bg")
        status = obj.status
        assert status is not None
        sets = status.core_nodes_status
        if sets is not None and sets.update_revision and sets.update_revision != sets.current_revision:
            assert "Update in progress" in html
            assert f'<code class="old-revision">{sets.current_revision}</code>' in html
            assert f'<code class="new-revision">{sets.update_revision}</code>' in html
            revisions_seen = True
        for evacuation in status.node_evacuations_status or []:
            stats = evacuation.stats
            assert stats is not None
            row = re.search(r'<tr class="evacuation">.*?</tr>', html, re.S)
            assert row is not None, html
            assert evacuation.node in row.group(0)
            assert f"{stats.current_connected} of {stats.initial_connected}" in row.group(0)
            assert f"{stats.current_sessions} of {stats.initial_sessions}" in row.group(0)
            evacuation_seen = True
        if _ready(obj) and not status.node_evacuations_status:
            break
    assert revisions_seen, "the panel never showed the old and new revisions"
    assert evacuation_seen, "the panel never showed an evacuation"
    assert _ready(emqxes.get("bg"))
    assert "update-progress" not in _panel(admin, emqxes, "bg")
