"""Field case 16 (tests/fieldcases/16-large-config-last-applied): an EMQX with about 140 KB of
configuration (inline CA certificates), created with client-side ``kubectl apply``, which copies
the whole object into the ``kubectl.kubernetes.io/last-applied-configuration`` annotation: about
280 KB stored (CrunchyData/postgres-operator#3633, #3938, apache/solr-operator#278,
prometheus-operator/kube-prometheus#1511).

The pages render it (the YAML once, collapsed); a form edit of the replicas changes only the
replicas, without judging the unchanged configuration again, and keeps the annotation as kubectl
wrote it, so ``kubectl apply`` still merges three ways afterwards; the audit entry holds the diff
and one copy of the object, not two; an unchanged YAML edit writes nothing. Times are printed,
never asserted."""

from __future__ import annotations

import html as html_lib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from console.models import AuditEntry
from tests.support import CORE_REPLICAS, eventually, form_data, form_inputs

pytestmark = pytest.mark.django_db

CASE = Path(__file__).resolve().parents[1] / "fieldcases" / "16-large-config-last-applied" / "input.yaml"
NAME = "many-tenants"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _stored(kubectl: Any, namespace: str) -> dict[str, Any]:
    result = kubectl("-n", namespace, "get", "emqx.v2beta1.apps.emqx.io", NAME, "-o", "json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture
def applied(kubectl: Any, namespace: str, console_cluster: object) -> dict[str, Any]:
    """The case's step 1: client-side ``kubectl apply``; the object as the API server stores it."""
    result = kubectl("apply", "-n", namespace, "-f", str(CASE))
    assert result.returncode == 0, result.stderr
    stored = _stored(kubectl, namespace)
    assert (
        len(stored["spec"]["config"]["data"]) > 120_000
        and len(stored["metadata"]["annotations"][LAST_APPLIED]) > 120_000
    )
    return stored


def _url(namespace: str, page: str = "") -> str:
    return f"/clusters/default/emqx/{namespace}/{NAME}/{page}"


def _timed(what: str, call: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    response = call()
    print(f"{what}: {time.perf_counter() - started:.3f} s, {len(response.content)} bytes")
    return response


def test_the_list_detail_and_status_render_the_object_once_collapsed(
    admin: Client, applied: dict[str, Any], namespace: str
) -> None:
    eventually(lambda: admin.get(_url(namespace)).status_code == 200)  # the cache has it: warm from here on
    listing = _timed("list", lambda: admin.get("/clusters/default/emqx/", {"namespace": namespace}))
    assert listing.status_code == 200 and f">{NAME}<" in listing.content.decode()
    assert len(listing.content) < 100_000  # a row, not the configuration
    status = _timed("_status", lambda: admin.get(_url(namespace, "_status"), HTTP_HX_REQUEST="true"))
    assert status.status_code == 200 and len(status.content) < 50_000
    detail = _timed("detail", lambda: admin.get(_url(namespace)))
    page = detail.content.decode()
    assert detail.status_code == 200
    # The configuration and the annotation are in the YAML, collapsed, and nowhere else.
    yaml_block = re.search(
        r"<details><summary>Show the object as stored[^<]*</summary>\s*<pre class=\"yaml\">(.*?)</pre>", page, re.S
    )
    assert yaml_block is not None
    text = html_lib.unescape(yaml_block.group(1))
    assert "listeners.ssl.tenant00" in text and LAST_APPLIED in text
    assert page.count("listeners.ssl.tenant00") == yaml_block.group(1).count("listeners.ssl.tenant00")
    assert len(page) < len(yaml_block.group(0)) + 50_000  # the YAML once, and little else


def test_a_form_edit_of_the_replicas_changes_only_the_replicas_and_audits_a_diff(
    admin: Client, kubectl: Any, applied: dict[str, Any], namespace: str
) -> None:
    form = _timed("edit form", lambda: admin.get(_url(namespace, "change/")))
    data = {**form_data(form.content.decode(), "emqx-form"), CORE_REPLICAS: "4"}
    preview = _timed("preview", lambda: admin.post(_url(namespace, "change/"), {**data, "step": "preview"}))
    page = preview.content.decode()
    changed = re.findall(r"<tr class=\"change-\w+\"><td><code>([^<]+)</code>", page)
    assert changed == ["spec.coreTemplate.spec.replicas"], page[-3000:]
    diff = re.search(r'<pre class="diff" id="diff">(.*?)</pre>', page, re.S)
    assert diff is not None
    assert re.findall(r'<span class="diff-(?:add|del)">([^<]*)</span>', diff.group(1)) == [
        "-      replicas: 3",
        "+      replicas: 4",
    ]
    saved = _timed(
        "save", lambda: admin.post(_url(namespace, "change/"), {**form_inputs(page, "preview-form"), "step": "save"})
    )
    assert saved.status_code == 302, html_lib.unescape(saved.content.decode())[-3000:]

    stored = _stored(kubectl, namespace)
    assert stored["spec"]["coreTemplate"]["spec"]["replicas"] == 4
    stored["spec"]["coreTemplate"]["spec"]["replicas"] = 3
    assert stored["spec"] == applied["spec"]  # the configuration byte for byte, nothing else
    assert stored["metadata"]["annotations"] == applied["metadata"]["annotations"]  # kubectl's, untouched

    (entry,) = AuditEntry.objects.filter(namespace=namespace, name=NAME)
    assert entry.outcome == "success" and entry.action == "update"
    assert "-      replicas: 3\n" in entry.diff and "+      replicas: 4\n" in entry.diff
    assert len(entry.diff) < 5_000
    size = len(json.dumps(applied))
    kept = len(json.dumps(entry.before)) + len(json.dumps(entry.after)) + len(entry.diff)
    print(f"audit entry: {kept} characters for an object of {size}")
    assert kept < 1.2 * size  # one copy of the object and the diff, not a second copy
    assert entry.after is not None and entry.after["spec"]["coreTemplate"]["spec"]["replicas"] == 4
    trail = admin.get("/audit/", {"namespace": namespace}).content.decode()
    assert "+      replicas: 4" in trail and "listeners.ssl.tenant00" not in trail  # the change, not the object

    # Step 5: kubectl's three-way merge still works on top of the console's edit.
    again = kubectl("apply", "-n", namespace, "-f", str(CASE))
    assert again.returncode == 0 and "configured" in again.stdout, again.stderr
    reapplied = _stored(kubectl, namespace)
    assert reapplied["spec"] == applied["spec"]
    assert reapplied["metadata"]["annotations"] == applied["metadata"]["annotations"]  # no growth


def test_an_unchanged_yaml_edit_writes_nothing(
    admin: Client, kubectl: Any, applied: dict[str, Any], namespace: str
) -> None:
    editor = _timed("YAML editor", lambda: admin.get(_url(namespace, "change/"), {"mode": "yaml"}))
    data = form_data(editor.content.decode(), "emqx-form")
    assert LAST_APPLIED in data["yaml"]  # the whole editable object, kubectl's annotation included
    for step in ("preview", "save"):
        response = _timed(
            f"YAML {step}", lambda step=step: admin.post(_url(namespace, "change/"), {**data, "step": step})
        )
        assert response.status_code == 200 and 'id="no-changes"' in response.content.decode()
    stored = _stored(kubectl, namespace)
    assert stored["metadata"]["resourceVersion"] == applied["metadata"]["resourceVersion"]
    assert not AuditEntry.objects.filter(namespace=namespace, name=NAME).exists()
