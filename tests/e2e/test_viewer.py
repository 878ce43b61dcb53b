"""Journey 6: a Viewer reads everything and is offered no way to change anything."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from emqx.client.clientset import Clientset
from tests import factories
from tests.e2e.conftest import Persona, detail_path, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_viewer_sees_no_create_edit_or_delete_controls_and_is_refused_the_add_page(
    page: Page, console: str, viewer_user: Persona, namespace: str, clientset: Clientset
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("watched", namespace=namespace))
    log_in(page, console, viewer_user, f"/clusters/default/emqx/?namespace={namespace}")

    expect(page.get_by_role("heading", name="EMQX instances")).to_be_visible()
    expect(page.get_by_role("link", name="watched", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Add EMQX")).to_have_count(0)

    page.get_by_role("link", name="watched", exact=True).click()
    expect(page.get_by_role("heading", name="EMQX watched")).to_be_visible()
    expect(page.locator(".summary")).to_contain_text("emqx/emqx:5.8.6")
    expect(page.locator("#status-panel")).to_be_visible()
    expect(page.locator(".object-tools a, .object-tools button")).to_have_text(["History"])  # no change tools
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Delete", exact=True)).to_have_count(0)

    # Typing the URLs in is refused too, with a page that says so.
    for path in ("/clusters/default/emqx/add/", detail_path(namespace, "watched") + "change/"):
        response = page.goto(console + path)
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        expect(page.locator("#emqx-form")).to_have_count(0)
    response = page.goto(console + detail_path(namespace, "watched") + "delete/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("button", name="Yes, delete watched")).to_have_count(0)
