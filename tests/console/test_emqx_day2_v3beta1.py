"""Operator 3.0's EMQX in the console: Pause and Resume from the detail page (audited), and the
change preview naming the configuration roots that restart every pod. Against the real 3.0 sandbox
(and the 2.3 one, where there is no pause)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from console import clusters
from console.forms.schema import read_values, values_as_data
from console.kinds.emqx import PAUSED_ANNOTATION
from console.models import AuditEntry, RoleGrant
from console.registry import FormContext, site
from emqx.client.clientset import Clientset
from emqx.models import apps_v2, apps_v3beta1
from sandbox import Sandbox
from tests.support import form_inputs

EMQX = site.for_kind("EMQX")
pytestmark = pytest.mark.django_db


@pytest.fixture
def next_cluster(settings: Any, sandbox_30: Sandbox, sandbox_23: Sandbox) -> Iterator[tuple[str, Clientset, Clientset]]:
    """The console with two clusters, ``next`` (operator 3.0) and ``stable`` (2.3); a namespace of the
    test's own in each; admin clients for both."""
    settings.CONSOLE_CLUSTERS = [
        {"name": "next", "kubeconfig": str(sandbox_30.kubeconfig)},
        {"name": "stable", "kubeconfig": str(sandbox_23.kubeconfig)},
    ]
    namespace = f"t-day2-{secrets.token_hex(3)}"
    sandbox_30.create_namespace(namespace)
    sandbox_23.create_namespace(namespace)
    with Clientset.from_kubeconfig(sandbox_30.kubeconfig) as v3, Clientset.from_kubeconfig(sandbox_23.kubeconfig) as v2:
        yield namespace, v3, v2
    clusters.reset()


def _new_v3(cs: Clientset, namespace: str, name: str, roots: dict[str, Any] | None = None) -> apps_v3beta1.EMQX:
    doc = {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"image": "emqx/emqx:5.10.0", "config": {"roots": roots or {"mqtt": {"max_packet_size": "1MB"}}}},
    }
    return cs.apps_v3beta1.emqxes(namespace).create(apps_v3beta1.EMQX.from_dict(doc))


def _detail(namespace: str, name: str, cluster: str = "next") -> str:
    return f"/clusters/{cluster}/emqx/{namespace}/{name}/"


def test_pause_then_resume_sets_and_removes_the_annotation_and_each_is_audited(
    next_cluster: tuple[str, Clientset, Clientset], admin_client: Client
) -> None:
    namespace, cs, _ = next_cluster
    _new_v3(cs, namespace, "mqtt")
    page = admin_client.get(_detail(namespace, "mqtt")).content.decode()
    assert 'id="action-pause"' in page and 'id="action-resume"' not in page

    paused = admin_client.post(_detail(namespace, "mqtt") + "actions/pause/")
    assert paused.status_code == 302 and "?saved=" in paused["Location"]
    annotations = cs.apps_v3beta1.emqxes(namespace).get("mqtt").metadata.annotations or {}
    assert annotations.get(PAUSED_ANNOTATION) == "true"
    page = admin_client.get(_detail(namespace, "mqtt")).content.decode()
    assert 'id="action-resume"' in page and 'id="action-pause"' not in page
    assert "Reconciliation paused" in page  # the message after the redirect

    assert admin_client.post(_detail(namespace, "mqtt") + "actions/resume/").status_code == 302
    annotations = cs.apps_v3beta1.emqxes(namespace).get("mqtt").metadata.annotations or {}
    assert PAUSED_ANNOTATION not in annotations
    entries = AuditEntry.objects.filter(name="mqtt", namespace=namespace).order_by("time", "id")
    assert [(e.action, e.outcome) for e in entries] == [("pause", "success"), ("resume", "success")]
    assert PAUSED_ANNOTATION in entries[0].diff


def test_a_viewer_is_not_offered_pause_and_cannot_post_it(
    next_cluster: tuple[str, Clientset, Clientset], client: Client
) -> None:
    namespace, cs, _ = next_cluster
    _new_v3(cs, namespace, "viewed")
    user = User.objects.create_user("v3-viewer", password="pw-v3-viewer-123")
    RoleGrant.objects.create(user=user, role="viewer")
    client.force_login(user)
    assert 'id="action-pause"' not in client.get(_detail(namespace, "viewed")).content.decode()
    assert client.post(_detail(namespace, "viewed") + "actions/pause/").status_code == 403
    assert PAUSED_ANNOTATION not in (cs.apps_v3beta1.emqxes(namespace).get("viewed").metadata.annotations or {})
    assert not AuditEntry.objects.filter(name="viewed").exists()


def test_an_operator_2_3_emqx_has_no_pause(
    next_cluster: tuple[str, Clientset, Clientset], admin_client: Client
) -> None:
    namespace, _, v2 = next_cluster
    doc = {"metadata": {"name": "old", "namespace": namespace}, "spec": {"image": "emqx/emqx:5.8.6"}}
    v2.apps_v2.emqxes(namespace).create(apps_v2.EMQX.from_dict(doc))
    page = admin_client.get(_detail(namespace, "old", "stable")).content.decode()
    assert "apps.emqx.io/v2" in page and 'id="action-pause"' not in page
    response = admin_client.post(_detail(namespace, "old", "stable") + "actions/pause/")
    assert response.status_code == 302
    assert not (v2.apps_v2.emqxes(namespace).get("old").metadata.annotations or {})
    assert not AuditEntry.objects.filter(name="old").exists()


def test_an_unknown_action_is_a_404(next_cluster: tuple[str, Clientset, Clientset], admin_client: Client) -> None:
    namespace, cs, _ = next_cluster
    _new_v3(cs, namespace, "plain")
    assert admin_client.post(_detail(namespace, "plain") + "actions/explode/").status_code == 404
    assert admin_client.get(_detail(namespace, "plain") + "actions/pause/").status_code == 405


def _preview(admin_client: Client, cs: Clientset, namespace: str, name: str, roots: dict[str, Any]) -> str:
    url = _detail(namespace, name) + "change/"
    page = admin_client.get(url).content.decode()
    hidden = form_inputs(page, "emqx-form")
    spec = EMQX.get_form_spec(apps_v3beta1.EMQX, FormContext())
    stored = cs.apps_v3beta1.emqxes(namespace).get(name).to_dict()
    values = {**read_values(spec, stored), "spec.config.roots": roots}
    data = {**values_as_data(spec, values), "base": hidden["base"], "resource_version": hidden["resource_version"]}
    response = admin_client.post(url, {**data, "step": "preview"})
    assert response.status_code == 200
    return str(response.content.decode())


def test_the_preview_names_the_startup_roots_a_save_restarts_every_pod_for(
    next_cluster: tuple[str, Clientset, Clientset], admin_client: Client
) -> None:
    namespace, cs, _ = next_cluster
    _new_v3(cs, namespace, "roots")
    html = _preview(
        admin_client,
        cs,
        namespace,
        "roots",
        {"mqtt": {"max_packet_size": "1MB"}, "dashboard": {"listeners": {"http": {"bind": "0.0.0.0:18084"}}}},
    )
    assert 'id="changes"' in html
    assert "restarts every pod" in html and "dashboard" in html[html.index("restarts every pod") - 300 :]


def test_a_runtime_root_change_previews_without_a_restart_warning(
    next_cluster: tuple[str, Clientset, Clientset], admin_client: Client
) -> None:
    namespace, cs, _ = next_cluster
    _new_v3(cs, namespace, "runtime")
    html = _preview(admin_client, cs, namespace, "runtime", {"mqtt": {"max_packet_size": "2MB"}})
    assert 'id="changes"' in html and "restarts every pod" not in html


def test_node_cookie_in_the_roots_is_refused_on_the_field(
    next_cluster: tuple[str, Clientset, Clientset], admin_client: Client
) -> None:
    namespace, cs, _ = next_cluster
    _new_v3(cs, namespace, "cookie")
    html = _preview(admin_client, cs, namespace, "cookie", {"node": {"cookie": "secret"}})
    assert 'id="errors-spec.config.roots"' in html and "reserved for the operator" in html
