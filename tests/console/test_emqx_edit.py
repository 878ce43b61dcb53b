"""Editing an EMQX: pre-filled from the live object, a preview of the diff, then save."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from console.models import AuditEntry, RoleGrant
from emqx.client.clientset import Clientset
from emqx.models.apps_v2beta1 import EMQX
from sandbox import Sandbox
from tests import factories
from tests.support import (
    CONFIG_DATA,
    CORE_REPLICAS,
    CPU_LIMIT,
    DASHBOARD_SERVICE_TYPE,
    LABELS,
    NAME,
    NAMESPACE,
    REPLICANT_REPLICAS,
    form_data,
    form_inputs,
)

pytestmark = pytest.mark.django_db


def _url(namespace: str, name: str = "broker") -> str:
    return f"/clusters/default/emqx/{namespace}/{name}/change/"


def _opened(client: Client, namespace: str, name: str = "broker") -> dict[str, str]:
    """What the edit page's form would post back untouched: the hidden base and every value."""
    response = client.get(_url(namespace, name))
    assert response.status_code == 200
    data = form_data(response.content.decode(), "emqx-form")
    assert data["base"] and data["resource_version"]
    return data


def _make(clientset: Clientset, namespace: str, **kwargs: Any) -> EMQX:
    return clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("broker", namespace=namespace, **kwargs))


def _get(clientset: Clientset, namespace: str, name: str = "broker") -> EMQX:
    return clientset.apps_v2beta1.emqxes(namespace).get(name)


def test_the_form_is_prefilled_from_the_live_object(admin: Client, clientset: Clientset, namespace: str) -> None:
    made = _make(clientset, namespace, core_replicas=3, labels={"team": "iot"})
    # Straight after the write, before any watch event could reach the cache.
    html = admin.get(_url(namespace)).content.decode()
    assert f'name="{CORE_REPLICAS}" value="3"' in html
    assert "team=iot" in html
    assert f'name="resource_version" value="{made.metadata.resource_version}"' in html
    assert re.search(rf'<input [^>]*name="{NAME}"[^>]*disabled', html)  # the identity is not editable


def test_review_shows_the_diff_and_nothing_is_saved_until_save(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace, core_replicas=1)
    data = {**_opened(admin, namespace), CORE_REPLICAS: "3", "step": "preview"}
    response = admin.post(_url(namespace), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<code>spec.coreTemplate.spec.replicas</code>" in html
    assert '<span class="diff-del">-      replicas: 1</span>' in html
    assert '<span class="diff-add">+      replicas: 3</span>' in html
    assert _get(clientset, namespace).metadata.generation == 1  # the dry-run wrote nothing
    saved = admin.post(_url(namespace), {**data, "step": "save"})
    assert (
        saved.status_code == 302
        and saved["Location"].split("?saved=")[0] == f"/clusters/default/emqx/{namespace}/broker/"
    )
    obj = _get(clientset, namespace)
    assert obj.spec.core_template.spec.replicas == 3  # type: ignore[union-attr]
    detail = admin.get(saved["Location"]).content.decode()
    assert "was saved" in detail and "0/3" in detail  # the user sees their own write at once


def test_an_edit_keeps_every_field_the_form_does_not_know(admin: Client, clientset: Clientset, namespace: str) -> None:
    client = clientset.apps_v2beta1.emqxes(namespace)
    client.create(
        factories.emqx(
            "broker",
            namespace=namespace,
            labels={"team": "iot", "app.kubernetes.io/part-of": "fleet"},
            annotations={"owner": "alice", "ticket": "OPS-1"},
            spec={
                "imagePullPolicy": "IfNotPresent",
                "bootstrapAPIKeys": [{"key": "ci", "secret": "s3cret-key"}],
                "coreTemplate": {"spec": {"replicas": 1, "env": [{"name": "EMQX_LOG__LEVEL", "value": "debug"}]}},
                "replicantTemplate": {"spec": {"replicas": 2, "nodeSelector": {"disk": "ssd"}}},
            },
        )
    )
    status_doc = client.get("broker").to_dict()
    status_doc["status"] = {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "r",
                "message": "m",
                "lastTransitionTime": "2026-11-26T12:00:00Z",
            }
        ]
    }
    client.update_status(EMQX.from_dict(status_doc))
    before = client.get("broker").to_dict()
    data = {**_opened(admin, namespace), CORE_REPLICAS: "3", "step": "save"}
    assert admin.post(_url(namespace), data).status_code == 302
    after = client.get("broker").to_dict()
    assert after["spec"]["coreTemplate"]["spec"]["replicas"] == 3
    after["spec"]["coreTemplate"]["spec"]["replicas"] = 1
    assert after["spec"] == before["spec"]
    assert after["status"] == before["status"]
    assert after["metadata"]["labels"] == before["metadata"]["labels"]
    assert after["metadata"]["annotations"] == before["metadata"]["annotations"]


def test_the_review_carries_every_field_to_the_save_rows_of_a_table_included(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    env = [{"name": "EMQX_LOG__LEVEL", "value": "debug"}, {"name": "EMQX_NODE__COOKIE", "value": "c"}]
    _make(clientset, namespace, spec={"coreTemplate": {"spec": {"replicas": 1, "env": env}}})
    data = {**_opened(admin, namespace), CORE_REPLICAS: "3", "spec.coreTemplate.spec.env-1-value": "d"}
    preview = admin.post(_url(namespace), {**data, "step": "preview"}).content.decode()
    assert 'id="changes"' in preview
    saved = admin.post(_url(namespace), {**form_inputs(preview, "preview-form"), "step": "save"})
    assert saved.status_code == 302
    core = _get(clientset, namespace).to_dict()["spec"]["coreTemplate"]["spec"]
    assert core["replicas"] == 3 and core["env"] == [env[0], {**env[1], "value": "d"}]


def test_clearing_replicants_and_a_service_type_removes_them(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace, replicant_replicas=2, spec={"dashboardServiceTemplate": {"spec": {"type": "NodePort"}}})
    data = {**_opened(admin, namespace), REPLICANT_REPLICAS: "", DASHBOARD_SERVICE_TYPE: "", "step": "save"}
    assert admin.post(_url(namespace), data).status_code == 302
    spec = _get(clientset, namespace).to_dict()["spec"]
    assert "replicantTemplate" not in spec
    assert "type" not in (spec.get("dashboardServiceTemplate") or {}).get("spec", {})


def test_a_config_posted_back_with_browser_line_endings_is_no_change(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace, spec={"config": {"data": "log.console.level = info\nnode.max_ports = 1024\n"}})
    data = _opened(admin, namespace)
    data[CONFIG_DATA] = data[CONFIG_DATA].replace("\n", "\r\n")
    html = admin.post(_url(namespace), {**data, "step": "preview"}).content.decode()
    assert 'id="no-changes"' in html and 'value="save"' not in html


def test_what_the_object_already_holds_beyond_the_forms_limits_stays_editable(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    # Set with kubectl: more core nodes than the form allows, a big config, unbalanced braces.
    config = "a {\n" + "x = 1\n" * 50_000
    _make(clientset, namespace, core_replicas=40, spec={"config": {"data": config}, "image": "Registry/EMQX"})
    data = _opened(admin, namespace)
    data[CONFIG_DATA] = data[CONFIG_DATA].replace("\n", "\r\n")  # as a browser posts it back
    assert admin.post(_url(namespace), {**data, LABELS: "team=iot", "step": "save"}).status_code == 302
    obj = _get(clientset, namespace)
    assert obj.metadata.labels == {"team": "iot"} and obj.spec.config.data == config  # type: ignore[union-attr]
    refused = admin.post(_url(namespace), {**_opened(admin, namespace), CORE_REPLICAS: "41", "step": "save"})
    assert f'id="errors-{CORE_REPLICAS}"' in refused.content.decode()  # but not a step further


def test_back_to_the_form_keeps_the_users_changes(admin: Client, clientset: Clientset, namespace: str) -> None:
    _make(clientset, namespace)
    data = {**_opened(admin, namespace), CORE_REPLICAS: "5", LABELS: "team=edge", "step": "edit"}
    html = admin.post(_url(namespace), data).content.decode()
    assert f'name="{CORE_REPLICAS}" value="5"' in html and "team=edge" in html


@pytest.mark.parametrize(
    ("field", "value"),
    [(CORE_REPLICAS, "1000000000"), (CORE_REPLICAS, "-2"), (LABELS, "<b>bad</b>=1"), (CPU_LIMIT, "much")],
)
def test_invalid_input_is_a_field_error_and_writes_nothing(
    admin: Client, clientset: Clientset, namespace: str, field: str, value: str
) -> None:
    _make(clientset, namespace)
    for step in ("preview", "save"):
        response = admin.post(_url(namespace), {**_opened(admin, namespace), field: value, "step": step})
        assert response.status_code == 200
        assert f'id="errors-{field}"' in response.content.decode()
        assert "<b>bad</b>" not in response.content.decode()
    assert _get(clientset, namespace).metadata.generation == 1


def test_name_and_namespace_cannot_be_changed_by_posting_them(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace)
    data = {
        **_opened(admin, namespace),
        NAME: "other",
        NAMESPACE: "kube-system",
        CORE_REPLICAS: "2",
        "step": "save",
    }
    assert admin.post(_url(namespace), data).status_code == 302
    assert _get(clientset, namespace).spec.core_template.spec.replicas == 2  # type: ignore[union-attr]
    assert clientset.apps_v2beta1.emqxes(namespace).list().items[0].metadata.name == "broker"


def test_an_altered_starting_point_is_refused(admin: Client, clientset: Clientset, namespace: str) -> None:
    _make(clientset, namespace)
    data = _opened(admin, namespace)
    for tampered in ({"base": data["base"][:-3] + "abc"}, {"resource_version": "1"}, {"base": ""}):
        response = admin.post(_url(namespace), {**data, **tampered, CORE_REPLICAS: "3", "step": "save"})
        assert response.status_code == 400
        assert "Open the edit page again" in response.content.decode()
    assert _get(clientset, namespace).metadata.generation == 1


def test_the_base_of_another_instance_is_refused(admin: Client, clientset: Clientset, namespace: str) -> None:
    _make(clientset, namespace)
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("other", namespace=namespace))
    data = {**_opened(admin, namespace, "other"), CORE_REPLICAS: "3", "step": "save"}
    assert admin.post(_url(namespace), data).status_code == 400
    assert _get(clientset, namespace).metadata.generation == 1


def test_a_missing_instance_is_a_404_with_a_link_to_the_list(admin: Client, namespace: str) -> None:
    response = admin.get(_url(namespace, "nothing"))
    assert response.status_code == 404
    html = response.content.decode()
    assert "no longer exists" in html and f'href="/clusters/default/emqx/?namespace={namespace}"' in html


def test_an_instance_deleted_while_editing_is_a_clear_message(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace)
    data = _opened(admin, namespace)
    clientset.apps_v2beta1.emqxes(namespace).delete("broker")
    for step in ("preview", "save"):
        response = admin.post(_url(namespace), {**data, CORE_REPLICAS: "3", "step": step})
        assert response.status_code == 404
        assert "no longer exists" in response.content.decode()


def test_a_cluster_that_goes_down_keeps_the_input(
    admin: Client, clientset: Clientset, namespace: str, sandbox: Sandbox
) -> None:
    _make(clientset, namespace)
    data = {**_opened(admin, namespace), CORE_REPLICAS: "4", LABELS: "kept=yes", "step": "save"}
    with sandbox.outage():
        response = admin.post(_url(namespace), data)
        html = response.content.decode()
        assert response.status_code == 200
        assert "is unreachable. Nothing was saved" in html
        assert f'name="{CORE_REPLICAS}" value="4"' in html and "kept=yes" in html
        opened = admin.get(_url(namespace))
        assert opened.status_code == 503 and "cannot be reached" in opened.content.decode()
    assert _get(clientset, namespace).metadata.generation == 1
    assert admin.post(_url(namespace), data).status_code == 302  # the same input, once it answers


def test_a_status_update_by_the_operator_does_not_stop_a_save(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace)
    data = _opened(admin, namespace)
    client = clientset.apps_v2beta1.emqxes(namespace)
    doc = client.get("broker").to_dict()
    doc["status"] = {"coreNodesStatus": {"replicas": 1, "readyReplicas": 1}}
    client.update_status(EMQX.from_dict(doc))  # a new resourceVersion, same spec
    assert admin.post(_url(namespace), {**data, CORE_REPLICAS: "3", "step": "save"}).status_code == 302
    obj = client.get("broker")
    assert obj.spec.core_template.spec.replicas == 3  # type: ignore[union-attr]
    assert obj.status is not None and obj.status.core_nodes_status is not None


def test_a_save_is_audited_once_with_before_and_after(admin: Client, clientset: Clientset, namespace: str) -> None:
    _make(clientset, namespace)
    data = {**_opened(admin, namespace), CORE_REPLICAS: "3"}
    admin.post(_url(namespace), {**data, "step": "preview"})
    admin.post(_url(namespace), {**data, CORE_REPLICAS: "0", "step": "save"})  # rejected input
    assert AuditEntry.objects.count() == 0
    admin.post(_url(namespace), {**data, "step": "save"})
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome, entry.namespace, entry.name) == ("update", "success", namespace, "broker")
    assert "-      replicas: 1" in entry.diff and "+      replicas: 3" in entry.diff


def test_editing_needs_the_update_permission(
    client: Client, clientset: Clientset, namespace: str, console_cluster: object
) -> None:
    _make(clientset, namespace)
    viewer = User.objects.create_user("viewer", password="pw-viewer-123456")
    RoleGrant.objects.create(user=viewer, role="viewer", namespace=namespace)
    client.force_login(viewer)
    assert client.get(_url(namespace)).status_code == 403
    assert client.post(_url(namespace), {CORE_REPLICAS: "3", "step": "save"}).status_code == 403
    assert client.get(f"/clusters/default/emqx/{namespace}/broker/").content.decode().count("/change/") == 0
    operator = User.objects.create_user("operator", password="pw-operator-123456")
    RoleGrant.objects.create(user=operator, role="operator", namespace=namespace)
    client.force_login(operator)
    assert (
        f'href="/clusters/default/emqx/{namespace}/broker/change/"'
        in client.get(f"/clusters/default/emqx/{namespace}/broker/").content.decode()
    )
    assert (
        client.post(_url(namespace), {**_opened(client, namespace), CORE_REPLICAS: "3", "step": "save"}).status_code
        == 302
    )
