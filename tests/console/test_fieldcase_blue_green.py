"""Field case 06 (tests/fieldcases/06-blue-green-mid-update): an EMQX in the middle of the
operator's blue-green update, 5.4 to 5.5. The status lists both node sets (six core nodes for
three desired), an old node has stopped as intended, and one is being evacuated.

No page fails on the extra nodes; the counts say what is leaving; the update is called an update
in flight, not Degraded (issue 15, item 19), while a stopped node of the *new* version still is."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client

from console.dashboard import DEGRADED, PROGRESSING
from console.registry import site
from emqx.client.clientset import Clientset
from emqx.models.apps_v2beta1 import EMQX
from tests.support import eventually, write_emqx_status

pytestmark = pytest.mark.django_db

CASE = Path(__file__).resolve().parents[1] / "fieldcases" / "06-blue-green-mid-update" / "input.yaml"
NOW = dt.datetime.now(dt.UTC)
MID_UPDATE = [
    ("Available", "ClusterAvailable"),
    ("CoreNodesReady", "CoreNodesReady"),
    ("CoreNodesProgressing", "UpdateStatefulSet"),
]


def _node(name: str, version: str, status: str = "running") -> dict[str, Any]:
    return {"node": f"emqx@{name}", "node_status": status, "version": version, "role": "core"}


def _mid_update(clientset: Clientset, namespace: str, *, new_node_status: str = "running") -> None:
    doc = yaml.safe_load(CASE.read_text())
    doc["metadata"]["namespace"] = namespace
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(EMQX.from_dict(doc))
    old = [_node(f"bluegreen-core-old-{i}", "5.4.1", "stopped" if i == 0 else "running") for i in range(3)]
    new = [_node(f"bluegreen-core-new-{i}", "5.5.0", new_node_status if i == 0 else "running") for i in range(3)]
    write_emqx_status(
        emqxes,
        "bluegreen",
        [(t, reason, NOW) for t, reason in MID_UPDATE],
        coreNodes=old + new,
        coreNodesStatus={"replicas": 3, "readyReplicas": 5, "currentRevision": "old", "updateRevision": "new"},
        nodeEvacuationsStatus=[{"node": "emqx@bluegreen-core-old-1", "state": "evicting_conns"}],
    )


def test_an_update_in_flight_is_shown_as_one_not_as_degraded(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _mid_update(clientset, namespace)
    base = f"/clusters/default/emqx/{namespace}/bluegreen/"
    eventually(lambda: admin.get(base).status_code == 200)
    detail = admin.get(base).content.decode()
    assert "rolling out" in detail and "bluegreen-core-old-1 (evicting_conns)" in detail
    assert "3/3 (+2 leaving)" in detail  # readyReplicas counts old and new alike: no 166 %
    assert 'id="degraded"' not in detail
    listing = admin.get("/clusters/default/emqx/", {"namespace": namespace}).content.decode()
    row = listing[listing.index(">bluegreen<") :]
    assert "Degraded" not in row[: row.index("</tr>")]
    summary = site.for_kind("EMQX").summarize(clientset.apps_v2beta1.emqxes(namespace).get("bluegreen"))
    health = site.for_kind("EMQX").health(summary, seen_ready=False)
    assert health.state == PROGRESSING and "old node emqx@bluegreen-core-old-0 stopping" in health.why


def test_a_stopped_node_of_the_new_version_is_still_degraded(clientset: Clientset, namespace: str) -> None:
    _mid_update(clientset, namespace, new_node_status="stopped")
    summary = site.for_kind("EMQX").summarize(clientset.apps_v2beta1.emqxes(namespace).get("bluegreen"))
    health = site.for_kind("EMQX").health(summary, seen_ready=False)
    assert health.state == DEGRADED and health.why == "node emqx@bluegreen-core-new-0 not running"
