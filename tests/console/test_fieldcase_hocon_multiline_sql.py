"""Field case 02 (tests/fieldcases/02-hocon-multiline-sql): EMQX configuration text with a
triple-quoted SQL query (the ``~`` indentation marker, ``${username}``, quoted identifiers) and a
size (``2MB``) goes through every editor of the console byte for byte: shown verbatim, never judged
"not valid HOCON" (EMQX reads it: tests/emqx/test_hocon.py), never re-indented or escaped.
"""

from __future__ import annotations

import html as html_lib
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.support import CONFIG_DATA, CORE_REPLICAS, form_data, form_inputs

pytestmark = pytest.mark.django_db

CASE = Path(__file__).resolve().parents[1] / "fieldcases" / "02-hocon-multiline-sql" / "input.yaml"


def _stored(kubectl: Any, namespace: str, name: str = "authn-pg") -> dict[str, Any]:
    result = kubectl("-n", namespace, "get", "emqx.v2beta1.apps.emqx.io", name, "-o", "json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture
def applied(kubectl: Any, namespace: str, console_cluster: object) -> dict[str, Any]:
    result = kubectl("create", "-n", namespace, "-f", "-", input=CASE.read_text())
    assert result.returncode == 0, result.stderr
    return _stored(kubectl, namespace)


def _url(namespace: str, page: str = "change/") -> str:
    return f"/clusters/default/emqx/{namespace}/authn-pg/{page}"


def test_the_detail_page_shows_the_configuration_verbatim(admin: Client, applied: dict[str, Any]) -> None:
    page = html_lib.unescape(admin.get(_url(applied["metadata"]["namespace"], "")).content.decode())
    for line in applied["spec"]["config"]["data"].splitlines():
        assert line in page, line


def test_the_form_holds_the_text_byte_for_byte_and_an_unchanged_save_writes_nothing(
    admin: Client, kubectl: Any, applied: dict[str, Any]
) -> None:
    namespace = applied["metadata"]["namespace"]
    data = form_data(admin.get(_url(namespace)).content.decode(), "emqx-form")
    assert data[CONFIG_DATA] == applied["spec"]["config"]["data"]
    preview = admin.post(_url(namespace), {**data, "step": "preview"})
    assert preview.status_code == 200 and 'id="no-changes"' in preview.content.decode()
    assert _stored(kubectl, namespace)["metadata"]["resourceVersion"] == applied["metadata"]["resourceVersion"]


def test_scaling_through_the_form_keeps_the_configuration_byte_for_byte(
    admin: Client, kubectl: Any, applied: dict[str, Any]
) -> None:
    namespace = applied["metadata"]["namespace"]
    data = {**form_data(admin.get(_url(namespace)).content.decode(), "emqx-form"), CORE_REPLICAS: "2"}
    preview = admin.post(_url(namespace), {**data, "step": "preview"})
    saved = admin.post(_url(namespace), {**form_inputs(preview.content.decode(), "preview-form"), "step": "save"})
    assert saved.status_code == 302, html_lib.unescape(preview.content.decode())[-2000:]
    stored = _stored(kubectl, namespace)
    assert stored["spec"]["coreTemplate"]["spec"]["replicas"] == 2
    assert stored["spec"]["config"] == applied["spec"]["config"]


def test_an_unchanged_yaml_edit_changes_nothing(admin: Client, kubectl: Any, applied: dict[str, Any]) -> None:
    namespace = applied["metadata"]["namespace"]
    data = form_data(admin.get(_url(namespace), {"mode": "yaml"}).content.decode(), "emqx-form")
    preview = admin.post(_url(namespace), {**data, "step": "preview"})
    assert preview.status_code == 200 and 'id="no-changes"' in preview.content.decode()
    assert _stored(kubectl, namespace)["metadata"]["resourceVersion"] == applied["metadata"]["resourceVersion"]


def test_a_copy_with_the_same_configuration_is_accepted_by_the_add_form(
    admin: Client, kubectl: Any, applied: dict[str, Any]
) -> None:
    namespace = applied["metadata"]["namespace"]
    data = form_data(admin.get("/clusters/default/emqx/add/", {"namespace": namespace}).content.decode(), "emqx-form")
    data.update(
        {
            "metadata.name": "authn-pg-2",
            "metadata.namespace": namespace,
            "spec.image": "emqx/emqx:5.6.1",
            CONFIG_DATA: applied["spec"]["config"]["data"],
            "spec.config.mode": "Merge",
        }
    )
    response = admin.post("/clusters/default/emqx/add/", data)
    assert response.status_code == 302, html_lib.unescape(response.content.decode())[-2000:]
    assert _stored(kubectl, namespace, "authn-pg-2")["spec"]["config"] == applied["spec"]["config"]
