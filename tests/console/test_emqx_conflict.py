"""Two people edit the same EMQX: the second sees both changes, nothing is lost or overwritten
silently, and re-applying merges field by field (labels key by key)."""

from __future__ import annotations

import pytest
from django.test import Client

from console.diffs import changes, merge3, unified
from console.models import AuditEntry
from emqx.client.clientset import Clientset
from emqx.models.apps_v2beta1 import EMQX
from tests import factories
from tests.support import CONFIG_DATA, CORE_REPLICAS, IMAGE, LABELS, form_data, form_inputs

pytestmark = pytest.mark.django_db


def _url(namespace: str) -> str:
    return f"/clusters/default/emqx/{namespace}/broker/change/"


def _opened(client: Client, namespace: str) -> dict[str, str]:
    """What the edit page's form would post back untouched: the hidden base and every value."""
    data = form_data(client.get(_url(namespace)).content.decode(), "emqx-form")
    assert data["base"] and data["resource_version"]
    return data


@pytest.fixture
def broker(clientset: Clientset, namespace: str) -> EMQX:
    return clientset.apps_v2beta1.emqxes(namespace).create(
        factories.emqx("broker", namespace=namespace, core_replicas=1, labels={"team": "iot"})
    )


def test_two_users_edit_the_same_instance_and_re_applying_keeps_both_changes(
    admin: Client, client: Client, admin_user: object, clientset: Clientset, namespace: str, broker: EMQX
) -> None:
    client.force_login(admin_user)  # a second browser: bob
    alice, bob = _opened(admin, namespace), _opened(client, namespace)
    assert admin.post(_url(namespace), {**alice, CORE_REPLICAS: "3", "step": "save"}).status_code == 302
    bob_edit = {**bob, LABELS: "team=iot\nowner=bob", CONFIG_DATA: "log.console.level = debug\n"}
    conflict = client.post(_url(namespace), {**bob_edit, "step": "save"})
    html = conflict.content.decode()
    assert conflict.status_code == 409
    assert "Nothing was saved" in html
    their = html[html.index('id="their-change"') : html.index('id="your-change"')]
    yours = html[html.index('id="your-change"') :]
    assert '<span class="diff-add">+      replicas: 3</span>' in their
    assert "owner: bob" in yours and "log.console.level = debug" in yours
    assert 'id="both-changed"' not in html
    live = clientset.apps_v2beta1.emqxes(namespace).get("broker")
    assert live.spec.core_template.spec.replicas == 3 and live.metadata.labels == {"team": "iot"}  # type: ignore[union-attr]

    reapply = form_inputs(html, "reapply")
    assert reapply[CORE_REPLICAS] == "3" and "owner=bob" in reapply[LABELS]
    preview = client.post(_url(namespace), {**reapply, "step": "preview"})
    assert preview.status_code == 200 and "Review changes" in preview.content.decode()
    assert "<code>spec.coreTemplate.spec.replicas</code>" not in preview.content.decode()  # theirs is the base now
    saved = client.post(_url(namespace), {**form_inputs(preview.content.decode(), "preview-form"), "step": "save"})
    assert saved.status_code == 302
    final = clientset.apps_v2beta1.emqxes(namespace).get("broker")
    assert final.spec.core_template.spec.replicas == 3  # type: ignore[union-attr]
    assert final.metadata.labels == {"team": "iot", "owner": "bob"}
    assert final.spec.config is not None and final.spec.config.data == "log.console.level = debug\n"  # type: ignore[union-attr]


def test_a_field_both_changed_is_named_and_only_an_explicit_re_apply_decides(
    admin: Client, client: Client, admin_user: object, clientset: Clientset, namespace: str, broker: EMQX
) -> None:
    client.force_login(admin_user)
    alice, bob = _opened(admin, namespace), _opened(client, namespace)
    admin.post(_url(namespace), {**alice, CORE_REPLICAS: "3", "step": "save"})
    html = client.post(_url(namespace), {**bob, CORE_REPLICAS: "5", "step": "preview"}).content.decode()
    both = html[html.index('id="both-changed"') :]
    assert "Core replicas" in both
    assert f'href="/clusters/default/emqx/{namespace}/broker/"' in html  # discard: back to the instance
    assert clientset.apps_v2beta1.emqxes(namespace).get("broker").spec.core_template.spec.replicas == 3  # type: ignore[union-attr]
    preview = client.post(_url(namespace), {**form_inputs(html, "reapply"), "step": "preview"}).content.decode()
    assert '<span class="diff-del">-      replicas: 3</span>' in preview
    assert '<span class="diff-add">+      replicas: 5</span>' in preview
    client.post(_url(namespace), {**form_inputs(preview, "preview-form"), "step": "save"})
    assert clientset.apps_v2beta1.emqxes(namespace).get("broker").spec.core_template.spec.replicas == 5  # type: ignore[union-attr]


def test_labels_merge_key_by_key(
    admin: Client, client: Client, admin_user: object, clientset: Clientset, namespace: str, broker: EMQX
) -> None:
    client.force_login(admin_user)
    alice, bob = _opened(admin, namespace), _opened(client, namespace)
    admin.post(_url(namespace), {**alice, LABELS: "team=edge\nregion=eu", "step": "save"})
    html = client.post(_url(namespace), {**bob, LABELS: "tier=gold", "step": "save"}).content.decode()  # bob drops team
    labels = form_inputs(html, "reapply")[LABELS]
    assert sorted(labels.split("\n")) == ["region=eu", "tier=gold"]
    assert "Labels: team" in html[html.index('id="both-changed"') :]  # alice changed team, bob dropped it


def test_labels_both_added_to_an_instance_without_any_merge_key_by_key(
    admin: Client, client: Client, admin_user: object, clientset: Clientset, namespace: str
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("broker", namespace=namespace))
    client.force_login(admin_user)
    alice, bob = _opened(admin, namespace), _opened(client, namespace)
    admin.post(_url(namespace), {**alice, LABELS: "team=edge", "step": "save"})
    html = client.post(_url(namespace), {**bob, LABELS: "owner=bob", "step": "save"}).content.decode()
    assert sorted(form_inputs(html, "reapply")[LABELS].split("\n")) == ["owner=bob", "team=edge"]
    assert 'id="both-changed"' not in html


def test_a_stale_save_is_never_written_and_the_dry_run_is_not_audited(
    admin: Client, clientset: Clientset, namespace: str, broker: EMQX
) -> None:
    stale = _opened(admin, namespace)
    live = clientset.apps_v2beta1.emqxes(namespace).get("broker")
    live.metadata.labels = {"team": "edge"}
    clientset.apps_v2beta1.emqxes(namespace).update(live)
    response = admin.post(_url(namespace), {**stale, CORE_REPLICAS: "2", "step": "save"})
    assert response.status_code == 409
    assert clientset.apps_v2beta1.emqxes(namespace).get("broker").spec.core_template.spec.replicas == 1  # type: ignore[union-attr]
    assert AuditEntry.objects.count() == 0


# ----- the merge itself ----------------------------------------------------------------------------

FIELDS = (CORE_REPLICAS, IMAGE, LABELS)
BASE = {CORE_REPLICAS: 1, IMAGE: "emqx/emqx:5.8.6", LABELS: {"team": "iot"}}


def test_merge_lays_ours_onto_theirs() -> None:
    ours = {**BASE, IMAGE: "emqx/emqx:5.8.7"}
    theirs = {**BASE, CORE_REPLICAS: 3}
    merge = merge3(BASE, ours, theirs, FIELDS)
    assert merge.values == {CORE_REPLICAS: 3, IMAGE: "emqx/emqx:5.8.7", LABELS: {"team": "iot"}}
    assert (merge.ours, merge.theirs, merge.conflicts) == ([IMAGE], [CORE_REPLICAS], [])


def test_merge_reports_a_field_both_changed_and_keeps_ours() -> None:
    merge = merge3(BASE, {**BASE, CORE_REPLICAS: 5}, {**BASE, CORE_REPLICAS: 3}, FIELDS)
    assert merge.values[CORE_REPLICAS] == 5 and merge.conflicts == [CORE_REPLICAS]


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    assert merge3(BASE, {**BASE, CORE_REPLICAS: 3}, {**BASE, CORE_REPLICAS: 3}, FIELDS).conflicts == []


def test_merge_of_labels_adds_removes_and_reports_per_key() -> None:
    ours = {**BASE, LABELS: {"owner": "bob", "tier": "gold"}}  # removes team, adds two
    theirs = {**BASE, LABELS: {"team": "edge", "tier": "silver", "region": "eu"}}
    merge = merge3(BASE, ours, theirs, FIELDS)
    assert merge.values[LABELS] == {"owner": "bob", "tier": "gold", "region": "eu"}
    assert merge.conflicts == [f"{LABELS}[team]", f"{LABELS}[tier]"]


def test_diffs_leave_out_status_and_server_bookkeeping() -> None:
    before = {"metadata": {"name": "a", "resourceVersion": "1", "managedFields": [{}]}, "spec": {"image": "x"}}
    after = {"metadata": {"name": "a", "resourceVersion": "9"}, "spec": {"image": "y"}, "status": {"phase": "Ready"}}
    assert [c.path for c in changes(before, after)] == ["spec.image"]
    assert [line.kind for line in unified(before, after) if line.kind in ("add", "del")] == ["del", "add"]
    assert unified(before, before) == []
