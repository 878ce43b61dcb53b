"""Impersonation mode: the console acts as the logged-in person, so the cluster's own RBAC
applies on top of the console's roles; the console's own identity may only impersonate
(and read, to fill its shared cache). Every identity is prefixed into the console's own
namespace (``console:`` by default), and a name that cannot be sent faithfully, or that would
fall into Kubernetes' ``system:`` names, is refused with a page saying which and why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
REPO = Path(__file__).resolve().parents[2]
ASCII = "and names sent to Kubernetes in an HTTP header must be printable ASCII"

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
    kubectl("-n", namespace, "create", "rolebinding", "rita-reads", "--role=reader", "--user=console:rita")
    wait_until_allowed(kubectl, "list", "emqxes.apps.emqx.io", user="console:rita", namespace=namespace)
    client.force_login(user)
    return client


def test_pages_say_which_kubernetes_identity_is_used(impersonating_console: None, rita: Client, namespace: str) -> None:
    html = rita.get(f"/clusters/default/emqx/?namespace={namespace}").content.decode()
    assert "as Kubernetes user console:rita" in html  # the default prefix, console:


def test_the_prefixes_are_settings(impersonating_console: None, rita: Client, namespace: str, settings: Any) -> None:
    Group.objects.create(name="sre").user_set.add(User.objects.get(username="rita"))
    settings.CONSOLE_IMPERSONATE_USER_PREFIX, settings.CONSOLE_IMPERSONATE_GROUP_PREFIX = "corp:", "corp-team:"
    html = rita.get(f"/clusters/default/emqx/?namespace={namespace}").content.decode()
    assert "as Kubernetes user corp:rita (groups corp-team:sre)" in html


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
    assert "RBAC does not let Kubernetes user console:nora read EMQX objects" in response.content.decode()
    assert "secret-broker" not in client.get("/clusters/default/emqx/").content.decode()


def test_cluster_rbac_bound_to_a_django_group_counts(
    impersonating_console: None, client: Client, namespace: str, sandbox: Sandbox, kubectl: KubectlRunner
) -> None:
    Clientset.from_kubeconfig(sandbox.kubeconfig).apps_v2beta1.emqxes(namespace).create(
        factories.emqx("team-owned", namespace=namespace)
    )
    kubectl("-n", namespace, "create", "role", "reader", "--verb=get,list", "--resource=emqxes.apps.emqx.io")
    kubectl("-n", namespace, "create", "rolebinding", "sre-reads", "--role=reader", "--group=console:sre")
    wait_until_allowed(
        kubectl, "list", "emqxes.apps.emqx.io", user="console:otto", groups=("console:sre",), namespace=namespace
    )
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
    assert "Cluster default does not allow Kubernetes user console:rita to delete it" in html
    assert "User &quot;console:rita&quot; cannot delete resource &quot;emqxes&quot;" in html
    assert admin.get("keeper").metadata.name == "keeper"  # still there
    entry = AuditEntry.objects.get(action="delete", name="keeper")
    assert entry.outcome == "failure" and entry.username == "rita"


# ----- names the console refuses to send ----------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "group", "refused", "why"),
    [
        ("łukasz", None, "username “console:łukasz”", f"contains “ł” (U+0142), {ASCII}"),  # not even Latin-1
        ("josé", None, "username “console:josé”", f"contains “é” (U+00E9), {ASCII}"),  # Latin-1: sent garbled
        ("otto", "ops\u2013team", "group “console:ops\u2013team”", f"contains “\u2013” (U+2013), {ASCII}"),
        ("otto", "ops\tteam", "group “console:ops\tteam”", f"contains a control character (U+0009), {ASCII}"),
        ("otto", "sre ", "group “console:sre ”", "it begins or ends with a space, which HTTP drops"),
    ],
    ids=["non-latin-1-username", "latin-1-username", "non-latin-1-group", "control-character", "trailing-space"],
)
def test_a_name_that_cannot_be_sent_gets_a_page_saying_which_and_why(
    impersonating_console: None,
    client: Client,
    namespace: str,
    sandbox: Sandbox,
    username: str,
    group: str | None,
    refused: str,
    why: str,
) -> None:
    Clientset.from_kubeconfig(sandbox.kubeconfig).apps_v2beta1.emqxes(namespace).create(
        factories.emqx("named", namespace=namespace)
    )
    user = User.objects.create_user(username, password="pw-12345-abcde")
    if group is not None:
        user.groups.add(Group.objects.create(name=group))
    RoleGrant.objects.create(user=user, role="admin", namespace=namespace)
    client.force_login(user)
    for url in (f"/clusters/default/emqx/?namespace={namespace}", f"/clusters/default/emqx/{namespace}/named/"):
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 403, url
        assert f"your {refused} cannot be sent as a Kubernetes identity" in html
        assert why in html
        assert "(as no Kubernetes identity: a name cannot be sent)" in html


def test_a_latin_1_name_would_reach_the_cluster_garbled(sandbox: Sandbox) -> None:
    """Why the rule is printable ASCII and not Latin-1: the header carries é as one byte, which the
    API server (reading UTF-8) turns into U+FFFD, so RBAC would see another name."""
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        answer = cs.transport.impersonating("console:josé").request(
            "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body=review
        )
    assert json.loads(answer)["status"]["userInfo"]["username"] == "console:jos\ufffd"


def test_a_group_mapping_into_system_names_is_never_sent(
    impersonating_console: None, client: Client, namespace: str, sandbox: Sandbox, settings: Any
) -> None:
    Clientset.from_kubeconfig(sandbox.kubeconfig).apps_v2beta1.emqxes(namespace).create(
        factories.emqx("crown-jewels", namespace=namespace)
    )
    settings.CONSOLE_IMPERSONATE_GROUP_PREFIX = ""  # allowed; the group below was made outside the admin
    user = User.objects.create_user("mallory", password="pw-12345-abcde")
    user.groups.add(Group.objects.create(name="system:masters"))  # cluster-admin, had it been sent
    RoleGrant.objects.create(user=user, role="viewer", namespace=namespace)
    client.force_login(user)
    response = client.get(f"/clusters/default/emqx/{namespace}/crown-jewels/")
    assert response.status_code == 403
    assert "your group “system:masters” cannot be sent" in response.content.decode()
    assert "starts with “system:”, the names Kubernetes reserves for itself" in response.content.decode()


@pytest.mark.parametrize(
    ("prefix", "name", "error"),
    [
        ("", "system:masters", "as a Kubernetes group it would be “system:masters”, and it starts with “system:”"),
        ("", "sre", None),
        ("console:", "system:masters", None),  # console:system:masters is the console's own
        ("console:", "Équipe", "it contains “É” (U+00C9)"),
        ("console:", "ops\u2013team", "it contains “\u2013” (U+2013)"),
    ],
)
def test_the_admin_refuses_a_group_name_that_cannot_be_sent(
    admin_client: Client, settings: Any, prefix: str, name: str, error: str | None
) -> None:
    settings.CONSOLE_IMPERSONATE_GROUP_PREFIX = prefix
    response = admin_client.post("/admin/auth/group/add/", {"name": name})
    if error is None:
        assert response.status_code == 302 and Group.objects.filter(name=name).exists()
    else:
        assert response.status_code == 200 and not Group.objects.filter(name=name).exists()
        errors = response.context["adminform"].form.errors
        assert list(errors) == ["name"] and error in errors["name"][0]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CONSOLE_IMPERSONATE_GROUP_PREFIX", "system:", "a prefix must not start with “system:”"),
        ("CONSOLE_IMPERSONATE_USER_PREFIX", "system:serviceaccount:", "a prefix must not start with “system:”"),
        ("CONSOLE_IMPERSONATE_USER_PREFIX", "konsole§:", "it contains “§” (U+00A7)"),
    ],
)
def test_a_prefix_that_could_not_be_sent_stops_the_console_at_start(variable: str, value: str, message: str) -> None:
    env = {**os.environ, variable: value}
    out = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert f"{variable}={value!r}: {message}" in out.stderr


# ----- the narrowest ClusterRole (README) -----------------------------------------------------------

NARROW_CONSOLE_RBAC = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: emqx-console-narrow}
rules:
- apiGroups: [""]
  resources: [users]
  verbs: [impersonate]
  resourceNames: ["console:rita", "console:mallory-not"]
- apiGroups: [""]
  resources: [groups]
  verbs: [impersonate]
  resourceNames: ["console:sre"]
- apiGroups: [apps.emqx.io]
  resources: ["*"]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: emqx-console-narrow}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: emqx-console-narrow}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: emqx-console-narrow}
"""


def test_the_narrowest_cluster_role_lets_the_console_act_only_for_the_names_it_lists(
    settings: Any, sandbox: Sandbox, kubectl: KubectlRunner, namespace: str, client: Client
) -> None:
    applied = kubectl("apply", "-f", "-", input=NARROW_CONSOLE_RBAC)
    assert applied.returncode == 0, applied.stderr
    wait_until_allowed(kubectl, "impersonate", "users/console:rita", user="emqx-console-narrow")
    Clientset.from_kubeconfig(sandbox.kubeconfig).apps_v2beta1.emqxes(namespace).create(
        factories.emqx("shared", namespace=namespace)
    )
    kubectl("-n", namespace, "create", "role", "reader", "--verb=get,list,watch", "--resource=emqxes.apps.emqx.io")
    for name in ("rita", "mallory", "otto"):  # the cluster would let each of them read
        kubectl("-n", namespace, "create", "rolebinding", f"{name}-reads", "--role=reader", f"--user=console:{name}")
    wait_until_allowed(kubectl, "list", "emqxes.apps.emqx.io", user="console:otto", namespace=namespace)
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.user_kubeconfig("emqx-console-narrow"))}]
    settings.CONSOLE_IMPERSONATE = True
    users = {name: User.objects.create_user(name, password="pw-12345-abcde") for name in ("rita", "mallory", "otto")}
    users["rita"].groups.add(Group.objects.create(name="sre"))
    users["otto"].groups.add(Group.objects.create(name="ops"))  # a group the role does not list
    for user in users.values():
        RoleGrant.objects.create(user=user, role="viewer", namespace=namespace)
    url = f"/clusters/default/emqx/{namespace}/shared/"
    try:
        client.force_login(users["rita"])
        eventually(lambda: client.get(url).status_code == 200)
        for name in ("mallory", "otto"):  # not listed, or in a group not listed: the cluster refuses
            client.force_login(users[name])
            response = client.get(url)
            assert response.status_code == 403
            assert f"RBAC does not let Kubernetes user console:{name}" in response.content.decode()
    finally:
        impersonation.forget()
        clusters.reset()


def test_every_read_agrees_with_the_clusters_rbac(
    impersonating_console: None, client: Client, namespace: str, sandbox: Sandbox
) -> None:
    """Issue 15, item 10: where the detail page answers 403 from the cluster's RBAC, so do the
    timeline, the History and the Events panel, and the dashboards neither list nor count the instance."""
    Clientset.from_kubeconfig(sandbox.kubeconfig).apps_v2beta1.emqxes(namespace).create(
        factories.emqx("hidden-broker", namespace=namespace)
    )
    user = User.objects.create_user("noor", password="pw-noor-123456")
    RoleGrant.objects.create(user=user, role="viewer", namespace=namespace)  # the console would allow it
    client.force_login(user)
    base = f"/clusters/default/emqx/{namespace}/hidden-broker/"
    for url in (base, base + "timeline/", base + "history/", base + "_events"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "RBAC does not let Kubernetes user console:noor read EMQX objects" in response.content.decode()
    # The caches hold it (the console's own identity reads everything): the dashboards must still not show it.
    cluster = clusters.get_cluster("default")
    assert cluster is not None
    eventually(lambda: cluster.cache("EMQX").get(namespace, "hidden-broker") is not None)
    for page in ("/clusters/default/", "/dashboard/"):
        html = client.get(page).content.decode()
        assert "hidden-broker" not in html
        assert 'data-total="instances"><span class="n">0</span>' in html, page
