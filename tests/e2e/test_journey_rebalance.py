"""Journey: rebalance an EMQX Enterprise from its page. "Rebalance…" opens the Rebalance form for
it with the operator's defaults, Save creates it, and its page follows the phase live while the
simulated operator (2.2) runs it until Completed; the instance's page then lists it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from emqx.client.clientset import Clientset
from tests import factories
from tests.e2e.conftest import LIVE_TIMEOUT_MS, Operator, Persona, current_state, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_wizard_starts_a_rebalance_followed_live_until_completed(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset, operator: Operator
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(
        factories.emqx(
            "ee", namespace=namespace, image="emqx/emqx-enterprise:5.8.6", core_replicas=1, replicant_replicas=2
        )
    )
    operator.step_until("ee", "Ready")
    operator.start()

    log_in(page, console, admin_user, f"/clusters/default/emqx/{namespace}/ee/")
    expect(page.locator("#rebalances")).to_contain_text("No Rebalance of this instance.")
    page.get_by_role("link", name="Rebalance…").click()

    expect(page.locator('[name="spec.instanceName"]')).to_have_value("ee")
    expect(page.get_by_label("Session evict rate")).to_have_value("500")
    page.get_by_label("Connection evict rate").fill("50")
    page.get_by_role("button", name=re.compile("^Save$")).click()

    expect(page.get_by_role("heading", name=re.compile(r"^Rebalance ee-rebalance-"))).to_be_visible()
    expect(current_state(page)).to_have_text("Completed", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#stop-rebalance")).to_have_count(0)

    page.goto(f"{console}/clusters/default/emqx/{namespace}/ee/")
    expect(page.locator("#rebalances tr.rebalance")).to_contain_text("Completed")
