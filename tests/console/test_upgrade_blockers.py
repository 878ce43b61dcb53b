"""The upgrade-checks page (``/clusters/<c>/upgrade/``): what blocks upgrading the emqx-operator from
2.2 to 2.3 on a cluster, and what to do about each, as a user sees it.

The rules are tested on CRD and object documents (console.upgrade's pure functions): the session's
2.2 CRDs are shared by every test, so none is patched to a conversion webhook or given a v2alpha1
stored version here. The page is tested on the real 2.2, 2.3 and 3.0 sandboxes.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from console import clusters, upgrade
from console.models import RoleGrant
from emqx.client.clientset import Clientset
from sandbox import Sandbox
from sandbox.cluster import bundle_crds, free_port
from tests import factories
from tests.conftest import KubectlRunner, wait_until_allowed
from tests.support import emqx_reader_rbac

pytestmark = pytest.mark.django_db

URL = "/clusters/default/upgrade/"
WRITE_VERBS = {"POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"}
RESOURCES = ("emqxes", "emqxbrokers", "emqxenterprises", "emqxplugins", "rebalances", "customresourcedefinitions")


def _crd(bundle: str, name: str) -> dict[str, Any]:
    return copy.deepcopy(next(c for c in bundle_crds(bundle) if c["metadata"]["name"] == name))


def _with_webhook(crd: dict[str, Any]) -> dict[str, Any]:
    """The CRD as the 2.2 Helm chart installs it: conversion through the operator's webhook."""
    crd["spec"]["conversion"] = {
        "strategy": "Webhook",
        "webhook": {
            "conversionReviewVersions": ["v1"],
            "clientConfig": {
                "service": {
                    "namespace": "emqx-operator-system",
                    "name": "emqx-operator-webhook-service",
                    "path": "/convert",
                }
            },
        },
    }
    return crd


def _rows(html: str, check: str) -> list[tuple[str, str, str, str]]:
    """(kind, namespace, name, the row's HTML) of each blocker the page lists under ``check``."""
    section = re.search(rf'<div class="module upgrade-check" id="check-{check}"(.*?)\n</div>', html, re.S)
    assert section, f"no {check} section"
    return re.findall(
        r'<tr class="row-bad blocker" data-kind="([^"]*)" data-namespace="([^"]*)" data-name="([^"]*)">(.*?)</tr>',
        section.group(1),
        re.S,
    )


def _state(html: str, check: str) -> str:
    found = re.search(rf'id="check-{check}" data-state="([^"]*)"', html)
    assert found, f"no {check} section"
    return found.group(1)


def _verdict(html: str) -> str:
    found = re.search(r'id="upgrade-verdict" data-verdict="([^"]*)"', html)
    assert found, "no verdict"
    return found.group(1)


def _page(client: Client, url: str = URL) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# ----- the rules, on documents --------------------------------------------------------------------------


def test_a_crd_still_converting_through_the_webhook_blocks_with_the_readme_patch() -> None:
    crds = {
        "emqxes.apps.emqx.io": _with_webhook(_crd("2.2", "emqxes.apps.emqx.io")),
        "rebalances.apps.emqx.io": _crd("2.2", "rebalances.apps.emqx.io"),  # no spec.conversion: None
    }
    (blocker,) = upgrade.conversion_blockers(crds)
    assert blocker.name == "emqxes.apps.emqx.io"
    assert blocker.evidence == "spec.conversion.strategy: Webhook"
    assert "emqx-operator-system/emqx-operator-webhook-service" in blocker.why
    assert blocker.commands == (
        "kubectl patch crd emqxes.apps.emqx.io --type=json "
        """-p='[{"op":"replace", "path":"/spec/conversion", "value":{"strategy":"None"}}]'""",
    )


def test_both_crds_on_webhooks_block_and_a_missing_crd_does_not() -> None:
    both = {name: _with_webhook(_crd("2.2", name)) for name in upgrade.CONVERTED_CRDS}
    assert [b.name for b in upgrade.conversion_blockers(both)] == ["emqxes.apps.emqx.io", "rebalances.apps.emqx.io"]
    only_emqx = {
        "emqxes.apps.emqx.io": _with_webhook(_crd("2.2", "emqxes.apps.emqx.io")),
        "rebalances.apps.emqx.io": None,
    }
    assert [b.name for b in upgrade.conversion_blockers(only_emqx)] == ["emqxes.apps.emqx.io"]


def test_crds_with_conversion_none_block_nothing() -> None:
    crd = _crd("2.2", "emqxes.apps.emqx.io")
    crd["spec"]["conversion"] = {"strategy": "None"}
    assert upgrade.conversion_blockers({"emqxes.apps.emqx.io": crd}) == []
    assert upgrade.conversion_blockers({}) == []


def test_v2alpha1_left_in_stored_versions_blocks_and_the_fix_keeps_the_other_versions() -> None:
    crd = _crd("2.2", "emqxes.apps.emqx.io")
    crd["status"] = {"storedVersions": ["v2alpha1", "v2beta1"]}
    (blocker,) = upgrade.stored_version_blockers(crd)
    assert blocker.evidence == "status.storedVersions: v2alpha1, v2beta1"
    rewrite, trim = blocker.commands
    assert rewrite == "kubectl get emqxes.apps.emqx.io -A -o json | kubectl replace -f -"
    assert trim.endswith("""-p='[{"op":"replace", "path":"/status/storedVersions", "value":["v2beta1"]}]'""")
    assert "--subresource=status" in trim
    assert "while the 2.2 operator and its conversion webhook still run" in blocker.action

    crd["status"] = {"storedVersions": ["v2beta1"]}
    assert upgrade.stored_version_blockers(crd) == []
    assert upgrade.stored_version_blockers(None) == []


def test_an_emqx_written_through_v2alpha1_is_named_with_who_wrote_it() -> None:
    def emqx(name: str, *api_versions: str) -> dict[str, Any]:
        entries = [
            {
                "manager": "kubectl-client-side-apply",
                "operation": "Update",
                "apiVersion": v,
                "time": "2023-05-01T00:00:00Z",
            }
            for v in api_versions
        ]
        return {"metadata": {"name": name, "namespace": "prod", "managedFields": entries}}

    objects = [
        emqx("new", "apps.emqx.io/v2beta1"),
        emqx("old", "apps.emqx.io/v2alpha1", "apps.emqx.io/v2beta1"),
        emqx("bare"),
    ]
    (blocker,) = upgrade.v2alpha1_blockers(objects)
    assert (blocker.kind, blocker.namespace, blocker.name) == ("EMQX", "prod", "old")
    assert blocker.evidence == (
        "managedFields apiVersion apps.emqx.io/v2alpha1: kubectl-client-side-apply (Update, 2023-05-01T00:00:00Z)"
    )
    assert blocker.commands == ("kubectl -n prod get emqxes.apps.emqx.io old -o json | kubectl replace -f -",)


def test_legacy_objects_are_listed_by_namespace_and_name_with_their_delete_command() -> None:
    objects = [{"metadata": {"name": n, "namespace": ns}} for ns, n in (("b", "x"), ("a", "z"), ("a", "y"))]
    rows = upgrade.legacy_blockers("EmqxEnterprise", objects)
    assert [(b.namespace, b.name) for b in rows] == [("a", "y"), ("a", "z"), ("b", "x")]
    assert rows[0].commands == ("kubectl -n a delete emqxenterprises.apps.emqx.io y",)
    assert "pre-upgrade check" in rows[0].why
    assert upgrade.legacy_blockers("EmqxPlugin", objects[:1])[0].commands == (
        "kubectl -n b delete emqxplugins.apps.emqx.io x",
    )


@pytest.mark.parametrize(
    ("served", "line"),
    [
        ({"EMQX": ("v2beta1", "v2alpha1"), "EmqxBroker": ("v1beta4", "v1beta3")}, "2.2"),
        ({"EMQX": ("v2", "v2beta1"), "Rebalance": ("v2beta1",)}, "2.3"),
        ({"EMQX": ("v3beta1",), "EMQXAPIKey": ("v3beta1",)}, "3.0"),
        ({"EmqxBroker": ("v1beta1",)}, "older"),
        ({"EMQX": ("v2alpha1",)}, "older"),
        ({}, "none"),
    ],
)
def test_the_operator_line_comes_from_the_served_versions(served: dict[str, tuple[str, ...]], line: str) -> None:
    assert upgrade.operator_line(served) == line


# ----- the page on the 2.2 sandbox -----------------------------------------------------------------------


def _plugin(sandbox: Sandbox, namespace: str, name: str) -> None:
    body = {
        "apiVersion": "apps.emqx.io/v1beta4",
        "kind": "EmqxPlugin",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"pluginName": "emqx_lwm2m", "selector": {"apps.emqx.io/instance": "broker"}},
    }
    status, answer = sandbox.request("POST", f"/apis/apps.emqx.io/v1beta4/namespaces/{namespace}/emqxplugins", body)
    assert status == 201, answer


def test_on_2_2_brokers_enterprises_and_plugins_are_listed_with_links_to_their_pages(
    admin: Client, clientset: Clientset, sandbox: Sandbox, namespace: str
) -> None:
    clientset.apps_v1beta4.emqx_brokers(namespace).create(factories.emqx_broker("broker", replicas=3))
    clientset.apps_v1beta4.emqx_enterprises(namespace).create(factories.emqx_enterprise("enterprise"))
    _plugin(sandbox, namespace, "lwm2m")

    html = _page(admin)
    assert _verdict(html) == "blocked"
    mine = {(kind, name): row for kind, ns, name, row in _rows(html, "legacy") if ns == namespace}
    assert set(mine) == {("EmqxBroker", "broker"), ("EmqxEnterprise", "enterprise"), ("EmqxPlugin", "lwm2m")}
    broker_url = reverse("emqxbrokers_detail", args=["default", namespace, "broker"])
    enterprise_url = reverse("emqxenterprises_detail", args=["default", namespace, "enterprise"])
    assert f'<a href="{broker_url}">{namespace}/broker</a>' in mine[("EmqxBroker", "broker")]
    assert f'<a href="{enterprise_url}">{namespace}/enterprise</a>' in mine[("EmqxEnterprise", "enterprise")]
    plugin = mine[("EmqxPlugin", "lwm2m")]
    assert "<a " not in plugin and f'lwm2m <span class="muted">in {namespace}</span>' in plugin
    assert f"kubectl -n {namespace} delete emqxbrokers.apps.emqx.io broker" in mine[("EmqxBroker", "broker")]
    assert f"kubectl -n {namespace} delete emqxplugins.apps.emqx.io lwm2m" in plugin


def test_on_2_2_crds_without_a_webhook_pass_the_conversion_check(admin: Client) -> None:
    html = _page(admin)
    assert _state(html, "conversion") == "ok"
    assert "emqxes.apps.emqx.io: None, rebalances.apps.emqx.io: None" in html
    assert _rows(html, "conversion") == []


def test_an_emqx_written_through_v2alpha1_is_not_listed_where_v2alpha1_was_never_stored(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    # On this cluster v2beta1 has always been the storage version: a write through v2alpha1 is stored as v2beta1.
    created = clientset.apps_v2alpha1.emqxes(namespace).create(factories.emqx_v2alpha1("through-v2alpha1"))
    assert [m.api_version for m in created.metadata.managed_fields or ()] == ["apps.emqx.io/v2alpha1"]
    html = _page(admin)
    assert _state(html, "v2alpha1") == "ok"
    assert "v2alpha1 was never a storage version here (status.storedVersions: v2beta1)" in html
    assert "through-v2alpha1" not in html


def test_the_page_shows_the_readme_steps_and_links_from_the_navigation(admin: Client) -> None:
    html = _page(admin)
    steps = html[html.index('id="upgrade-steps"') :]
    assert "kubectl delete --ignore-not-found namespace emqx-operator-system" in steps
    assert "Delete the legacy CRDs (optional)" in steps
    assert "releases/download/v2.3.0/install.yaml" in steps
    assert '<a href="/clusters/default/upgrade/">Upgrade checks</a>' in _page(admin, "/clusters/default/")


def test_crds_on_the_webhook_with_v2alpha1_stored_are_shown_with_the_commands_that_fix_them(
    admin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shared session CRDs stay as they are: only the page's CRD read answers as on a 2.2 Helm install.
    def crd_of_a_helm_install(cs: Clientset, name: str) -> dict[str, Any]:
        crd = _with_webhook(_crd("2.2", name))
        crd["status"] = {"storedVersions": ["v2alpha1", "v2beta1"] if name.startswith("emqxes.") else ["v2beta1"]}
        return crd

    monkeypatch.setattr(upgrade, "_crd", crd_of_a_helm_install)
    html = _page(admin)
    assert _verdict(html) == "blocked"
    conversion = {name: row for kind, ns, name, row in _rows(html, "conversion")}
    assert set(conversion) == {"emqxes.apps.emqx.io", "rebalances.apps.emqx.io"}
    assert "spec.conversion.strategy: Webhook" in conversion["rebalances.apps.emqx.io"]
    assert "kubectl patch crd rebalances.apps.emqx.io --type=json" in conversion["rebalances.apps.emqx.io"]
    stored = [row for kind, ns, name, row in _rows(html, "v2alpha1") if kind == "CustomResourceDefinition"]
    assert len(stored) == 1
    assert "status.storedVersions: v2alpha1, v2beta1" in stored[0]
    assert "kubectl get emqxes.apps.emqx.io -A -o json | kubectl replace -f -" in stored[0]
    assert "--subresource=status" in stored[0]


def _writes(sandbox: Sandbox) -> int:
    count = 0
    for line in sandbox.metrics().splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        verb = re.search(r'verb="([A-Z]+)"', line)
        if verb and verb.group(1) in WRITE_VERBS and any(f'resource="{r}"' in line for r in RESOURCES):
            count += int(float(line.rsplit(" ", 1)[1]))
    return count


def test_looking_at_the_page_changes_nothing_and_it_takes_no_post(admin: Client, sandbox: Sandbox) -> None:
    before = _writes(sandbox)
    _page(admin)
    assert _writes(sandbox) == before
    assert admin.post(URL).status_code == 405


# ----- who may see it --------------------------------------------------------------------------------------


def test_a_user_who_may_read_nothing_in_the_cluster_gets_a_404(client: Client, console_cluster: Any) -> None:
    nobody = User.objects.create_user("upgrade-nobody", password="pw-nobody-123456")
    RoleGrant.objects.create(user=nobody, role="admin", cluster="elsewhere")
    client.force_login(nobody)
    assert client.get(URL).status_code == 404


def test_a_user_of_one_namespace_sees_only_its_objects(
    client: Client, console_cluster: Any, clientset: Clientset, sandbox: Sandbox, namespace: str
) -> None:
    other = f"t-upgrade-other-{secrets.token_hex(3)}"
    sandbox.create_namespace(other)
    clientset.apps_v1beta4.emqx_brokers(namespace).create(factories.emqx_broker("visible"))
    clientset.apps_v1beta4.emqx_brokers(other).create(factories.emqx_broker("not-for-this-viewer"))
    viewer = User.objects.create_user("upgrade-viewer", password="pw-viewer-123456")
    RoleGrant.objects.create(user=viewer, role="viewer", namespace=namespace)
    client.force_login(viewer)

    html = _page(client)
    assert {(ns, name) for _, ns, name, _ in _rows(html, "legacy")} == {(namespace, "visible")}
    assert "not-for-this-viewer" not in html and other not in html
    assert "Only the namespaces you may read were checked." in html


# ----- clusters in other states --------------------------------------------------------------------------------


@pytest.fixture
def console_of(settings: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Point the console's cluster ``name`` at a bundle's session sandbox (or any kubeconfig)."""

    def configure(name: str, kubeconfig: Path) -> None:
        settings.CONSOLE_CLUSTERS = [{"name": name, "kubeconfig": str(kubeconfig)}]

    yield configure
    clusters.reset()


@pytest.mark.parametrize(
    ("fixture", "name", "served"), [("sandbox_23", "stable", "v2, v2beta1"), ("sandbox_30", "next", "v3beta1")]
)
def test_on_2_3_and_3_0_the_page_says_the_cluster_is_already_past_this_upgrade(
    admin_client: Client, console_of: Any, request: pytest.FixtureRequest, fixture: str, name: str, served: str
) -> None:
    sb: Sandbox = request.getfixturevalue(fixture)
    console_of(name, sb.kubeconfig)
    html = _page(admin_client, f"/clusters/{name}/upgrade/")
    assert _verdict(html) == "past"
    assert f"Cluster {name} is already past this upgrade: it serves EMQX {served}" in html
    assert "upgrade-check" not in html and "upgrade-steps" not in html


def test_an_unreachable_cluster_shows_the_banner_instead_of_an_error(
    admin_client: Client, console_of: Any, sandbox: Sandbox, tmp_path: Path
) -> None:
    config = yaml.safe_load(Path(sandbox.kubeconfig).read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    console_of("default", kubeconfig)
    html = _page(admin_client)
    assert "Cluster default is unreachable" in html
    assert 'id="upgrade-problem"' in html and "Nothing could be checked: cannot reach the Kubernetes API server" in html


def _kubectl(sb: Sandbox) -> KubectlRunner:
    from tests.conftest import run_kubectl

    def run(*args: str, input: str | None = None, kubeconfig: Path | None = None) -> Any:
        return run_kubectl(kubeconfig or sb.kubeconfig, *args, input=input)

    return run


def test_when_the_console_may_not_read_crds_the_page_says_what_it_could_not_check(
    admin_client: Client, console_of: Any, sandbox: Sandbox, clientset: Clientset, namespace: str
) -> None:
    user = f"console-no-crds-{secrets.token_hex(3)}"
    role = emqx_reader_rbac(user)
    kubectl = _kubectl(sandbox)
    assert kubectl("apply", "-f", "-", input=role).returncode == 0
    wait_until_allowed(kubectl, "list", "emqxplugins.apps.emqx.io", user=user)
    clientset.apps_v1beta4.emqx_brokers(namespace).create(factories.emqx_broker("still-found"))
    clientset.apps_v2alpha1.emqxes(namespace).create(factories.emqx_v2alpha1("written-as-v2alpha1"))
    console_of("default", sandbox.user_kubeconfig(user))

    html = _page(admin_client)
    assert _verdict(html) == "blocked"  # the brokers could still be listed
    assert (namespace, "still-found") in {(ns, name) for _, ns, name, _ in _rows(html, "legacy")}
    assert _state(html, "conversion") == "unchecked"
    conversion = html[html.index('id="check-conversion"') :]
    assert "Could not be checked. The CustomResourceDefinitions could not be read: not allowed" in conversion
    assert "cannot get resource &quot;customresourcedefinitions&quot;" in conversion
    # Without storedVersions, every EMQX written through v2alpha1 is shown as possibly stored that way.
    v2alpha1 = html[html.index('id="check-v2alpha1"') : html.index('id="check-conversion"')]
    assert "Could not be checked. The CustomResourceDefinitions could not be read" in v2alpha1
    evidence = {(ns, name): row for kind, ns, name, row in _rows(html, "v2alpha1") if kind == "EMQX"}
    assert (
        "managedFields apiVersion apps.emqx.io/v2alpha1: emqx-console (Update, "
        in evidence[(namespace, "written-as-v2alpha1")]
    )
