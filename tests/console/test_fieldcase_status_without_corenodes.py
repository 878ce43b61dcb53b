"""Field case 03 (tests/fieldcases/03-status-without-corenodes): an EMQX carried from v2alpha1 to
v2beta1 by an operator upgrade, whose status has conditions but no node list and no counts
(emqx/emqx-operator#897, #932).

A partial status (optional sections absent) renders everywhere: the list, its API pages, the
detail page, the status poll, the Events and the timeline, both dashboards. Counts the operator
did not report read as unknown ("?"), never as an error, never as ready; an unchanged edit writes
nothing."""

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
from tests.support import eventually, form_data, row_cells

pytestmark = pytest.mark.django_db

CASE = Path(__file__).resolve().parents[1] / "fieldcases" / "03-status-without-corenodes"
NAME = "upgraded-from-2-1"
RUN_LABEL = "tests.emqx.io/run"


@pytest.fixture
def upgraded(kubectl: Any, clientset: Clientset, namespace: str, console_cluster: object) -> EMQX:
    """The case's steps 1: ``kubectl apply`` of input.yaml, then its status.yaml written to the
    status subresource (conditions only), as the operator wrote it."""
    applied = kubectl("apply", "-n", namespace, "-f", str(CASE / "input.yaml"))
    assert applied.returncode == 0, applied.stderr
    # A label of this run's own: the lists of all namespaces are asked for it (the API server
    # applies a selector before paging), so other tests' objects never push this one off page 1.
    labelled = kubectl("label", "-n", namespace, "emqx", NAME, f"{RUN_LABEL}={namespace}")
    assert labelled.returncode == 0, labelled.stderr
    client = clientset.apps_v2beta1.emqxes(namespace)
    doc = client.get(NAME).to_dict()
    doc["status"] = yaml.safe_load((CASE / "status.yaml").read_text())["status"]
    written = client.update_status(EMQX.from_dict(doc))
    assert written.status is not None and written.status.core_nodes is None
    assert written.status.core_nodes_status is None and written.status.replicant_nodes_status is None
    return written


def _url(namespace: str, page: str = "") -> str:
    return f"/clusters/default/emqx/{namespace}/{NAME}/{page}"


def _cells(row: str) -> list[str]:
    return row_cells(row)


def _row(html: str, namespace: str) -> tuple[str, list[str]]:
    """The list row of the case's instance in ``namespace`` (other tests have one of the same
    name elsewhere): its HTML and its cells' text."""
    rows = [row for row in re.findall(r"<tr class=.*?</tr>", html, re.S) if _cells(row)[:2] == [namespace, NAME]]
    assert len(rows) == 1, "the instance is not listed once"
    return rows[0], _cells(rows[0])


@pytest.mark.parametrize(
    "query",
    [{}, {"namespace": "<ns>"}, {"source": "api"}, {"namespace": "<ns>", "source": "api"}],
    ids=["all namespaces", "namespace", "api pages", "namespace api pages"],
)
def test_the_list_shows_the_condition_and_unknown_counts(
    admin: Client, upgraded: EMQX, namespace: str, query: dict[str, str]
) -> None:
    params = {key: namespace if value == "<ns>" else value for key, value in query.items()}
    params["labels"] = f"{RUN_LABEL}={namespace}"

    def listed() -> bool:
        response = admin.get("/clusters/default/emqx/", params)
        return response.status_code == 200 and "ReplicantNodesProgressing" in response.content.decode()

    eventually(listed)
    row, cells = _row(admin.get("/clusters/default/emqx/", params).content.decode(), namespace)
    # Namespace, Name, Status, Version, Core ready, Replicants ready, Age.
    assert cells[:6] == [namespace, NAME, "ReplicantNodesProgressing", "5.1.3", "?/1", "?/1"]
    assert "Ready<" not in row.replace("ReplicantNodesProgressing", "")
    assert "Degraded" not in row


def test_the_detail_page_status_poll_events_and_timeline_render(admin: Client, upgraded: EMQX, namespace: str) -> None:
    eventually(lambda: b"ReplicantNodesProgressing" in admin.get(_url(namespace)).content)
    detail = admin.get(_url(namespace)).content.decode()
    poll = admin.get(_url(namespace, "_status"), HTTP_HX_REQUEST="true")
    for page in (detail, poll.content.decode()):
        assert 'id="current-state">ReplicantNodesProgressing<' in page
        assert 'id="core-counts">?/1<' in page and 'id="replicant-counts">?/1<' in page
        # No node table, and a note that says why there is none.
        assert 'class="nodes"' not in page
        assert 'id="no-nodes">The operator lists no nodes for this instance' in page
        assert "no ready count of the core nodes or replicant nodes either" in page
        assert 'id="degraded"' not in page
    assert poll.status_code == 200  # still progressing: polling goes on
    assert admin.get(_url(namespace, "_events")).status_code == 200
    assert admin.get(_url(namespace, "timeline/")).status_code == 200


def test_the_dashboards_count_it_as_progressing(
    admin: Client, upgraded: EMQX, namespace: str, clientset: Clientset
) -> None:
    eventually(lambda: admin.get(_url(namespace)).status_code == 200)
    instance = f'data-instance="default/{namespace}/{NAME}" data-state="{PROGRESSING}"'
    for url in ("/dashboard/", "/clusters/default/"):
        response = admin.get(url)
        # Its condition has held since 2023: it is among those not Ready for long, as progressing.
        assert response.status_code == 200 and instance in response.content.decode(), url
    emqx = site.for_kind("EMQX")
    summary = emqx.summarize(clientset.apps_v2beta1.emqxes(namespace).get(NAME))
    assert emqx.health(summary, seen_ready=False).state == PROGRESSING
    assert (summary.nodes_ready, summary.nodes_desired) == (0, 2)  # unknown is not counted as ready


def test_opening_the_edit_form_and_saving_it_unchanged_writes_nothing(
    admin: Client, upgraded: EMQX, namespace: str, clientset: Clientset
) -> None:
    form = admin.get(_url(namespace, "change/"))
    assert form.status_code == 200
    data = form_data(form.content.decode(), "emqx-form")
    review = admin.post(_url(namespace, "change/"), {**data, "step": "preview"})
    assert review.status_code == 200 and 'id="no-changes"' in review.content.decode()
    # Even a Save sent anyway (a second click, a stale page) writes nothing.
    saved = admin.post(_url(namespace, "change/"), {**data, "step": "save"})
    assert saved.status_code == 200 and 'id="no-changes"' in saved.content.decode()
    stored = clientset.apps_v2beta1.emqxes(namespace).get(NAME)
    assert stored.metadata.resource_version == upgraded.metadata.resource_version
    assert stored.metadata.generation == upgraded.metadata.generation
    assert not AuditEntry.objects.filter(namespace=namespace, name=NAME).exists()
