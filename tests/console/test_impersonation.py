"""Impersonation mode: the console acts as the logged-in person, so the cluster's own RBAC
applies on top of the console's roles; the console's own identity may only impersonate
(and read, to fill its shared cache)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from console import clusters, impersonation
from console.models import RoleGrant
from emqx.client.clientset import Clientset
from sandbox import Sandbox
from tests import factories
from tests.conftest import KubectlRunner, wait_until_allowed
from tests.support import eventually

pytestmark = pytest.mark.django_db

CONSOLE_IDENTITY_RBAC = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: emqx-console}
rules:
- apiGroups: [""]
  resources: [users, groups]
  verbs: [impersonate]
- apiGroups: [apps.emqx.io]
  resources: ["*"]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: emqx-console}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: emqx-console}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: emqx-console}
"""


@pytest.fixture
def impersonating_console(settings: object, sandbox: Sandbox, kubectl: KubectlRunner) -> Iterator[None]:
    applied = kubectl("apply", "-f", "-", input=CONSOLE_IDENTITY_RBAC)
    assert applied.returncode == 0, applied.stderr
    wait_until_allowed(kubectl, "impersonate", "users", user="emqx-console")
    wait_until_allowed(kubectl, "list", "emqxes.apps.emqx.io", user="emqx-console")
    settings.CONSOLE_CLUSTERS = [  # type: ignore[attr-defined]
        {"name": "default", "kubeconfig": str(sandbox.user_kubeconfig("emqx-console"))}
    ]
    settings.CONSOLE_IMPERSONATE = True  # type: ignore[attr-defined]
    yield
    impersonation.forget()
    clusters.reset()


@pytest.fixture
def rita(client: Client, namespace: str, kubectl: KubectlRunner) -> Client:
    """A console Admin in the namespace whose Kubernetes identity may only read there."""
    user = User.objects.create_user("rita", password="pw-rita-123456")
    RoleGrant.objects.create(user=user, role="admin", namespace=namespace)
    kubectl("-n", namespace, "create", "role", "reader", "--verb=get,list,watch", "--resource=emqxes.apps.emqx.io")
    kubectl("-n", namespace, "create", "rolebinding", "rita-reads", "--role=reader", "--user=rita")
    wait_until_allowed(kubectl, "list", "emqxes.apps.emqx.io", user="rita", namespace=namespace)
    client.force_login(user)
    return client


def test_pages_say_which_kubernetes_identity_is_used(impersonating_console: None, rita: Client, namespace: str) -> None:
    html = rita.get(f"/clusters/default/emqx/?namespace={namespace}").content.decode()
    assert "as Kubernetes user rita" in html


def test_a_user_the_cluster_lets_read_sees_the_instance(
    impersonating_console: None, rita: Client, namespace: str, sandbox: Sandbox
) -> None:
    Clientset.from_kubeconfig(sandbox.kubeconfig).apps_v2beta1.emqxes(namespace).create(
        factories.emqx("readable", namespace=namespace)
    )
    eventually(lambda: rita.get(f"/clusters/default/emqx/{namespace}/readable/").status_code == 200)


def test_a_user_the_cluster_does_not_let_read_is_told_so(
    impersonating_console: None, client: Client, namespace: str, sandbox: Sandbox
) -> None:
    Clientset.from_kubeconfig(sandbox.kubeconfig).apps_v2beta1.emqxes(namespace).create(
        factories.emqx("secret-broker", namespace=namespace)
    )
    user = User.objects.create_user("nora", password="pw-nora-123456")
    RoleGrant.objects.create(user=user, role="viewer", namespace=namespace)  # the console would allow it
    client.force_login(user)
    response = client.get(f"/clusters/default/emqx/{namespace}/secret-broker/")
    assert response.status_code == 403
    assert "RBAC does not let Kubernetes user nora read EMQX objects" in response.content.decode()
    assert "secret-broker" not in client.get("/clusters/default/emqx/").content.decode()


def test_cluster_rbac_bound_to_a_django_group_counts(
    impersonating_console: None, client: Client, namespace: str, sandbox: Sandbox, kubectl: KubectlRunner
) -> None:
    Clientset.from_kubeconfig(sandbox.kubeconfig).apps_v2beta1.emqxes(namespace).create(
        factories.emqx("team-owned", namespace=namespace)
    )
    kubectl("-n", namespace, "create", "role", "reader", "--verb=get,list", "--resource=emqxes.apps.emqx.io")
    kubectl("-n", namespace, "create", "rolebinding", "sre-reads", "--role=reader", "--group=sre")
    wait_until_allowed(kubectl, "list", "emqxes.apps.emqx.io", user="otto", groups=("sre",), namespace=namespace)
    user = User.objects.create_user("otto", password="pw-otto-123456")
    user.groups.add(Group.objects.create(name="sre"))
    RoleGrant.objects.create(user=user, role="viewer", namespace=namespace)
    client.force_login(user)
    eventually(lambda: client.get(f"/clusters/default/emqx/{namespace}/team-owned/").status_code == 200)


def test_a_reader_in_the_cluster_cannot_delete_though_the_console_would_allow_it(
    impersonating_console: None, rita: Client, namespace: str, sandbox: Sandbox
) -> None:
    import re

    from console.models import AuditEntry

    admin = Clientset.from_kubeconfig(sandbox.kubeconfig).apps_v2beta1.emqxes(namespace)
    admin.create(factories.emqx("keeper", namespace=namespace))
    url = f"/clusters/default/emqx/{namespace}/keeper/delete/"
    eventually(lambda: rita.get(url).status_code == 200)  # the console role (Admin) offers it
    page = rita.get(url).content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="(uid|generation)" value="([^"]*)"', page))
    # The console's identity may not read namespaces here, so the name must be typed too.
    response = rita.post(url, {**hidden, "confirm_name": "keeper"})
    html = response.content.decode()
    assert "Cluster default does not allow Kubernetes user rita to delete it" in html
    assert "User &quot;rita&quot; cannot delete resource &quot;emqxes&quot;" in html
    assert admin.get("keeper").metadata.name == "keeper"  # still there
    entry = AuditEntry.objects.get(action="delete", name="keeper")
    assert entry.outcome == "failure" and entry.username == "rita"
