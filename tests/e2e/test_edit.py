"""Journey 3: scale an instance through the edit form, review the diff, save, watch it roll out."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from emqx.client.clientset import Clientset
from tests import factories
from tests.e2e.conftest import LIVE_TIMEOUT_MS, Operator, Persona, detail_path, expect_live, field, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def _ready_instance(clientset: Clientset, operator: Operator, namespace: str, name: str) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx(name, namespace=namespace, core_replicas=1))
    operator.step_until(name, "Ready")


def test_an_edit_is_previewed_saved_and_rolled_out_live(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset, operator: Operator
) -> None:
    _ready_instance(clientset, operator, namespace, "scaled")
    log_in(page, console, admin_user, detail_path(namespace, "scaled"))
    panel = page.locator("#status-panel")
    state = panel.locator("#current-state")
    expect(state).to_have_text("Ready")
    expect(panel).to_contain_text("settled")

    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", name="Change EMQX scaled")).to_be_visible()
    expect(field(page, "spec.coreTemplate.spec.replicas")).to_have_value("1")
    field(page, "spec.coreTemplate.spec.replicas").fill("3")
    page.get_by_role("button", name="Review changes").click()

    # The preview: the one field that changes, and the YAML diff; nothing written yet.
    expect(page.get_by_role("heading", name="Review changes to EMQX scaled")).to_be_visible()
    changes = page.locator("#changes tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.first).to_contain_text("spec.coreTemplate.spec.replicas")
    expect(page.locator("#diff .diff-del")).to_have_text(["-      replicas: 1"])
    expect(page.locator("#diff .diff-add")).to_have_text(["+      replicas: 3"])
    assert clientset.apps_v2beta1.emqxes(namespace).get("scaled").metadata.generation == 1

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text(f"EMQX {namespace}/scaled was saved")
    saved = clientset.apps_v2beta1.emqxes(namespace).get("scaled")
    assert saved.spec.core_template.spec.replicas == 3  # type: ignore[union-attr]
    # The page shows the new spec at once and polls again: the operator has not caught up.
    expect_live(panel)
    expect(panel.locator("#core-counts")).to_have_text("1/3")
    page.evaluate("window.__sameDocument = true")

    operator.step("scaled")
    expect(state).to_have_text("CoreNodesProgressing", timeout=LIVE_TIMEOUT_MS)
    operator.start()
    expect(state).to_have_text("Ready", timeout=LIVE_TIMEOUT_MS)
    expect(panel.locator("#core-counts")).to_have_text("3/3")
    assert page.evaluate("window.__sameDocument") is True


def test_live_updates_pause_again_once_an_edit_is_rolled_out(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset, operator: Operator
) -> None:
    _ready_instance(clientset, operator, namespace, "edited")
    clientset.apps_v2beta1.emqxes(namespace).patch("edited", {"spec": {"coreTemplate": {"spec": {"replicas": 3}}}})
    log_in(page, console, admin_user, detail_path(namespace, "edited"))
    panel = page.locator("#status-panel")
    expect_live(panel)

    operator.start()
    expect(panel.locator("#core-counts")).to_have_text("3/3", timeout=LIVE_TIMEOUT_MS)
    expect(panel.locator("#current-state")).to_have_text("Ready", timeout=LIVE_TIMEOUT_MS)
    # Ready, with every condition the operator set since the edit at the new generation: the
    # poll that brought Ready is the last one (286), and the panel says so.
    obj = clientset.apps_v2beta1.emqxes(namespace).get("edited")
    assert obj.status is not None and obj.status.conditions
    ready = obj.status.conditions[0]
    assert (ready.type, ready.observed_generation) == ("Ready", obj.metadata.generation)
    expect(panel).to_contain_text("settled", timeout=LIVE_TIMEOUT_MS // 4)


def test_an_edit_as_yaml_keeps_the_users_text_through_review_and_save(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset
) -> None:
    config = "log.console.level = warning\nlisteners.tcp.default.bind = 1883\n"
    clientset.apps_v2beta1.emqxes(namespace).create(
        factories.emqx(
            "yamled",
            namespace=namespace,
            core_replicas=1,
            spec={"imagePullPolicy": "Always", "config": {"data": config}},
        )
    )
    log_in(page, console, admin_user, detail_path(namespace, "yamled"))
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_role("link", name="Edit as YAML").click()
    editor = page.locator("textarea[name=yaml]")
    expect(editor).to_contain_text("imagePullPolicy: Always")  # a field the form does not show
    text = editor.input_value()
    assert "replicas: 1" in text
    editor.fill(
        text.replace("replicas: 1", "replicas: 3").replace("imagePullPolicy: Always", "imagePullPolicy: IfNotPresent")
    )
    page.get_by_role("button", name="Review changes").click()

    expect(page.get_by_role("heading", name="Review changes to EMQX yamled")).to_be_visible()
    expect(page.locator("#changes tbody tr")).to_have_count(2)
    page.get_by_role("button", name="Back to the YAML").click()
    expect(page.locator("textarea[name=yaml]")).to_contain_text("replicas: 3")
    page.get_by_role("button", name="Review changes").click()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text(f"EMQX {namespace}/yamled was saved")

    saved = clientset.apps_v2beta1.emqxes(namespace).get("yamled")
    assert saved.spec.core_template.spec.replicas == 3  # type: ignore[union-attr]
    assert saved.to_dict()["spec"]["imagePullPolicy"] == "IfNotPresent"
    # The multi-line config went through the preview's hidden field and back unchanged.
    assert saved.spec.config is not None and saved.spec.config.data == config  # type: ignore[union-attr]
