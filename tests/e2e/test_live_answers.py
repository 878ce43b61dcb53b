"""An open detail page whose poll can no longer be answered as before: the session ends in another tab, the
object is deleted behind the user's back, their access is withdrawn, the browser goes offline. The page must
say so and never swap a whole page into the panel or keep a "live" mark on stale data (issue 20, item 1)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from console.models import RoleGrant
from emqx.client.clientset import Clientset
from tests import factories
from tests.e2e.conftest import LIVE_TIMEOUT_MS, Operator, Persona, detail_path, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def _polling_page(
    page: Page, console: str, who: Persona, namespace: str, clientset: Clientset, operator: Operator
) -> Any:
    """An EMQX mid-rollout (its page polls), open in ``page``; its status panel."""
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("watched", namespace=namespace, core_replicas=3))
    operator.step_until("watched", "CoreNodesProgressing")
    log_in(page, console, who, detail_path(namespace, "watched"))
    panel = page.locator("#status-panel")
    expect(panel.locator("#current-state")).to_have_text("CoreNodesProgressing")
    expect(panel.locator("#live-mark")).to_have_text(re.compile(r"^live"))
    return panel


def test_a_session_ended_in_another_tab_sends_the_watched_page_to_log_in_and_back(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset, operator: Operator
) -> None:
    panel = _polling_page(page, console, admin_user, namespace, clientset, operator)
    other = page.context.new_page()
    other.goto(f"{console}/")
    other.get_by_role("button", name="Log out").click()
    # The next poll is answered with HX-Redirect: the whole page goes to log in, never the panel.
    expect(page).to_have_url(re.compile(r"/login/\?next="), timeout=LIVE_TIMEOUT_MS)
    expect(panel).to_have_count(0)
    expect(page.locator("form input[name=password]")).to_have_count(1)
    page.get_by_label("Username").fill(admin_user.username)
    page.get_by_label("Password").fill(admin_user.password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{console}{detail_path(namespace, 'watched')}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("watched")


def test_an_object_deleted_behind_the_users_back_is_said_deleted_and_polling_stops(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset, operator: Operator
) -> None:
    page.clock.install()  # the page's timers run when the test says: polls can be counted
    panel = _polling_page(page, console, admin_user, namespace, clientset, operator)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/_status" in r.url else None)
    clientset.apps_v2beta1.emqxes(namespace).delete("watched")  # as kubectl delete would
    state = panel.locator("#current-state")
    for _ in range(20):  # a poll every 2 s of the page's clock, until one brings the news
        page.clock.run_for(2_100)
        if state.inner_text() == "Deleted":
            break
        page.wait_for_load_state("networkidle")
    expect(state).to_have_text("Deleted")
    expect(panel.locator("#status-gone")).to_contain_text("no longer in the cluster")
    expect(panel.locator("#live-mark")).to_have_text("no longer updated")
    expect(page.locator("#object-tools")).to_have_count(0)  # no Edit or Delete for what is gone
    seen = len(polls)
    assert seen >= 1
    page.clock.run_for(10_000)  # ten seconds of the page's clock: an htmx poll every 2 s would fire 5 times
    page.wait_for_load_state("networkidle")
    assert len(polls) == seen, polls[seen:]


def test_a_withdrawn_grant_is_said_on_the_watched_page_and_polling_stops(
    page: Page, console: str, namespace: str, clientset: Clientset, operator: Operator, transactional_db: None
) -> None:
    user = User.objects.create_user("wendy", password="pw-wendy-1234567")
    grant = RoleGrant.objects.create(user=user, role="viewer", namespace=namespace)
    panel = _polling_page(page, console, Persona("wendy", "pw-wendy-1234567"), namespace, clientset, operator)
    grant.delete()
    expect(panel.locator("#current-state")).to_have_text("Not visible", timeout=LIVE_TIMEOUT_MS)
    expect(panel.locator("#status-gone")).to_contain_text("your access was withdrawn")
    expect(panel.locator("#live-mark")).to_have_text("no longer updated")


def test_an_offline_browser_says_the_connection_is_lost_and_recovers(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset, operator: Operator
) -> None:
    panel = _polling_page(page, console, admin_user, namespace, clientset, operator)
    page.context.set_offline(True)
    expect(panel.locator("#live-mark")).to_have_text("connection lost, retrying…", timeout=LIVE_TIMEOUT_MS)
    page.context.set_offline(False)
    expect(panel.locator("#live-mark")).to_have_text(re.compile(r"^live · updated "), timeout=LIVE_TIMEOUT_MS)


def test_the_live_mark_says_how_long_ago_the_data_was_confirmed(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset, operator: Operator
) -> None:
    panel = _polling_page(page, console, admin_user, namespace, clientset, operator)
    page.route("**/_status*", lambda route: route.fulfill(status=204))  # polls answer, but bring nothing new
    expect(panel.locator("#live-mark")).to_have_text(re.compile(r"^live · updated [3-9] s ago$"))
