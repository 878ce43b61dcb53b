"""Journey 7: the API server goes away while a page is open, and comes back."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from emqx.client.clientset import Clientset
from sandbox import Sandbox
from tests import factories
from tests.e2e.conftest import LIVE_TIMEOUT_MS, Operator, Persona, detail_path, expect_live, log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

# Noticing the outage takes one poll; coming back takes the API server's restart (etcd,
# kube-apiserver, /readyz: several seconds on a busy CI machine) plus the informer's backoff.
RECOVERY_TIMEOUT_MS = 45_000


def test_an_open_page_shows_the_outage_and_recovers_without_a_reload(
    page: Page,
    console: str,
    admin_user: Persona,
    namespace: str,
    clientset: Clientset,
    operator: Operator,
    sandbox: Sandbox,
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("weathered", namespace=namespace, core_replicas=3))
    operator.step_until("weathered", "CoreNodesProgressing")  # mid-rollout: the page polls
    log_in(page, console, admin_user, detail_path(namespace, "weathered"))
    panel = page.locator("#status-panel")
    state = panel.locator("#current-state")
    expect(state).to_have_text("CoreNodesProgressing")
    expect_live(panel)
    expect(page.locator("#cluster-banner")).to_have_count(0)
    page.evaluate("window.__sameDocument = true")  # gone if the page were reloaded

    with sandbox.outage():
        banner = page.locator("#cluster-banner")
        expect(banner).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        expect(banner).to_contain_text("Cluster default is unreachable")
        expect(banner).to_contain_text("Showing the last known state")
        # The last known state stays on the page under the banner.
        expect(state).to_have_text("CoreNodesProgressing")
        # ... and the live mark says since when it is not updated.
        expect(panel.locator("#live-mark")).to_have_text(re.compile(r"^stale since \d\d:\d\d:\d\d UTC$"))
        screenshot(page, "outage")

    # Back: the operator carries on, and the open page follows without being reloaded.
    operator.start()
    expect(page.locator("#cluster-banner")).to_have_count(0, timeout=RECOVERY_TIMEOUT_MS)
    expect(panel.locator("#live-mark")).not_to_have_text(re.compile("stale"))
    expect(state).to_have_text("Ready", timeout=LIVE_TIMEOUT_MS)
    expect(panel.locator("#core-counts")).to_have_text("3/3")
    assert page.evaluate("window.__sameDocument") is True
