"""Field case 05 (tests/fieldcases/05-replicants-scaled-to-zero): replicant nodes scaled to 0 while
the status still lists two running replicants and a core template change is pending
(emqx/emqx-operator#1002, PR #1210).

Counts above the desired number read as a scale-down (2 ready of 0 desired is "0/0 (+2 leaving)",
no ratio, never Ready); the two nodes are listed and marked as being removed; the status poll goes
on; the dashboards count it as progressing and say why; 0 is a replicant count the form shows,
keeps, and accepts again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client

from console.models import AuditEntry
from console.registry import PROGRESSING, site
from emqx.client.clientset import Clientset
from emqx.models.apps_v2beta1 import EMQX
from tests.support import REPLICANT_REPLICAS, eventually, form_data, form_inputs, row_cells

pytestmark = pytest.mark.django_db

CASE = Path(__file__).resolve().parents[1] / "fieldcases" / "05-replicants-scaled-to-zero"
NAME = "no-replicants"
LEAVING = ("emqx@10.244.2.69", "emqx@10.244.0.17")


@pytest.fixture
def scaled_down(kubectl: Any, clientset: Clientset, namespace: str, console_cluster: object) -> EMQX:
    """The case's step 1: ``kubectl apply`` of input.yaml, then status.yaml written to the status
    subresource as the operator wrote it."""
    applied = kubectl("apply", "-n", namespace, "-f", str(CASE / "input.yaml"))
    assert applied.returncode == 0, applied.stderr
    client = clientset.apps_v2beta1.emqxes(namespace)
    doc = client.get(NAME).to_dict()
    doc["status"] = yaml.safe_load((CASE / "status.yaml").read_text())["status"]
    return client.update_status(EMQX.from_dict(doc))


def _url(namespace: str, page: str = "") -> str:
    return f"/clusters/default/emqx/{namespace}/{NAME}/{page}"


def _cells(row: str) -> list[str]:
    return row_cells(row)


def _seen(admin: Client, namespace: str) -> None:
    """The console's cache has the status (the page shows the operator's condition)."""
    eventually(lambda: b"CoreNodesProgressing" in admin.get(_url(namespace)).content)


def test_the_list_shows_the_replicants_leaving_not_ready(admin: Client, scaled_down: EMQX, namespace: str) -> None:
    _seen(admin, namespace)
    for params in ({"namespace": namespace}, {"namespace": namespace, "source": "api"}):
        response = admin.get("/clusters/default/emqx/", params)
        assert response.status_code == 200
        row = re.search(rf"<tr class=[^>]*>(?:(?!</tr>).)*>{NAME}<.*?</tr>", response.content.decode(), re.S)
        assert row is not None
        # Namespace, Name, Status, Version, Core ready, Replicants ready, Age.
        assert _cells(row.group(0))[2:6] == ["CoreNodesProgressing", "5.4.1", "3/3", "0/0 (+2 leaving)"]
        assert 'class="row-ok"' not in row.group(0) and ">Ready<" not in row.group(0)


def test_the_status_panel_marks_the_replicants_as_being_removed_and_keeps_polling(
    admin: Client, scaled_down: EMQX, namespace: str
) -> None:
    _seen(admin, namespace)
    poll = admin.get(_url(namespace, "_status"), HTTP_HX_REQUEST="true")
    assert poll.status_code == 200  # not 286: the scale-down and the core change are still under way
    for page in (admin.get(_url(namespace)).content.decode(), poll.content.decode()):
        assert 'id="current-state">CoreNodesProgressing<' in page
        assert 'id="replicant-counts">0/0 (+2 leaving)<' in page
        assert "Scaling down: 2 replicant nodes for 0 desired" in page
        for node in LEAVING:
            row = re.search(rf"<tr><td>{re.escape(node)}</td>.*?</tr>", page, re.S)
            assert row is not None, node
            assert _cells(row.group(0))[1:3] == ["replicant", "running (being removed)"]
        assert 'id="degraded"' not in page


def test_a_ready_status_that_still_lists_the_replicants_keeps_the_panel_polling(
    admin: Client, scaled_down: EMQX, namespace: str, clientset: Clientset
) -> None:
    # The operator's Ready for this generation, core rolled, while the two replicants are still listed.
    client = clientset.apps_v2beta1.emqxes(namespace)
    doc = client.get(NAME).to_dict()
    ready = {"type": "Ready", "status": "True", "reason": "Ready", "message": "Cluster is ready"}
    doc["status"]["conditions"] = [
        {**ready, "observedGeneration": doc["metadata"]["generation"], "lastTransitionTime": "2024-01-09T10:45:00Z"}
    ]
    doc["status"]["coreNodesStatus"]["currentRevision"] = doc["status"]["coreNodesStatus"]["updateRevision"]
    client.update_status(EMQX.from_dict(doc))
    eventually(
        lambda: b'id="current-state">Ready<' in admin.get(_url(namespace, "_status"), HTTP_HX_REQUEST="true").content
    )
    poll = admin.get(_url(namespace, "_status"), HTTP_HX_REQUEST="true")
    assert poll.status_code == 200  # not settled: two nodes are still to go
    assert "Scaling down: 2 replicant nodes for 0 desired" in poll.content.decode()
    # Once the operator lists them no more, the panel settles.
    doc = client.get(NAME).to_dict()
    doc["status"].pop("replicantNodes")
    doc["status"]["replicantNodesStatus"].update(replicas=0, readyReplicas=0, currentReplicas=0)
    client.update_status(EMQX.from_dict(doc))
    eventually(lambda: admin.get(_url(namespace, "_status"), HTTP_HX_REQUEST="true").status_code == 286)
    assert 'id="replicant-counts">0/0<' in admin.get(_url(namespace)).content.decode()


def test_the_dashboards_count_it_as_progressing_and_say_why(
    admin: Client, scaled_down: EMQX, namespace: str, clientset: Clientset
) -> None:
    _seen(admin, namespace)
    why = "scaling down: 2 replicant nodes for 0 desired"
    emqx = site.for_kind("EMQX")
    summary = emqx.summarize(clientset.apps_v2beta1.emqxes(namespace).get(NAME))
    assert emqx.health(summary, seen_ready=False).state == PROGRESSING
    assert emqx.health(summary, seen_ready=False).why == why
    assert (summary.nodes_ready, summary.nodes_desired) == (3, 3)  # the leaving replicants are not counted
    for url in ("/dashboard/", "/clusters/default/"):
        response = admin.get(url)
        assert response.status_code == 200
        # Progressing since January 2024: among those not Ready for long, with the reason.
        row = re.search(
            rf'<tr data-instance="default/{namespace}/{NAME}" data-state="(\w+)">.*?</tr>',
            response.content.decode(),
            re.S,
        )
        assert row is not None and row.group(1) == PROGRESSING, url
        assert why in row.group(0)


def test_the_form_shows_zero_replicants_and_an_unchanged_save_writes_nothing(
    admin: Client, scaled_down: EMQX, namespace: str, clientset: Clientset
) -> None:
    data = form_data(admin.get(_url(namespace, "change/")).content.decode(), "emqx-form")
    assert data[REPLICANT_REPLICAS] == "0"
    review = admin.post(_url(namespace, "change/"), {**data, "step": "preview"})
    assert review.status_code == 200 and 'id="no-changes"' in review.content.decode()
    saved = admin.post(_url(namespace, "change/"), {**data, "step": "save"})
    assert saved.status_code == 200 and 'id="no-changes"' in saved.content.decode()
    stored = clientset.apps_v2beta1.emqxes(namespace).get(NAME)
    assert stored.metadata.resource_version == scaled_down.metadata.resource_version
    assert not AuditEntry.objects.filter(namespace=namespace, name=NAME).exists()


def test_replicants_can_go_from_zero_to_one_and_back_to_zero(
    admin: Client, scaled_down: EMQX, namespace: str, clientset: Clientset
) -> None:
    client = clientset.apps_v2beta1.emqxes(namespace)
    for replicas in (1, 0):
        data = {**form_data(admin.get(_url(namespace, "change/")).content.decode(), "emqx-form")}
        data[REPLICANT_REPLICAS] = str(replicas)
        review = admin.post(_url(namespace, "change/"), {**data, "step": "preview"})
        page = review.content.decode()
        assert "<code>spec.replicantTemplate.spec.replicas</code>" in page, page[-2000:]
        saved = admin.post(_url(namespace, "change/"), {**form_inputs(page, "preview-form"), "step": "save"})
        assert saved.status_code == 302, saved.content.decode()[-2000:]
        stored = client.get(NAME)
        assert stored.spec.replicant_template is not None and stored.spec.replicant_template.spec is not None
        assert stored.spec.replicant_template.spec.replicas == replicas
    assert [e.outcome for e in AuditEntry.objects.filter(namespace=namespace, name=NAME)] == ["success", "success"]
    # The detail page shows the count the user set: 0 desired, the two listed replicants leaving.
    assert 'id="replicant-counts">0/0 (+2 leaving)<' in admin.get(_url(namespace)).content.decode()
