"""Deleting an EMQX: what goes away, the typed name for production, and stale pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from console.models import AuditEntry, RoleGrant
from emqx.client.clientset import Clientset
from emqx.errors import NotFound
from emqx.models.apps_v2beta1 import EMQX
from sandbox import Sandbox
from tests import factories
from tests.conftest import wait_until_allowed

pytestmark = pytest.mark.django_db


def _url(namespace: str, name: str = "broker") -> str:
    return f"/clusters/default/emqx/{namespace}/{name}/delete/"


def _make(clientset: Clientset, namespace: str, **kwargs: Any) -> EMQX:
    return clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("broker", namespace=namespace, **kwargs))


def _exists(clientset: Clientset, namespace: str) -> bool:
    try:
        clientset.apps_v2beta1.emqxes(namespace).get("broker")
    except NotFound:
        return False
    return True


def _confirmation(client: Client, namespace: str) -> dict[str, str]:
    """The hidden fields of the confirmation page, as the browser would post them."""
    html = client.get(_url(namespace)).content.decode()
    return dict(re.findall(r'<input type="hidden" name="(uid|generation)" value="([^"]*)"', html))


@pytest.fixture
def production(sandbox: Sandbox, namespace: str) -> str:
    name = f"{namespace[:55]}-prod"
    sandbox.create_namespace(name, labels={"environment": "production"})
    return name


def test_the_confirmation_says_what_goes_away(admin: Client, clientset: Clientset, namespace: str) -> None:
    _make(clientset, namespace)
    response = admin.get(_url(namespace))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Are you sure" in html and "StatefulSet" in html and "pods" in html and "Services" in html
    assert "emptyDir" in html  # no volumeClaimTemplates: nothing stays behind
    assert 'id="production-guard"' not in html


def test_with_volume_claim_templates_it_says_the_claims_stay(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    volume = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    _make(clientset, namespace, spec={"coreTemplate": {"spec": {"replicas": 1, "volumeClaimTemplates": volume}}})
    html = admin.get(_url(namespace)).content.decode()
    assert "PersistentVolumeClaims stay" in html


def test_it_deletes_and_goes_back_to_the_list(admin: Client, clientset: Clientset, namespace: str) -> None:
    _make(clientset, namespace)
    response = admin.post(_url(namespace), _confirmation(admin, namespace))
    assert response.status_code == 302
    assert response["Location"] == f"/clusters/default/emqx/?namespace={namespace}"
    assert not _exists(clientset, namespace)
    listing = admin.get(response["Location"]).content.decode()
    assert "was deleted" in listing and ">broker<" not in listing  # gone from the user's next page at once
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome, entry.name) == ("delete", "success", "broker")
    assert entry.before is not None and entry.before["metadata"]["name"] == "broker" and entry.after is None


def test_a_production_namespace_needs_the_name_typed(admin: Client, clientset: Clientset, production: str) -> None:
    _make(clientset, production)
    page = admin.get(_url(production)).content.decode()
    assert 'id="production-guard"' in page and "its namespace is labelled environment=production" in page
    hidden = _confirmation(admin, production)
    for typed in ("", "broke", "BROKER"):
        response = admin.post(_url(production), {**hidden, "confirm_name": typed})
        assert response.status_code == 200 and 'id="errors-confirm_name"' in response.content.decode()
        assert _exists(clientset, production)
    assert admin.post(_url(production), {**hidden, "confirm_name": "broker"}).status_code == 302
    assert not _exists(clientset, production)


def test_a_production_label_on_the_instance_needs_the_name_typed(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace, labels={"env": "production"})
    assert "it is labelled env=production" in admin.get(_url(namespace)).content.decode()
    assert admin.post(_url(namespace), _confirmation(admin, namespace)).status_code == 200
    assert _exists(clientset, namespace)


def test_a_namespace_whose_labels_cannot_be_read_needs_the_name_typed(
    admin_client: Client, clientset: Clientset, namespace: str, sandbox: Sandbox, settings: Any, kubectl: Any
) -> None:
    # The console's identity may manage EMQX in this namespace but not read namespaces.
    _make(clientset, namespace)
    rules = [{"apiGroups": ["apps.emqx.io"], "resources": ["emqxes"], "verbs": ["get", "list", "watch", "delete"]}]
    sandbox.request(
        "POST",
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles",
        {"metadata": {"name": "emqx-deleter"}, "rules": rules},
    )
    sandbox.request(
        "POST",
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings",
        {
            "metadata": {"name": "emqx-deleter"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "emqx-deleter"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "deleter"}],
        },
    )
    wait_until_allowed(kubectl, "delete", "emqxes.apps.emqx.io", user="deleter", namespace=namespace)
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.user_kubeconfig("deleter"))}]
    page = admin_client.get(_url(namespace)).content.decode()
    assert "the namespace&#x27;s labels could not be read" in page
    hidden = _confirmation(admin_client, namespace)
    assert admin_client.post(_url(namespace), hidden).status_code == 200
    assert _exists(clientset, namespace)
    assert admin_client.post(_url(namespace), {**hidden, "confirm_name": "broker"}).status_code == 302
    assert not _exists(clientset, namespace)


def test_a_stale_page_never_deletes_a_re_created_instance(admin: Client, clientset: Clientset, namespace: str) -> None:
    _make(clientset, namespace)
    stale = _confirmation(admin, namespace)
    clientset.apps_v2beta1.emqxes(namespace).delete("broker")
    recreated = _make(clientset, namespace)
    response = admin.post(_url(namespace), stale)
    assert response.status_code == 409
    assert "changed since you opened this page; nothing was deleted" in response.content.decode()
    assert clientset.apps_v2beta1.emqxes(namespace).get("broker").metadata.uid == recreated.metadata.uid


def test_a_spec_changed_since_the_page_was_shown_is_not_deleted(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    made = _make(clientset, namespace)
    stale = _confirmation(admin, namespace)
    made.spec.image = "emqx/emqx:5.8.7"  # type: ignore[union-attr]
    clientset.apps_v2beta1.emqxes(namespace).update(made)
    assert admin.post(_url(namespace), stale).status_code == 409
    assert _exists(clientset, namespace)


def test_the_operators_status_writes_do_not_block_a_delete(admin: Client, clientset: Clientset, namespace: str) -> None:
    _make(clientset, namespace)
    hidden = _confirmation(admin, namespace)
    client = clientset.apps_v2beta1.emqxes(namespace)
    doc = client.get("broker").to_dict()
    doc["status"] = {"coreNodesStatus": {"replicas": 1, "readyReplicas": 0}}
    client.update_status(EMQX.from_dict(doc))
    assert admin.post(_url(namespace), hidden).status_code == 302
    assert not _exists(clientset, namespace)


def test_an_instance_already_gone_is_a_clear_message_with_a_link(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace)
    hidden = _confirmation(admin, namespace)
    clientset.apps_v2beta1.emqxes(namespace).delete("broker")
    for response in (admin.get(_url(namespace)), admin.post(_url(namespace), hidden)):
        html = response.content.decode()
        assert response.status_code == 404
        assert "no longer exists" in html and f'href="/clusters/default/emqx/?namespace={namespace}"' in html


def test_a_cluster_that_is_down_is_an_error_not_a_500(
    admin: Client, clientset: Clientset, namespace: str, sandbox: Sandbox
) -> None:
    _make(clientset, namespace)
    hidden = _confirmation(admin, namespace)
    with sandbox.outage():
        response = admin.post(_url(namespace), hidden)
        assert response.status_code == 503
        assert "cannot be reached" in response.content.decode() and "Nothing was changed" in response.content.decode()
    assert _exists(clientset, namespace)
    assert AuditEntry.objects.count() == 0


def test_deleting_needs_the_delete_permission(
    client: Client, clientset: Clientset, namespace: str, console_cluster: object
) -> None:
    _make(clientset, namespace)
    operator = User.objects.create_user("operator", password="pw-operator-123456")
    RoleGrant.objects.create(user=operator, role="operator", namespace=namespace)
    client.force_login(operator)
    assert client.get(_url(namespace)).status_code == 403
    assert client.post(_url(namespace), {"uid": "x", "generation": "1"}).status_code == 403
    assert _exists(clientset, namespace)
    detail = client.get(f"/clusters/default/emqx/{namespace}/broker/").content.decode()
    assert "/delete/" not in detail and "/change/" in detail
    admin = User.objects.create_user("ns-admin", password="pw-admin-123456")
    RoleGrant.objects.create(user=admin, role="admin", namespace=namespace)
    client.force_login(admin)
    assert client.post(_url(namespace), _confirmation(client, namespace)).status_code == 302
    assert not _exists(clientset, namespace)
