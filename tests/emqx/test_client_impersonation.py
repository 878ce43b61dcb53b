"""Impersonation: the clientset acts as a user, and the cluster's own RBAC decides."""

from __future__ import annotations

import pytest

from emqx.client.clientset import Clientset
from emqx.errors import Forbidden
from sandbox import Sandbox
from tests import factories
from tests.conftest import KubectlRunner, wait_until_allowed


@pytest.fixture
def admin(clientset: Clientset) -> Clientset:
    """The sandbox's admin, who creates what the impersonated users are allowed to see."""
    return clientset


def test_an_impersonated_reader_can_get_but_not_delete(
    admin: Clientset, kubectl: KubectlRunner, namespace: str
) -> None:
    admin.apps_v2beta1.emqxes(namespace).create(factories.emqx("guarded", namespace=namespace))
    kubectl("-n", namespace, "create", "role", "reader", "--verb=get,list,watch", "--resource=emqxes.apps.emqx.io")
    kubectl("-n", namespace, "create", "rolebinding", "rita-reads", "--role=reader", "--user=rita")
    wait_until_allowed(kubectl, "get", "emqxes.apps.emqx.io", user="rita", namespace=namespace)

    rita = admin.impersonate("rita").apps_v2beta1.emqxes(namespace)
    assert rita.get("guarded").metadata.name == "guarded"
    with pytest.raises(Forbidden) as refused:
        rita.delete("guarded")
    assert 'User "rita" cannot delete resource "emqxes"' in str(refused.value)
    assert admin.apps_v2beta1.emqxes(namespace).get("guarded") is not None


def test_groups_are_impersonated_too(admin: Clientset, kubectl: KubectlRunner, namespace: str) -> None:
    kubectl("-n", namespace, "create", "role", "lister", "--verb=list", "--resource=emqxes.apps.emqx.io")
    kubectl("-n", namespace, "create", "rolebinding", "sre-lists", "--role=lister", "--group=sre")
    wait_until_allowed(kubectl, "list", "emqxes.apps.emqx.io", user="sam", groups=("sre",), namespace=namespace)
    assert admin.impersonate("sam", ["dev", "sre"]).apps_v2beta1.emqxes(namespace).list().items == []
    with pytest.raises(Forbidden):
        admin.impersonate("sam", ["dev"]).apps_v2beta1.emqxes(namespace).list()


def test_impersonation_needs_the_impersonate_right(sandbox: Sandbox, namespace: str) -> None:
    plain = Clientset.from_kubeconfig(sandbox.user_kubeconfig("no-impersonator"))
    with pytest.raises(Forbidden) as refused:
        plain.impersonate("rita").apps_v2beta1.emqxes(namespace).list()
    assert "impersonate" in str(refused.value)


def test_the_impersonating_clientset_shares_the_connection_pool(admin: Clientset, namespace: str) -> None:
    admin.apps_v2beta1.emqxes(namespace).list()
    before = admin.transport.connections_opened
    twin = admin.impersonate("rita")
    assert twin.transport._pool is admin.transport._pool
    assert admin.transport.connections_opened == before
    assert admin.transport.impersonated is None and twin.transport.impersonated == ("rita", ())
