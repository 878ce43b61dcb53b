"""A day with emqx-operator 3.0, in the browser: add an EMQX v3beta1 with a configuration root, watch it
become Ready, change a startup root (the preview warns of the rolling restart; the status shows it
rolling, then the configuration applied), pause and resume it, and give it an API key.

Against the 3.0 sandbox (EMQX v3beta1 only, EMQXAPIKey) with the simulated operator running.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from console import clusters
from console.kinds.emqx import PAUSED_ANNOTATION
from console.models import AuditEntry
from emqx.client.clientset import Clientset
from sandbox import Sandbox
from sandbox.operator import PACE_ANNOTATION, Simulator
from tests.e2e.conftest import LIVE_TIMEOUT_MS, PACE, Persona, expect_settled, field, log_in, screenshot


@pytest.fixture
def next_world(settings: Any, sandbox_30: Sandbox, live_server: Any) -> Iterator[tuple[str, str, Clientset]]:
    """The live console with the 3.0 sandbox as cluster "default", a namespace of the test's own,
    and the simulated operator running there; (base URL, namespace, the test's own client)."""
    clusters.reset()
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox_30.kubeconfig)}]
    namespace = f"t-journey-30-{secrets.token_hex(3)}"
    sandbox_30.create_namespace(namespace)
    with Clientset.from_kubeconfig(sandbox_30.kubeconfig) as cs:
        sim = Simulator(cs, pace=PACE, namespace=namespace).start()
        try:
            yield str(live_server.url), namespace, cs
        finally:
            sim.stop()
            clusters.reset()


def test_on_operator_3_0_an_emqx_is_added_configured_paused_resumed_and_given_an_api_key(
    page: Page, next_world: tuple[str, str, Clientset], admin_user: Persona
) -> None:
    base, ns, cs = next_world
    log_in(page, base, admin_user, f"/clusters/default/emqx/add/?namespace={ns}")

    # Add, with one configuration root.
    expect(page.get_by_role("heading", name="Add EMQX", exact=True)).to_be_visible()
    field(page, "metadata.name").fill("mqtt")
    field(page, "spec.config.roots").fill("mqtt:\n  max_packet_size: 1MB\n")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text(f"EMQX {ns}/mqtt was created")
    created = cs.apps_v3beta1.emqxes(ns).get("mqtt")
    assert created.api_version == "apps.emqx.io/v3beta1"
    assert created.to_dict()["spec"]["config"]["roots"] == {"mqtt": {"max_packet_size": "1MB"}}

    # It becomes Ready, with its configuration applied, as operator 3.0 reports it.
    panel = page.locator("#status-panel")
    expect(panel.locator("#current-state")).to_have_text("Ready", timeout=LIVE_TIMEOUT_MS)
    expect_settled(panel, timeout=LIVE_TIMEOUT_MS)
    expect(panel.locator("#status-details")).to_contain_text("Desired configuration is active")
    expect(panel.locator('tr.condition[data-type="EMQXAPIAvailable"]')).to_contain_text("True")

    # A startup root: the preview names the restart; the status shows it rolling, then applied.
    # (A slower pace for this one instance, so that the rollout lasts long enough to be seen.)
    cs.apps_v3beta1.emqxes(ns).patch("mqtt", {"metadata": {"annotations": {PACE_ANNOTATION: "3"}}})
    page.get_by_role("link", name="Edit", exact=True).click()
    field(page, "spec.config.roots").fill(
        "mqtt:\n  max_packet_size: 1MB\ndashboard:\n  listeners:\n    http:\n      bind: 0.0.0.0:18084\n"
    )
    page.get_by_role("button", name="Review changes").click()
    note = page.locator(".change-note")
    expect(note).to_contain_text("restarts every pod")
    expect(note).to_contain_text("dashboard")
    screenshot(page, "v3beta1-preview-startup-root")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text(f"EMQX {ns}/mqtt was saved")
    expect(panel.locator("#status-details")).to_contain_text("StartupConfigPending", timeout=LIVE_TIMEOUT_MS)
    expect(panel.locator("#status-details")).to_contain_text("Desired configuration is active", timeout=40_000)
    expect(panel.locator("#current-state")).to_have_text("Ready", timeout=LIVE_TIMEOUT_MS)
    expect_settled(panel, timeout=LIVE_TIMEOUT_MS)

    # Pause: the operator reports Paused and acts on nothing; Resume undoes it. Both audited.
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text(f"Reconciliation paused: EMQX {ns}/mqtt")
    expect(panel.locator("#current-state")).to_have_text("Paused · Ready", timeout=LIVE_TIMEOUT_MS)
    expect(panel.locator("#status-details")).to_contain_text("paused by the apps.emqx.io/paused annotation")
    annotations = cs.apps_v3beta1.emqxes(ns).get("mqtt").metadata.annotations or {}
    assert annotations.get(PAUSED_ANNOTATION) == "true"
    screenshot(page, "v3beta1-paused")
    page.get_by_role("button", name="Resume", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text(f"Reconciliation resumed: EMQX {ns}/mqtt")
    expect(panel.locator("#current-state")).to_have_text("Ready", timeout=LIVE_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible()
    actions = list(
        AuditEntry.objects.filter(namespace=ns, name="mqtt").order_by("time", "id").values_list("action", flat=True)
    )
    assert actions == ["create", "update", "pause", "resume"]

    # An API key for it, from its page; the operator creates its Secret and reports Ready.
    page.locator("#add-api-key").click()
    expect(page.get_by_role("heading", name="Add EMQX API key", exact=True)).to_be_visible()
    field(page, "metadata.name").fill("ci")
    expect(field(page, "spec.emqxRef.name")).to_have_value("mqtt")
    field(page, "spec.role").select_option("Viewer")
    field(page, "spec.secretRef.name").fill("ci-api-key")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text(f"EMQXAPIKey {ns}/ci was created")
    expect(page.locator("#status-panel #current-state")).to_have_text("Ready", timeout=LIVE_TIMEOUT_MS)
    key = cs.apps_v3beta1.emqx_api_keys(ns).get("ci")
    assert (key.spec.emqx_ref.name, key.spec.secret_ref.name) == ("mqtt", "ci-api-key")
    page.goto(f"{base}/clusters/default/emqx/{ns}/mqtt/")
    row = page.locator("#api-keys tr.api-key")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("ci")
    expect(row).to_contain_text("Viewer")
    expect(row).to_contain_text("ci-api-key")
    screenshot(page, "v3beta1-detail-with-api-key")
