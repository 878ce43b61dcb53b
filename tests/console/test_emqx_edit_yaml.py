"""Editing an EMQX as YAML: the whole spec (every field, known to the form or not), the same
preview and save as the form, and a conflict merged path by path when someone saved first."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client

from console.diffs import merge_docs
from console.models import AuditEntry
from emqx.client.clientset import Clientset
from emqx.models.apps_v2beta1 import EMQX
from sandbox import Sandbox
from tests import factories
from tests.support import CORE_REPLICAS, form_data, form_inputs

pytestmark = pytest.mark.django_db


def _url(namespace: str, name: str = "broker") -> str:
    return f"/clusters/default/emqx/{namespace}/{name}/change/"


def _textarea(page: str) -> str:
    match = re.search(r'<textarea name="yaml"[^>]*>\n?(.*?)</textarea>', page, re.S)
    assert match is not None, "no YAML editor on the page"
    return html_lib.unescape(match.group(1))


def _opened(client: Client, namespace: str, name: str = "broker") -> tuple[dict[str, str], dict[str, Any]]:
    """What the YAML editor would post back untouched, and its document parsed."""
    response = client.get(_url(namespace, name), {"mode": "yaml"})
    assert response.status_code == 200
    page = response.content.decode()
    text = _textarea(page)
    data = form_data(page, "emqx-form")
    assert data["base"] and data["resource_version"] and data["mode"] == "yaml" and data["yaml"] == text
    return data, yaml.safe_load(text)


def _dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False)


def _client(clientset: Clientset, namespace: str) -> Any:
    return clientset.apps_v2beta1.emqxes(namespace)


def _make(clientset: Clientset, namespace: str, **kwargs: Any) -> EMQX:
    return _client(clientset, namespace).create(factories.emqx("broker", namespace=namespace, **kwargs))


def _errors(page: str) -> str:
    match = re.search(r'<ul class="errorlist" id="errors-yaml">(.*?)</ul>', page, re.S)
    return html_lib.unescape(match.group(1)) if match else ""


# ----- the editor ------------------------------------------------------------------------------


def test_the_yaml_editor_shows_every_field_of_the_spec_and_no_status(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(
        clientset,
        namespace,
        core_replicas=3,
        labels={"team": "iot"},
        annotations={"owner": "team-iot"},
        spec={"imagePullPolicy": "IfNotPresent", "bootstrapAPIKeys": [{"key": "ci", "secret": "s3cret-key"}]},
    )
    client = _client(clientset, namespace)
    live = client.get("broker").to_dict()
    live["status"] = {"coreNodesStatus": {"replicas": 3, "readyReplicas": 3}}
    client.update_status(EMQX.from_dict(live))
    _, doc = _opened(admin, namespace)
    assert doc["metadata"] == {
        "name": "broker",
        "namespace": namespace,
        "labels": {"team": "iot"},
        "annotations": {"owner": "team-iot"},
    }
    assert doc["spec"]["imagePullPolicy"] == "IfNotPresent"  # a field the form does not show
    assert doc["spec"]["bootstrapAPIKeys"] == [{"key": "ci", "secret": "s3cret-key"}]
    assert doc["spec"]["coreTemplate"]["spec"]["replicas"] == 3
    assert "status" not in doc  # the operator's, not the user's
    page = admin.get(_url(namespace)).content.decode()
    assert 'id="edit-as-yaml"' in page  # the form links to the YAML editor


def test_a_yaml_edit_is_previewed_then_saved_and_audited_once(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(
        clientset, namespace, core_replicas=1, labels={"team": "iot", "old": "yes"}, spec={"imagePullPolicy": "Always"}
    )
    data, doc = _opened(admin, namespace)
    doc["spec"]["coreTemplate"]["spec"]["replicas"] = 3
    doc["metadata"]["annotations"] = {"ticket": "OPS-42"}
    del doc["metadata"]["labels"]["old"]
    preview = admin.post(_url(namespace), {**data, "yaml": _dump(doc), "step": "preview"})
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "<code>spec.coreTemplate.spec.replicas</code>" in page
    assert "<code>metadata.annotations.ticket</code>" in page
    assert "<code>metadata.labels.old</code>" in page
    assert "Back to the YAML" in page
    assert _client(clientset, namespace).get("broker").metadata.generation == 1  # the dry-run wrote nothing
    assert AuditEntry.objects.count() == 0

    saved = admin.post(_url(namespace), {**form_inputs(page, "preview-form"), "step": "save"})
    assert (
        saved.status_code == 302
        and saved["Location"].split("?saved=")[0] == f"/clusters/default/emqx/{namespace}/broker/"
    )
    obj = _client(clientset, namespace).get("broker")
    assert obj.spec.core_template.spec.replicas == 3
    assert obj.metadata.labels == {"team": "iot"}
    assert obj.metadata.annotations == {"ticket": "OPS-42"}
    assert obj.to_dict()["spec"]["imagePullPolicy"] == "Always"  # untouched fields stay
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome) == ("update", "success")
    assert "+    ticket: OPS-42" in entry.diff


def test_removing_a_section_in_yaml_removes_it_from_the_instance(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace, replicant_replicas=2, spec={"imagePullPolicy": "Always"})
    data, doc = _opened(admin, namespace)
    del doc["spec"]["replicantTemplate"]
    del doc["spec"]["imagePullPolicy"]
    preview = admin.post(_url(namespace), {**data, "yaml": _dump(doc), "step": "preview"}).content.decode()
    assert admin.post(_url(namespace), {**form_inputs(preview, "preview-form"), "step": "save"}).status_code == 302
    spec = _client(clientset, namespace).get("broker").to_dict()["spec"]
    assert "replicantTemplate" not in spec
    assert spec.get("imagePullPolicy") in (None, "IfNotPresent")  # gone, or the schema's default


def test_back_to_the_yaml_keeps_the_users_text(admin: Client, clientset: Clientset, namespace: str) -> None:
    _make(clientset, namespace)
    data, doc = _opened(admin, namespace)
    doc["spec"]["image"] = "emqx/emqx:5.8.7"
    text = "# my note\n" + _dump(doc)
    page = admin.post(_url(namespace), {**data, "yaml": text, "step": "edit"}).content.decode()
    assert _textarea(page) == text


def test_the_form_continues_in_yaml_with_the_users_changes(admin: Client, clientset: Clientset, namespace: str) -> None:
    _make(clientset, namespace, core_replicas=1)
    form = form_data(admin.get(_url(namespace)).content.decode(), "emqx-form")
    assert form["base"] and form["resource_version"]
    switched = admin.post(_url(namespace), {**form, CORE_REPLICAS: "3", "step": "to_yaml"}).content.decode()
    assert 'name="mode" value="yaml"' in switched
    doc = yaml.safe_load(_textarea(switched))
    assert doc["spec"]["coreTemplate"]["spec"]["replicas"] == 3
    assert _client(clientset, namespace).get("broker").metadata.generation == 1  # nothing sent yet
    data = {**form_inputs(switched, "emqx-form"), "yaml": _textarea(switched), "step": "save"}
    assert admin.post(_url(namespace), data).status_code == 302
    assert _client(clientset, namespace).get("broker").spec.core_template.spec.replicas == 3


# ----- what an edit may not do ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["metadata"].update(name="other"), "metadata.name: is 'broker' and cannot be changed"),
        (lambda d: d["metadata"].update(namespace="elsewhere"), "metadata.namespace: is "),
        (lambda d: d.update(status={"conditions": []}), "status: written by the operator"),
        (lambda d: d["metadata"].update(resourceVersion="1"), "metadata.resourceVersion: kept by the cluster"),
        (lambda d: d["spec"].update(image="not an image!"), "spec.image: 'not an image!' is not an image reference"),
        (
            lambda d: d["spec"]["coreTemplate"]["spec"].update(replicas=-1),
            "spec.coreTemplate.spec.replicas: Core replicas must be at least 1",
        ),
        (lambda d: d["spec"]["coreTemplate"]["spec"].update(replicas="three"), "spec.coreTemplate.spec.replicas"),
        (lambda d: d["spec"].update(config={"data": "a = {"}), "spec.config.data: not valid HOCON"),
        (lambda d: d["metadata"].update(labels={"<b>x</b>": "1"}), "Label key '<b>x</b>'"),
        (lambda d: d.update(kind="EmqxBroker"), "apiVersion must be apps.emqx.io/v2beta1 and kind EMQX"),
    ],
    ids=["rename", "move", "status", "stale-version", "image", "negative", "wrong-type", "hocon", "markup", "kind"],
)
def test_what_a_yaml_edit_may_not_do_is_an_error_on_the_yaml_and_writes_nothing(
    admin: Client, clientset: Clientset, namespace: str, change: Any, message: str
) -> None:
    _make(clientset, namespace, core_replicas=1)
    data, doc = _opened(admin, namespace)
    change(doc)
    response = admin.post(_url(namespace), {**data, "yaml": _dump(doc), "step": "save"})
    page = response.content.decode()
    assert response.status_code == 200
    assert message in _errors(page)
    assert "<b>x</b>" not in page  # markup is shown escaped, never rendered
    assert _client(clientset, namespace).get("broker").metadata.generation == 1
    assert AuditEntry.objects.count() == 0


def test_malformed_yaml_says_where(admin: Client, clientset: Clientset, namespace: str) -> None:
    _make(clientset, namespace)
    data, _ = _opened(admin, namespace)
    page = admin.post(_url(namespace), {**data, "yaml": "spec:\n  image: [unclosed\n", "step": "save"}).content.decode()
    assert "Not valid YAML at line" in _errors(page)


def test_server_fields_pasted_unchanged_from_kubectl_are_accepted(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    made = _make(clientset, namespace, core_replicas=1)
    data, doc = _opened(admin, namespace)
    doc["metadata"].update(uid=made.metadata.uid, resourceVersion=made.metadata.resource_version, generation=1)
    doc["spec"]["coreTemplate"]["spec"]["replicas"] = 3
    assert admin.post(_url(namespace), {**data, "yaml": _dump(doc), "step": "save"}).status_code == 302
    assert _client(clientset, namespace).get("broker").spec.core_template.spec.replicas == 3


def test_an_unknown_spec_field_is_refused_by_the_cluster_with_its_path(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace)
    data, doc = _opened(admin, namespace)
    doc["spec"]["replicaCount"] = 3
    page = admin.post(_url(namespace), {**data, "yaml": _dump(doc), "step": "preview"}).content.decode()
    assert "spec.replicaCount: unknown field" in _errors(page)
    assert _client(clientset, namespace).get("broker").metadata.generation == 1


def test_limits_judge_only_what_the_yaml_edit_changes(admin: Client, clientset: Clientset, namespace: str) -> None:
    _make(clientset, namespace, core_replicas=40)  # past the console's limit, set with kubectl
    data, doc = _opened(admin, namespace)
    doc["metadata"]["labels"] = {"team": "iot"}
    assert admin.post(_url(namespace), {**data, "yaml": _dump(doc), "step": "save"}).status_code == 302
    data, doc = _opened(admin, namespace)
    doc["spec"]["coreTemplate"]["spec"]["replicas"] = 50
    page = admin.post(_url(namespace), {**data, "yaml": _dump(doc), "step": "save"}).content.decode()
    assert "Core replicas must be at most 32" in _errors(page)
    assert _client(clientset, namespace).get("broker").spec.core_template.spec.replicas == 40


# ----- two people ------------------------------------------------------------------------------


@pytest.fixture
def bob(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)  # a second browser
    return client


def test_a_yaml_edit_after_someone_saved_shows_both_changes_and_re_applying_keeps_both(
    admin: Client, bob: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace, core_replicas=1, labels={"team": "iot"}, spec={"config": {"data": "a = 1\n"}})
    bob_data, bob_doc = _opened(bob, namespace)
    alice_data, alice_doc = _opened(admin, namespace)
    alice_doc["spec"]["image"] = "emqx/emqx:5.8.7"
    alice_doc["metadata"]["labels"]["region"] = "eu"
    assert admin.post(_url(namespace), {**alice_data, "yaml": _dump(alice_doc), "step": "save"}).status_code == 302

    bob_doc["spec"]["coreTemplate"]["spec"]["replicas"] = 3
    bob_doc["metadata"]["labels"]["owner"] = "bob"
    conflict = bob.post(_url(namespace), {**bob_data, "yaml": _dump(bob_doc), "step": "save"})
    page = conflict.content.decode()
    assert conflict.status_code == 409 and "Nothing was saved" in page
    theirs = page[page.index('id="their-change"') : page.index('id="your-change"')]
    yours = page[page.index('id="your-change"') :]
    assert "spec.image" in theirs and "metadata.labels.region" in theirs
    assert "spec.coreTemplate.spec.replicas" in yours and "metadata.labels.owner" in yours
    assert 'id="both-changed"' not in page
    live = _client(clientset, namespace).get("broker")
    assert live.spec.image == "emqx/emqx:5.8.7" and live.spec.core_template.spec.replicas == 1

    reapply = form_inputs(page, "reapply")
    assert reapply["mode"] == "yaml"
    merged = yaml.safe_load(reapply["yaml"])
    assert merged["spec"]["image"] == "emqx/emqx:5.8.7"  # theirs
    assert merged["spec"]["coreTemplate"]["spec"]["replicas"] == 3  # ours
    assert merged["metadata"]["labels"] == {"team": "iot", "region": "eu", "owner": "bob"}
    preview = bob.post(_url(namespace), {**reapply, "step": "preview"}).content.decode()
    assert "<code>spec.image</code>" not in preview  # theirs is the base now
    assert bob.post(_url(namespace), {**form_inputs(preview, "preview-form"), "step": "save"}).status_code == 302
    final = _client(clientset, namespace).get("broker")
    assert final.spec.image == "emqx/emqx:5.8.7"
    assert final.spec.core_template.spec.replicas == 3
    assert final.metadata.labels == {"team": "iot", "region": "eu", "owner": "bob"}
    assert final.spec.config.data == "a = 1\n"


def test_a_yaml_field_both_changed_is_named_and_nothing_is_decided_without_the_user(
    admin: Client, bob: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace, core_replicas=1)
    bob_data, bob_doc = _opened(bob, namespace)
    alice_data, alice_doc = _opened(admin, namespace)
    alice_doc["spec"]["coreTemplate"]["spec"]["replicas"] = 3
    admin.post(_url(namespace), {**alice_data, "yaml": _dump(alice_doc), "step": "save"})
    bob_doc["spec"]["coreTemplate"]["spec"]["replicas"] = 5
    page = bob.post(_url(namespace), {**bob_data, "yaml": _dump(bob_doc), "step": "preview"}).content.decode()
    assert "spec.coreTemplate.spec.replicas" in page[page.index('id="both-changed"') :]
    assert _client(clientset, namespace).get("broker").spec.core_template.spec.replicas == 3
    preview = bob.post(_url(namespace), {**form_inputs(page, "reapply"), "step": "preview"}).content.decode()
    assert '<span class="diff-del">-      replicas: 3</span>' in preview
    assert '<span class="diff-add">+      replicas: 5</span>' in preview


def test_the_operators_status_update_does_not_stop_a_yaml_save(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace)
    data, doc = _opened(admin, namespace)
    client = _client(clientset, namespace)
    live = client.get("broker").to_dict()
    live["status"] = {"coreNodesStatus": {"replicas": 1, "readyReplicas": 1}}
    client.update_status(EMQX.from_dict(live))
    doc["spec"]["image"] = "emqx/emqx:5.8.7"
    assert admin.post(_url(namespace), {**data, "yaml": _dump(doc), "step": "save"}).status_code == 302
    obj = client.get("broker")
    assert obj.spec.image == "emqx/emqx:5.8.7" and obj.status is not None


# ----- the merge itself --------------------------------------------------------------------------


def _doc(spec: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps.emqx.io/v2beta1",
        "kind": "EMQX",
        "metadata": {"name": "b", "labels": labels or {}},
        "spec": spec,
    }


def test_a_document_merge_keeps_both_sides_changes_at_any_depth() -> None:
    base = _doc({"image": "a", "coreTemplate": {"spec": {"replicas": 1}}, "config": {"data": "x"}}, {"t": "1"})
    ours = _doc(
        {"image": "b", "coreTemplate": {"spec": {"replicas": 1}}, "config": {"data": "x"}}, {"t": "1", "o": "1"}
    )
    theirs = _doc({"image": "a", "coreTemplate": {"spec": {"replicas": 3}}}, {"t": "2"})
    merge = merge_docs(base, ours, theirs)
    assert merge.doc["spec"] == {"image": "b", "coreTemplate": {"spec": {"replicas": 3}}}  # their removal stands
    assert merge.doc["metadata"]["labels"] == {"t": "2", "o": "1"}
    assert merge.conflicts == []
    assert merge.ours == ["metadata.labels.o", "spec.image"]
    assert merge.theirs == ["metadata.labels.t", "spec.config.data", "spec.coreTemplate.spec.replicas"]


def test_a_document_merge_names_what_both_changed_and_takes_the_users_value() -> None:
    base = _doc({"image": "a", "ports": [1]})
    merge = merge_docs(base, _doc({"image": "b", "ports": [1, 2]}), _doc({"image": "c", "ports": [1, 3]}))
    assert merge.conflicts == ["spec.image", "spec.ports"]
    assert merge.doc["spec"] == {"image": "b", "ports": [1, 2]}
    same = merge_docs(base, _doc({"image": "b", "ports": [1]}), _doc({"image": "b", "ports": [1]}))
    assert same.conflicts == []  # the same change on both sides is no conflict


def test_an_untouched_yaml_edit_changes_nothing_even_with_non_ascii_text(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    config = '# 日志级别\nlog.console.level = warning\nnode.cookie = "a\u2028b"\n'
    _make(clientset, namespace, annotations={"note": "café"}, spec={"config": {"data": config}})
    data, doc = _opened(admin, namespace)
    assert "日志级别" in data["yaml"] and "café" in data["yaml"]  # readable, not \\u-escaped
    assert doc["spec"]["config"]["data"] == config
    page = admin.post(_url(namespace), {**data, "step": "preview"}).content.decode()
    assert 'id="no-changes"' in page


def test_a_cluster_that_goes_down_keeps_the_yaml_the_user_wrote(
    admin: Client, clientset: Clientset, namespace: str, sandbox: Sandbox
) -> None:
    _make(clientset, namespace)
    data, doc = _opened(admin, namespace)
    doc["spec"]["image"] = "emqx/emqx:5.8.7"
    text = "# keep me\n" + _dump(doc)
    with sandbox.outage():
        response = admin.post(_url(namespace), {**data, "yaml": text, "step": "save"})
        page = response.content.decode()
        assert response.status_code == 200 and "is unreachable. Nothing was saved" in page
        assert _textarea(page) == text
    assert _client(clientset, namespace).get("broker").spec.image == factories.EMQX5_IMAGE
    assert admin.post(_url(namespace), {**data, "yaml": text, "step": "save"}).status_code == 302
    assert _client(clientset, namespace).get("broker").spec.image == "emqx/emqx:5.8.7"
