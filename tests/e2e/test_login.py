"""Journey 1: log in, land on the start page, open an instance from there."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from emqx.client.clientset import Clientset
from tests import factories
from tests.e2e.conftest import LIVE_TIMEOUT_MS, Operator, Persona, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_user_logs_in_lands_on_the_start_page_and_opens_an_instance(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset, operator: Operator
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("first-look", namespace=namespace))
    operator.step_until("first-look", "Ready")

    page.goto(f"{console}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))  # nothing without logging in
    page.get_by_label("Username").fill(admin_user.username)
    page.get_by_label("Password").fill(admin_user.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(admin_user.username)

    # The start page is the fleet dashboard.
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^All clusters"))
    card = page.locator(".cluster-card[data-cluster=default]")
    expect(card).to_have_attribute("data-status", "ok", timeout=LIVE_TIMEOUT_MS)  # past "connecting"
    expect(card.locator("[data-count=instances]")).not_to_have_text("0")
    expect(page.locator("#totals [data-total=ready] .n")).not_to_have_text("0")
    screenshot(page, "dashboard")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="EMQX instances").click()
    expect(page.get_by_role("heading", name="EMQX instances", level=1)).to_be_visible()

    # The session's cluster holds every test's instances: find ours by name, as a user would.
    page.get_by_placeholder("name").fill("first-look")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("#emqx-table tbody tr", has=page.get_by_role("link", name="first-look", exact=True))
    expect(row).to_contain_text(namespace)
    expect(row.locator(".state")).to_have_text("Ready")
    screenshot(page, "list")
    row.get_by_role("link", name="first-look", exact=True).click()

    expect(page.get_by_role("heading", name="EMQX first-look")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/clusters/default/emqx/{namespace}/first-look/$"))
    expect(page.locator("#status-panel #current-state")).to_have_text("Ready")
