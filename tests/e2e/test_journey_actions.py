"""Journey: an action on several instances from the change list. Tick three rows (the list keeps
polling meanwhile), choose Scale, give the core count, confirm on the page that lists all three,
and watch the result page follow each instance while the simulated operator rolls it out, until
all three have settled at the new size; the cluster agrees."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from emqx.client.clientset import Clientset
from sandbox.operator import PACE_ANNOTATION
from tests import factories
from tests.e2e.conftest import LIVE_TIMEOUT_MS, Operator, Persona, log_in
from tests.support import eventually

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = ("north", "south", "west")


def _ready(clientset: Clientset, namespace: str, name: str, replicas: int) -> bool:
    obj = clientset.apps_v2beta1.emqxes(namespace).get(name)
    status = obj.status
    conditions = (status.conditions or []) if status else []
    ready = bool(conditions) and conditions[0].type == "Ready" and conditions[0].status == "True"
    counted = status is not None and status.core_nodes_status is not None
    return ready and counted and status.core_nodes_status.ready_replicas == replicas  # type: ignore[union-attr]


def test_three_selected_instances_are_scaled_and_followed_until_they_settle(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset, operator: Operator
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    # Two seconds a pod: each rollout outlasts a poll of the result page (every 2 s), which shows it under way.
    for name in (*NAMES, "east"):
        emqxes.create(factories.emqx(name, namespace=namespace, core_replicas=1, annotations={PACE_ANNOTATION: "2"}))
    operator.start()
    for name in NAMES:
        eventually(lambda n=name: _ready(clientset, namespace, n, 1), 60, message=f"{name} never became Ready")  # type: ignore[misc]

    log_in(page, console, admin_user, f"/clusters/default/emqx/?namespace={namespace}")
    expect(page.locator("#emqx-table tbody tr")).to_have_count(4)
    for name in NAMES:
        page.get_by_label(f"Select {namespace}/{name}").check()
    expect(page.locator("#emqx-selection")).to_have_text("3 of 4 selected")
    page.get_by_role("combobox", name=re.compile(r"^Action")).select_option(label="Scale")
    page.get_by_role("button", name="Go").click()

    expect(page.get_by_role("heading", name="Scale: 3 EMQX instances")).to_be_visible()
    targets = page.locator("#action-targets tbody tr")
    expect(targets).to_have_count(3)
    for name in NAMES:
        expect(targets.filter(has_text=name)).to_contain_text("core replicas 1")
    page.get_by_label("Core replicas").fill("3")
    page.get_by_role("button", name="Yes, scale 3").click()

    expect(page.get_by_role("heading", name="Scale: 3 done")).to_be_visible()
    outcomes = page.locator("#action-outcomes tbody tr")
    expect(outcomes).to_have_count(3)
    # Under way: each one's status is no longer the Ready it was, and the page follows it live.
    for name in NAMES:
        row = outcomes.filter(has_text=name)
        expect(row).to_contain_text("in progress", timeout=LIVE_TIMEOUT_MS)
        expect(row.locator("td").nth(3)).not_to_have_text(re.compile(r"^Ready"), timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#action-live-mark")).to_have_text(re.compile(r"^live"))
    # Settled: the page stops following once all three are Ready at their new size.
    expect(page.locator("#action-live-mark")).to_have_text(re.compile(r"^settled"), timeout=60_000)
    for name in NAMES:
        row = outcomes.filter(has_text=name)
        expect(row).to_contain_text("Done")
        expect(row.locator("td").nth(3)).to_have_text("Ready")
        assert _ready(clientset, namespace, name, 3)
    assert emqxes.get("east").to_dict()["spec"]["coreTemplate"]["spec"]["replicas"] == 1  # not selected
