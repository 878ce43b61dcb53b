"""Field case 13 (tests/fieldcases/13-yaml-unquoted-timestamps): unquoted dates and timestamps in YAML
(``2030-03-25T13:37:11Z``, ``2024-01-01``) are stored as the strings kubectl stores, whether the YAML
is pasted into Edit as YAML, Add as YAML or a YAML field of the form; never a 500 ("Object of type
date is not JSON serializable"), a refusal ("Input should be a valid string") or a re-formatted value
(``2030-03-25 13:37:11+00:00``). The whole kind of fault: where the CRD says string, a plain YAML
scalar keeps the text written (``1.10``, ``yes``, ``010``), which kubectl would send as a number or a
boolean for the API server to refuse.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from console import clusters
from console.models import AuditEntry
from emqx.client.clientset import Clientset
from emqx.models import apps_v3beta1
from sandbox import Sandbox
from tests.support import form_data, form_inputs

pytestmark = pytest.mark.django_db

CASE = Path(__file__).resolve().parents[1] / "fieldcases" / "13-yaml-unquoted-timestamps" / "input.yaml"
TEXT = CASE.read_text()
STORED = {  # what kubectl stores for the case's input
    "annotations": {"example.org/cert-expiry": "2030-03-25T13:37:11Z", "example.org/release-date": "2024-01-01"},
    "env": [{"name": "BUILD_DATE", "value": "2024-06-30"}],
}


def _url(namespace: str, name: str = "dated", page: str = "change/") -> str:
    return f"/clusters/default/emqx/{namespace}/{name}/{page}"


def _textarea(page: str) -> str:
    match = re.search(r'<textarea name="yaml"[^>]*>\n?(.*?)</textarea>', page, re.S)
    assert match is not None, "no YAML editor on the page"
    return html_lib.unescape(match.group(1))


def _stored(kubectl: Any, namespace: str, name: str) -> dict[str, Any]:
    result = kubectl("-n", namespace, "get", "emqx.v2beta1.apps.emqx.io", name, "-o", "json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _dated(document: dict[str, Any]) -> dict[str, Any]:
    return {"annotations": document["metadata"]["annotations"], "env": document["spec"]["coreTemplate"]["spec"]["env"]}


@pytest.fixture
def applied(kubectl: Any, namespace: str, console_cluster: object) -> str:
    """The case's input created with kubectl (as ``kubectl apply``, without its last-applied
    annotation), which keeps the unquoted values as strings."""
    result = kubectl("create", "-n", namespace, "-f", "-", input=TEXT)
    assert result.returncode == 0, result.stderr
    assert _dated(_stored(kubectl, namespace, "dated")) == STORED
    return namespace


def test_the_console_shows_the_dates_as_quoted_strings(admin: Client, applied: str) -> None:
    for url in (_url(applied, page=""), _url(applied) + "?mode=yaml"):
        page = html_lib.unescape(admin.get(url).content.decode())
        assert "example.org/release-date: '2024-01-01'" in page
        assert "example.org/cert-expiry: '2030-03-25T13:37:11Z'" in page
        assert "value: '2024-06-30'" in page


def test_the_input_pasted_unquoted_into_edit_as_yaml_saves_the_same_strings(
    admin: Client, kubectl: Any, applied: str
) -> None:
    data = form_data(admin.get(_url(applied), {"mode": "yaml"}).content.decode(), "emqx-form")
    text = TEXT.replace("replicas: 1", "replicas: 2")  # the case's text as-is (no namespace), one change
    preview = admin.post(_url(applied), {**data, "yaml": text, "step": "preview"})
    page = preview.content.decode()
    assert preview.status_code == 200 and "<code>spec.coreTemplate.spec.replicas</code>" in page, page[-3000:]
    assert "metadata.annotations" not in page  # the dates are not changes
    saved = admin.post(_url(applied), {**form_inputs(page, "preview-form"), "step": "save"})
    assert saved.status_code == 302
    stored = _stored(kubectl, applied, "dated")
    assert _dated(stored) == STORED
    assert stored["spec"]["coreTemplate"]["spec"]["replicas"] == 2
    added = [line for line in AuditEntry.objects.get().diff.splitlines() if line.startswith("+")]
    assert added == ["+++ after", "+      replicas: 2"]  # only the replicas changed


def test_the_input_pasted_into_add_as_yaml_stores_what_kubectl_stores(
    admin: Client, kubectl: Any, applied: str
) -> None:
    text = TEXT.replace("name: dated", f"name: dated-2\n  namespace: {applied}")
    response = admin.post("/clusters/default/emqx/add/", {"mode": "yaml", "yaml": text})
    assert response.status_code == 302, html_lib.unescape(response.content.decode())[-3000:]
    assert _dated(_stored(kubectl, applied, "dated-2")) == _dated(_stored(kubectl, applied, "dated")) == STORED


def test_a_yaml_field_of_the_form_reads_dates_as_strings_as_kubectl_does(
    admin_client: Client, settings: Any, sandbox_30: Sandbox
) -> None:
    # Operator 3.0's spec.config.roots is a YAML field of the form, a free-form tree: there the
    # value is kubectl's (a date stays text; yes is a boolean, as yaml.v2 reads it).
    settings.CONSOLE_CLUSTERS = [{"name": "next", "kubeconfig": str(sandbox_30.kubeconfig)}]
    namespace = f"t-fc13-{secrets.token_hex(3)}"
    sandbox_30.create_namespace(namespace)
    with Clientset.from_kubeconfig(sandbox_30.kubeconfig) as cs:
        doc = {"metadata": {"name": "dated", "namespace": namespace}, "spec": {"image": "emqx/emqx:5.10.0"}}
        cs.apps_v3beta1.emqxes(namespace).create(apps_v3beta1.EMQX.from_dict(doc))
        url = f"/clusters/next/emqx/{namespace}/dated/change/"
        data = form_data(admin_client.get(url).content.decode(), "emqx-form")
        roots = "spec.config.roots"
        assert roots in data
        data[roots] = (
            "mqtt:\n  max_packet_size: 1MB\nexample:\n  since: 2024-01-01\n  at: 2030-03-25T13:37:11Z\n  on: yes\n"
        )
        preview = admin_client.post(url, {**data, "step": "preview"})
        page = preview.content.decode()
        assert preview.status_code == 200 and 'id="changes"' in page, html_lib.unescape(page)[-3000:]
        saved = admin_client.post(url, {**form_inputs(page, "preview-form"), "step": "save"})
        assert saved.status_code == 302
        stored = cs.apps_v3beta1.emqxes(namespace).get("dated").to_dict()["spec"]["config"]["roots"]
    clusters.reset()
    assert stored == {
        "mqtt": {"max_packet_size": "1MB"},
        "example": {"since": "2024-01-01", "at": "2030-03-25T13:37:11Z", "on": True},
    }


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("2024-01-01", "2024-01-01"),
        ("2030-03-25 13:37:11", "2030-03-25 13:37:11"),
        ("1:20", "1:20"),
        ("1.10", "1.10"),
        ("010", "010"),
        ("1e3", "1e3"),
        ("yes", "yes"),
        ("off", "off"),
        ("0x1F", "0x1F"),
    ],
)
def test_where_the_schema_says_string_a_plain_scalar_keeps_the_text_written(
    admin: Client, clientset: Clientset, namespace: str, console_cluster: object, written: str, stored: str
) -> None:
    label = written.replace(":", ".").replace(" ", ".")
    text = (
        TEXT.replace("name: dated", f"name: typed\n  namespace: {namespace}")
        .replace("value: 2024-06-30", f"value: {written}")
        .replace("tier: edge", f"version: {label}")
    )
    response = admin.post("/clusters/default/emqx/add/", {"mode": "yaml", "yaml": text})
    assert response.status_code == 302, html_lib.unescape(response.content.decode())[-2000:]
    obj = clientset.apps_v2beta1.emqxes(namespace).get("typed").to_dict()
    assert obj["spec"]["coreTemplate"]["spec"]["env"] == [{"name": "BUILD_DATE", "value": stored}]
    assert obj["metadata"]["labels"] == {"version": label}
    assert obj["spec"]["coreTemplate"]["spec"]["replicas"] == 1  # an integer where the schema says integer
