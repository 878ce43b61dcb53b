"""Journey: who changed the image, and when did it go Progressing and then Ready? Edit an instance's
image in the browser, let the simulated operator roll it out, open History from the detail page:
the edit is there with its diff, and above it the state changes it caused, in order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from console.models import ConditionTransition
from console.timeline import RECORDER
from emqx.client.clientset import Clientset
from tests import factories
from tests.e2e.conftest import (
    LIVE_TIMEOUT_MS,
    Operator,
    Persona,
    detail_path,
    expect_settled,
    field,
    log_in,
    screenshot,
)
from tests.support import eventually

pytestmark = pytest.mark.django_db(transaction=True)

# (item, condition or action, data-current) of each history row, newest first.
ROWS = """() => [...document.querySelectorAll("#history tbody tr")]
  .map((r) => [r.dataset.item, r.dataset.condition || r.dataset.action, r.dataset.current || ""])"""


@pytest.fixture
def recording(settings: Any) -> Iterator[None]:
    """The condition timeline recorded (the in-memory test database turns it off by default)."""
    settings.CONSOLE_TIMELINE_RECORDING = True
    RECORDER.forget_all()
    yield
    assert RECORDER.flush()


def test_the_history_shows_who_changed_the_image_and_the_state_changes_that_followed(
    recording: None,
    page: Page,
    console: str,
    admin_user: Persona,
    namespace: str,
    clientset: Clientset,
    operator: Operator,
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(factories.emqx("historic", namespace=namespace, core_replicas=1))
    operator.step_until("historic", "Ready")
    log_in(page, console, admin_user, detail_path(namespace, "historic"))
    panel = page.locator("#status-panel")
    expect(panel.locator("#current-state")).to_have_text("Ready")
    # Condition times are whole seconds, and one condition set twice in a second is one change:
    # the rollout starts in a later second than the creation's last condition.
    created = max(c.last_transition_time for c in emqxes.get("historic").status.conditions or [])  # type: ignore[union-attr]
    eventually(lambda: dt.datetime.now(dt.UTC).replace(microsecond=0) > created)

    page.get_by_role("link", name="Edit", exact=True).click()
    field(page, "spec.image").fill("emqx/emqx:5.8.7")
    page.get_by_role("button", name="Review changes").click()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text(f"EMQX {namespace}/historic was saved")
    operator.start()
    expect_settled(panel, timeout=LIVE_TIMEOUT_MS)  # Ready for the new image
    eventually(
        lambda: (
            RECORDER.flush()
            and ConditionTransition.objects.filter(namespace=namespace, name="historic", generation=2, current=True)
            .filter(condition_type="Ready")
            .exists()
        ),
        message="the console never recorded the rollout's Ready",
    )

    page.get_by_role("link", name="History", exact=True).click()
    expect(page.get_by_role("heading", name="History of EMQX historic")).to_be_visible()
    edit = page.locator('#history tr[data-item="audit"]').first
    expect(edit).to_contain_text("update")
    expect(edit.locator("td").nth(1)).to_have_text("ada")
    edit.get_by_text("Diff", exact=True).click()
    expect(edit.locator(".diff-del")).to_have_text(["-  image: emqx/emqx:5.8.6"])
    expect(edit.locator(".diff-add")).to_have_text(["+  image: emqx/emqx:5.8.7"])

    rows: list[list[str]] = page.evaluate(ROWS)
    at = rows.index(["audit", "update", ""])
    states = [what for item, what, current in reversed(rows[:at]) if current == "true"]  # after it, oldest first
    assert states[0] == "CoreNodesProgressing" and states[-1] == "Ready", states
    expect(page.locator('#history tr[data-item="condition"][data-current="true"]').first).to_contain_text("Ready")
    screenshot(page, "history")
