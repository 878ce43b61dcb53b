"""Journey 2: create an EMQX through the form and watch it come up, live, until polling stops."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Request, expect

from emqx.client.clientset import Clientset
from tests.e2e.conftest import (
    LIVE_TIMEOUT_MS,
    Operator,
    Persona,
    expect_live,
    field,
    field_errors,
    is_status_poll,
    log_in,
    screenshot,
)

pytestmark = pytest.mark.django_db(transaction=True)

POLL_INTERVAL_MS = 2_000  # the detail page's hx-trigger="every 2s"


def test_a_new_instance_goes_from_initialized_to_ready_live_and_polling_stops(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset, operator: Operator
) -> None:
    # A fake clock that runs at real speed: it lets the end of the test jump ahead in time.
    page.clock.install()
    log_in(page, console, admin_user, "/clusters/default/emqx/")
    page.get_by_role("link", name="Add EMQX").click()
    expect(page.get_by_role("heading", name="Add EMQX")).to_be_visible()

    field(page, "metadata.name").fill("journey")
    field(page, "metadata.namespace").fill(namespace)
    field(page, "spec.image").fill("emqx/emqx 5.8.6")  # a space instead of the tag's colon
    field(page, "spec.coreTemplate.spec.replicas").fill("1")
    page.get_by_role("button", name="Save", exact=True).click()

    # The server refuses the image; nothing is created and the form keeps what was typed.
    expect(page.locator(".errornote").first).to_contain_text("Nothing was saved")
    expect(field_errors(page, "spec.image")).to_contain_text("Not an image reference")
    expect(field(page, "metadata.name")).to_have_value("journey")
    screenshot(page, "form-error")
    assert clientset.apps_v2beta1.emqxes(namespace).list().items == []

    field(page, "spec.image").fill("emqx/emqx:5.8.6")
    field(page, "spec.coreTemplate.spec.replicas").fill("3")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("heading", name="EMQX journey")).to_be_visible()
    expect(page.locator(".messagelist")).to_contain_text(f"EMQX {namespace}/journey was created")
    panel = page.locator("#status-panel")
    state = panel.locator("#current-state")
    expect(state).to_have_text("Pending")  # no operator has looked at it yet
    expect_live(panel)
    url_before = page.url
    page.evaluate("window.__sameDocument = true")  # gone if the page were reloaded
    # While it is live, jumping the clock one poll interval ahead sends a poll: the check
    # at the end, that no poll comes any more, is not vacuous.
    with page.expect_request(lambda r: is_status_poll(r.url)):
        page.clock.run_for(POLL_INTERVAL_MS)

    operator.step("journey")
    expect(state).to_have_text("Initialized", timeout=LIVE_TIMEOUT_MS)
    operator.step("journey")
    expect(state).to_have_text("CoreNodesProgressing", timeout=LIVE_TIMEOUT_MS)
    expect(panel.locator("tr.condition[data-type=CoreNodesProgressing]")).to_contain_text("CreateNewStatefulSet")
    screenshot(page, "detail")  # mid-rollout, with its conditions

    # The operator takes it from here; the poll that finds it Ready answers 286.
    with page.expect_response(lambda r: is_status_poll(r.url) and r.status == 286, timeout=LIVE_TIMEOUT_MS):
        operator.start()
    expect(state).to_have_text("Ready")
    # htmx cancels polling on a 286 before it swaps the answer in, so "settled" on the page
    # means polling was cancelled already.
    expect(panel).to_contain_text("settled")
    expect(panel.locator("#core-counts")).to_have_text("3/3")
    assert page.url == url_before and page.evaluate("window.__sameDocument") is True

    # Polling has stopped: jump the page's clock over five poll intervals, which fires every
    # timer due in that time at once; a live poll would have sent a request.
    polls: list[Request] = []
    page.on("request", lambda r: polls.append(r) if is_status_poll(r.url) else None)
    page.clock.run_for(5 * POLL_INTERVAL_MS)
    # Any request those timers made was sent before this one; once this one is seen, so
    # would they have been.
    with page.expect_request(re.compile(r"/static/.*\?after-polling$")):
        page.evaluate("fetch('/static/console/console.css?after-polling')")
    assert polls == []
