"""Journey 5: delete an instance after confirming; it leaves the list."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from emqx.client.clientset import Clientset
from emqx.errors import NotFound
from tests import factories
from tests.e2e.conftest import Persona, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_instance_is_deleted_after_confirmation_and_leaves_the_list(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset
) -> None:
    client = clientset.apps_v2beta1.emqxes(namespace)
    for name in ("doomed", "kept"):
        client.create(factories.emqx(name, namespace=namespace))
    page.clock.install()  # real-time, but the list's 5 s poll can be brought forward below
    log_in(page, console, admin_user, f"/clusters/default/emqx/?namespace={namespace}")
    rows = page.locator("#emqx-table tbody tr")
    expect(rows).to_have_count(2)

    page.get_by_role("link", name="doomed", exact=True).click()
    expect(page.get_by_role("heading", name="EMQX doomed")).to_be_visible()
    page.get_by_role("link", name="Delete", exact=True).click()

    expect(page.get_by_role("heading", name="Delete EMQX doomed")).to_be_visible()
    expect(page.locator("#content")).to_contain_text(f"Are you sure you want to delete the EMQX {namespace}/doomed")
    assert client.get("doomed").metadata.deletion_timestamp is None  # asking deletes nothing
    page.get_by_role("button", name="Yes, delete doomed").click()

    expect(page.locator(".messagelist")).to_contain_text(f"EMQX {namespace}/doomed was deleted")
    expect(page.get_by_role("heading", name="EMQX instances")).to_be_visible()
    expect(rows).to_have_count(1)
    expect(page.get_by_role("link", name="kept", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="doomed", exact=True)).to_have_count(0)
    # And it stays gone when the list refreshes itself from the watch cache.
    with page.expect_response(lambda r: "/emqx/_rows" in r.url):
        page.clock.run_for(5_000)
    expect(rows).to_have_count(1)
    with pytest.raises(NotFound):
        client.get("doomed")
