"""Journey 4: someone else saves while the edit form is open; both changes end up saved."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from emqx.client.clientset import Clientset
from tests import factories
from tests.e2e.conftest import Persona, detail_path, field, log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_change_made_behind_the_users_back_is_shown_and_both_changes_are_kept(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset
) -> None:
    client = clientset.apps_v2beta1.emqxes(namespace)
    client.create(factories.emqx("contested", namespace=namespace, core_replicas=1, image="emqx/emqx:5.8.6"))
    log_in(page, console, admin_user, detail_path(namespace, "contested") + "change/")
    expect(page.get_by_role("heading", name="Change EMQX contested")).to_be_visible()
    expect(field(page, "spec.image")).to_have_value("emqx/emqx:5.8.6")

    # While the form is open, someone upgrades the image with their own client (kubectl, CI...).
    client.patch("contested", {"spec": {"image": "emqx/emqx:5.8.7"}})

    field(page, "spec.coreTemplate.spec.replicas").fill("3")
    page.get_by_role("button", name="Review changes").click()

    expect(page.get_by_role("heading", name="EMQX contested changed while you were editing it")).to_be_visible()
    expect(page.locator("#conflict")).to_contain_text("Nothing was saved")
    theirs, yours = page.locator("#their-change"), page.locator("#your-change")
    expect(theirs.locator(".label")).to_have_text(["Image"])
    expect(theirs.locator(".diff-del")).to_have_text(["-  image: emqx/emqx:5.8.6"])
    expect(theirs.locator(".diff-add")).to_have_text(["+  image: emqx/emqx:5.8.7"])
    expect(yours.locator(".label")).to_have_text(["Core replicas"])
    expect(yours.locator(".diff-del")).to_have_text(["-      replicas: 1"])
    expect(yours.locator(".diff-add")).to_have_text(["+      replicas: 3"])
    expect(page.locator("#both-changed")).to_have_count(0)  # different fields: nothing to choose
    screenshot(page, "conflict")
    assert client.get("contested").spec.core_template.spec.replicas == 1  # type: ignore[union-attr]

    page.get_by_role("button", name="Re-apply my changes onto the current version").click()
    # The preview is against their version now: only the replicas change.
    expect(page.get_by_role("heading", name="Review changes to EMQX contested")).to_be_visible()
    changes = page.locator("#changes tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.first).to_contain_text("spec.coreTemplate.spec.replicas")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text(f"EMQX {namespace}/contested was saved")
    expect(page.locator(".summary")).to_contain_text("emqx/emqx:5.8.7")
    final = client.get("contested")
    assert final.spec.image == "emqx/emqx:5.8.7"
    assert final.spec.core_template.spec.replicas == 3  # type: ignore[union-attr]
    assert final.metadata.generation == 3  # their write and ours, nothing else
