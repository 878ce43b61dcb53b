"""Every page of the console, as a person reaches it, in the light and the dark theme (issue 20, items 2-4,
and issue 15's Content-Security-Policy):

- axe-core (tests/e2e/vendor/axe.min.js) finds no WCAG 2.0/2.1 A or AA violation, at desktop width in both
  themes and at 390 px with the menu open, after every polled partial (``_status``, ``_rows``, ``_dashboard``,
  the Events) has been swapped in at least once;
- the browser reports no Content-Security-Policy violation (``securitypolicyviolation`` events and CSP console
  messages) and no script error, from the first byte to the last check;
- at 360 and 390 px the page itself never scrolls sideways (``scrollWidth <= innerWidth``), with the menu shut
  and open, and every button, field and link of the navigation, the tables and the tool bars is at least
  44 px high;
- every action on the page is reached with the Tab key and shows a focus ring when it is.

One test per page checks all of these, so each page is loaded and polled once (the polls take up to 5 s).
The world is the demo data (``sandbox.demo_data``) under a namespace prefix of this module's own, on the 2.2
sandbox (cluster ``default``: EMQX, the 4.x brokers, Rebalances) and the 3.0 one (cluster ``next``: EMQX
v3beta1, API keys), with the simulated operator running there.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from console import clusters
from console.models import AuditEntry, ConditionTransition
from console.timeline import RECORDER
from emqx.client.clientset import Clientset
from sandbox import Sandbox
from sandbox.demo_data import seed
from sandbox.operator import Simulator
from sandbox.operator.common import PACE_ANNOTATION
from tests import factories
from tests.e2e.conftest import (
    LIVE_TIMEOUT_MS,
    PACE,
    VIEWPORT,
    Operator,
    Persona,
    detail_path,
    field,
    is_status_poll,
    log_in,
)
from tests.support import eventually

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# Served to the page from the console's own origin (page.route), so that script-src 'self' lets it run.
AXE_PATH = "/static/__tests__/axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE_WIDTHS = (360, 390)
MIN_TARGET = 44
# The namespaces of the demo data used here, per cluster.
NAMESPACES_22 = ("emqx-prod", "emqx-staging", "iot-lab")
NAMESPACES_30 = ("emqx-pilot",)


# ----- the world: the demo data under a prefix, its operator running ------------------------------------


@dataclass(frozen=True)
class World:
    prefix: str
    kubeconfig: Path
    kubeconfig_30: Path
    clientset: Clientset
    clientset_30: Clientset

    def ns(self, name: str) -> str:
        return self.prefix + name


def _status(cs: Clientset, kind: str, namespace: str, name: str) -> dict[str, Any]:
    return dict(cs.for_kind(kind, namespace).get(name).to_dict().get("status") or {})


def _has_conditions(cs: Clientset, kind: str, namespace: str, name: str) -> bool:
    return bool(_status(cs, kind, namespace, name).get("conditions"))


@pytest.fixture(scope="module")
def world(sandbox: Sandbox, sandbox_30: Sandbox) -> Iterator[World]:
    prefix = f"a11y-{secrets.token_hex(2)}-"
    with (
        Clientset.from_kubeconfig(sandbox.kubeconfig, field_manager="emqx-operator") as cs,
        Clientset.from_kubeconfig(sandbox_30.kubeconfig, field_manager="emqx-operator") as cs30,
    ):
        seed(cs, "2.2", prefix=prefix)
        seed(cs30, "3.0", prefix=prefix)
        sims = [Simulator(cs, pace=PACE, namespace=prefix + ns).start() for ns in NAMESPACES_22]
        sims += [Simulator(cs30, pace=PACE, namespace=prefix + ns).start() for ns in NAMESPACES_30]
        try:
            w = World(prefix, sandbox.kubeconfig, sandbox_30.kubeconfig, cs, cs30)
            shown = [
                (cs, "EMQX", "emqx-prod", "payments-gw"),
                (cs, "EmqxBroker", "emqx-staging", "legacy-broker"),
                (cs, "EmqxEnterprise", "emqx-prod", "legacy-ee"),
                (cs, "Rebalance", "emqx-prod", "payments-gw-rebalance"),
                (cs30, "EMQX", "emqx-pilot", "mqtt-next"),
                (cs30, "EMQXAPIKey", "emqx-pilot", "mqtt-next-ci"),
            ]
            for client, kind, namespace, name in shown:
                eventually(
                    lambda c=client, k=kind, n=namespace, o=name: _has_conditions(c, k, prefix + n, o),  # type: ignore[misc]
                    60,
                    message=f"{kind} {namespace}/{name} never got a status",
                )
            yield w
        finally:
            for sim in sims:
                sim.stop()


@pytest.fixture
def fleet(settings: Any, world: World, live_server: Any) -> Iterator[str]:
    """The live console with both clusters ("default" on operator 2.2, "next" on 3.0); its base URL."""
    clusters.reset()
    settings.CONSOLE_CLUSTERS = [
        {"name": "default", "kubeconfig": str(world.kubeconfig)},
        {"name": "next", "kubeconfig": str(world.kubeconfig_30)},
    ]
    yield str(live_server.url)
    clusters.reset()


@pytest.fixture
def ada(transactional_db: None) -> Persona:
    User.objects.create_superuser("ada", password="pw-ada-1234567")
    return Persona("ada", "pw-ada-1234567")


# ----- the pages -------------------------------------------------------------------------------------


@dataclass
class Visit:
    """What a screen's ``arrive`` step gets: the page, the console's base URL, the world."""

    page: Page
    base: str
    world: World

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path.format(p=self.world.prefix))


@dataclass(frozen=True)
class Screen:
    """A page of the console: where it is (``{p}`` is the world's namespace prefix) and, when it takes
    more than opening it, how a person gets there (``arrive``)."""

    key: str
    path: str
    arrive: Callable[[Visit], None] | None = None
    anonymous: bool = False
    records_timeline: bool = False
    language: str = ""
    """A language other than English, as the header's switcher sets it (the django_language cookie)."""

    def __str__(self) -> str:
        return self.key


def _kind_pages(slug: str, namespace: str, name: str, *, cluster: str = "default", key: str = "") -> list[Screen]:
    key = key or slug
    base = f"/clusters/{cluster}/{slug}/"
    obj = f"{base}{{p}}{namespace}/{name}/"
    return [
        Screen(f"{key}-list", f"{base}?namespace={{p}}{namespace}"),
        Screen(f"{key}-add", f"{base}add/?namespace={{p}}{namespace}"),
        Screen(f"{key}-detail", obj),
        Screen(f"{key}-change", f"{obj}change/"),
        Screen(f"{key}-delete", f"{obj}delete/"),
    ]


def _add_with_errors(v: Visit) -> None:
    v.goto("/clusters/default/emqx/add/?namespace={p}emqx-prod")
    v.page.locator('[name="metadata.name"]').fill("edge-eu")
    v.page.locator('[name="spec.image"]').fill("emqx/emqx 5.8.6")
    v.page.locator("#emqx-form button.default").click()  # Save, in any language
    expect(v.page.locator('[id="errors-spec.image"]')).to_be_visible()


def _review_a_change(v: Visit) -> None:
    v.goto("/clusters/default/emqx/{p}emqx-staging/canary/change/")
    v.page.locator('[name="spec.replicantTemplate.spec.replicas"]').fill("3")
    v.page.locator('#emqx-form button[value="preview"]').click()  # Review changes, in any language
    expect(v.page.locator("#changes")).to_be_visible()


def _conflict(v: Visit) -> None:
    v.goto("/clusters/default/emqx/{p}emqx-staging/canary/change/")
    # A colleague labels it meanwhile; then this person asks for a review of their own change.
    v.world.clientset.for_kind("EMQX", v.world.ns("emqx-staging")).patch(
        "canary", {"metadata": {"labels": {"touched-by": secrets.token_hex(3)}}}
    )
    v.page.locator('[name="spec.replicantTemplate.spec.replicas"]').fill("2")
    v.page.locator('#emqx-form button[value="preview"]').click()  # Review changes, in any language
    expect(v.page.locator("#conflict")).to_be_visible()


# The same in any language: the change form's review button by what it posts, not by its English name.
_REVIEW_BUTTON = 'button[name="step"][value="preview"]'


def _review_a_change_in_any_language(v: Visit) -> None:
    v.goto("/clusters/default/emqx/{p}emqx-staging/canary/change/")
    v.page.locator('[name="spec.replicantTemplate.spec.replicas"]').fill("3")
    v.page.locator(_REVIEW_BUTTON).click()
    expect(v.page.locator("#changes")).to_be_visible()


def _conflict_in_any_language(v: Visit) -> None:
    v.goto("/clusters/default/emqx/{p}emqx-staging/canary/change/")
    v.world.clientset.for_kind("EMQX", v.world.ns("emqx-staging")).patch(
        "canary", {"metadata": {"labels": {"touched-by": secrets.token_hex(3)}}}
    )
    v.page.locator('[name="spec.replicantTemplate.spec.replicas"]').fill("2")
    v.page.locator(_REVIEW_BUTTON).click()
    expect(v.page.locator("#conflict")).to_be_visible()


def _review_a_copy(v: Visit) -> None:
    v.goto("/clusters/default/emqx/{p}emqx-prod/payments-gw/saveasnew/")
    v.page.locator('[name="name"]').fill(f"payments-gw-{secrets.token_hex(2)}")
    v.page.get_by_role("button", name="Review the copy").click()
    expect(v.page.locator("#changes")).to_be_visible()


def _compare(v: Visit) -> None:
    v.goto("/clusters/default/emqx/{p}emqx-prod/payments-gw/compare/")
    v.page.locator('[name="cluster"]').select_option("default")
    v.page.locator('[name="namespace"]').fill(v.world.ns("emqx-staging"))
    v.page.locator('[name="name"]').fill("canary")
    v.page.get_by_role("button", name="Compare", exact=True).click()
    expect(v.page.locator("#comparison")).to_be_visible()


def _audit_trail(v: Visit) -> None:
    namespace = v.world.ns("emqx-staging")
    diff = "--- before\n+++ after\n@@ -3 +3 @@\n-    replicas: 1\n+    replicas: 2\n"
    common = {"username": "ada", "cluster": "default", "namespace": namespace, "kind": "EMQX", "name": "canary"}
    AuditEntry.objects.create(**common, action="change", outcome="success", request_id="a11y-1", diff=diff)
    AuditEntry.objects.create(
        **common, action="delete", outcome="failure", request_id="a11y-2", error="Forbidden: not allowed"
    )
    v.goto("/audit/")


def _timeline_recorded(v: Visit) -> None:
    # The detail page starts the cluster's EMQX cache, and with it the recorder: once it has written what it
    # found, the timeline has phases to show.
    v.goto("/clusters/default/emqx/{p}emqx-prod/mqtt-core/")
    namespace = v.world.ns("emqx-prod")
    eventually(
        lambda: RECORDER.flush() and ConditionTransition.objects.filter(namespace=namespace, name="mqtt-core").exists(),
        30,
        message="the recorder never wrote mqtt-core's conditions",
    )


def _timeline(v: Visit) -> None:
    _timeline_recorded(v)
    v.goto("/clusters/default/emqx/{p}emqx-prod/mqtt-core/timeline/")
    expect(v.page.locator("#phases")).to_be_visible()


def _updating(v: Visit) -> None:
    # canary's image changed, its new pods held at an hour each (the simulator's pace annotation): the
    # status panel shows the update in flight for as long as the checks take.
    namespace = v.world.ns("emqx-staging")
    eventually(lambda: _status(v.world.clientset, "EMQX", namespace, "canary").get("conditions"), 60)
    patch = {"metadata": {"annotations": {PACE_ANNOTATION: "3600"}}, "spec": {"image": "emqx/emqx-enterprise:5.8.7"}}
    v.world.clientset.apps_v2beta1.emqxes(namespace).patch("canary", patch)
    v.goto("/clusters/default/emqx/{p}emqx-staging/canary/")
    expect(v.page.locator("#update-progress")).to_be_visible(timeout=LIVE_TIMEOUT_MS)


def _history(v: Visit) -> None:
    # An edit, a refused delete and, once the recorder has written them, mqtt-core's conditions: every kind
    # of row the page has, one diff unfolded.
    _timeline_recorded(v)
    namespace = v.world.ns("emqx-prod")
    diff = "--- before\n+++ after\n@@ -3 +3 @@\n-  image: emqx/emqx:5.8.6\n+  image: emqx/emqx:5.8.7\n"
    ada = User.objects.get(username="ada")
    common = {"user": ada, "username": "ada", "cluster": "default", "namespace": namespace, "kind": "EMQX"}
    AuditEntry.objects.create(
        **common, name="mqtt-core", action="update", outcome="success", request_id="a11y-3", diff=diff
    )
    AuditEntry.objects.create(
        **common, name="mqtt-core", action="delete", outcome="failure", error="Forbidden: not allowed"
    )
    v.goto("/clusters/default/emqx/{p}emqx-prod/mqtt-core/history/")
    v.page.locator("#history summary").first.click()
    expect(v.page.locator("#history pre.diff").first).to_be_visible()


def _history_of_deleted(v: Visit) -> None:
    ada = User.objects.get(username="ada")
    AuditEntry.objects.create(
        user=ada, username="ada", cluster="default", namespace=v.world.ns("emqx-staging"), kind="EMQX",
        name="retired", action="delete", outcome="success",
    )  # fmt: skip
    v.goto("/clusters/default/emqx/{p}emqx-staging/retired/history/")
    expect(v.page.locator("#deleted")).to_be_visible()


def _dashboard_with_recent_actions(v: Visit) -> None:
    ada = User.objects.get(username="ada")
    common = {"cluster": "default", "namespace": v.world.ns("emqx-prod"), "kind": "EMQX", "name": "payments-gw"}
    AuditEntry.objects.create(**common, user=ada, username="ada", action="update", outcome="success")
    AuditEntry.objects.create(**common, user=None, username="bob", action="delete", outcome="failure")
    v.goto("/dashboard/")
    expect(v.page.locator("#others-actions")).to_be_visible()


def _action_confirmation(v: Visit) -> None:
    # A production namespace's instance: the page asks for its name typed.
    v.goto("/clusters/default/emqx/?namespace={p}emqx-prod")
    v.page.get_by_label(f"Select {v.world.ns('emqx-prod')}/payments-gw").check()
    v.page.locator('select[name="action"]').select_option(label="Delete selected")
    v.page.get_by_role("button", name="Go").click()
    expect(v.page.locator("#action-confirmation")).to_be_visible()


def _action_result(v: Visit) -> None:
    v.goto("/clusters/default/emqx/?namespace={p}emqx-staging")
    v.page.get_by_label(f"Select {v.world.ns('emqx-staging')}/canary").check()
    v.page.locator('select[name="action"]').select_option(label="Add or remove a label")
    v.page.get_by_role("button", name="Go").click()
    v.page.get_by_label("Label key").fill("checked-by")
    v.page.get_by_label("Value").fill("a11y")
    v.page.get_by_role("button", name=re.compile("^Yes, add or remove a label")).click()
    expect(v.page.locator("#action-outcomes")).to_be_visible()


SCREENS = [
    Screen("login", "/login/", anonymous=True),
    Screen("fleet-dashboard", "", arrive=_dashboard_with_recent_actions),
    Screen("cluster-dashboard", "/clusters/default/"),
    Screen("upgrade-checks", "/clusters/default/upgrade/"),
    Screen("audit-trail", "", arrive=_audit_trail),
    Screen("not-found", "/clusters/default/emqx/{p}emqx-prod/no-such-instance/"),
    *_kind_pages("emqx", "emqx-prod", "payments-gw"),
    Screen("emqx-add-with-errors", "", arrive=_add_with_errors),
    Screen("emqx-add-yaml", "/clusters/default/emqx/add/?mode=yaml&namespace={p}emqx-prod"),
    Screen("emqx-change-yaml", "/clusters/default/emqx/{p}emqx-staging/canary/change/?mode=yaml"),
    Screen("emqx-preview", "", arrive=_review_a_change),
    Screen("emqx-conflict", "", arrive=_conflict),
    Screen("emqx-timeline", "", arrive=_timeline, records_timeline=True),
    Screen("emqx-saveasnew", "/clusters/default/emqx/{p}emqx-prod/payments-gw/saveasnew/"),
    Screen("emqx-saveasnew-review", "", arrive=_review_a_copy),
    Screen("emqx-compare", "", arrive=_compare),
    Screen("emqxapikeys-compare", "/clusters/next/emqxapikeys/{p}emqx-pilot/mqtt-next-ci/compare/"),
    Screen("emqx-history", "", arrive=_history, records_timeline=True),
    Screen("emqx-detail-updating", "", arrive=_updating),
    Screen("emqx-history-deleted", "", arrive=_history_of_deleted),
    Screen("emqx-action-confirmation", "", arrive=_action_confirmation),
    Screen("emqx-action-result", "", arrive=_action_result),
    # The filter sidebar with choices active (one of them listing nothing: shown at 0), and on an API page.
    Screen("emqx-list-filtered", "/clusters/default/emqx/?namespace={p}emqx-prod&label.tier=edge&state=Failed"),
    Screen("emqx-list-filtered-api", "/clusters/default/emqx/?namespace={p}emqx-prod&label.tier=edge&source=api"),
    # In Simplified Chinese (issue 19): the pages translated so far, with the language switcher set to it.
    Screen("login-zh", "/login/", anonymous=True, language="zh-hans"),
    Screen("emqx-list-zh", "/clusters/default/emqx/?namespace={p}emqx-prod&label.tier=edge", language="zh-hans"),
    # ... the dashboards, upgrade checks, audit trail, History, timeline and a page not found.
    Screen("fleet-dashboard-zh", "", arrive=_dashboard_with_recent_actions, language="zh-hans"),
    Screen("cluster-dashboard-zh", "/clusters/default/", language="zh-hans"),
    Screen("upgrade-checks-zh", "/clusters/default/upgrade/", language="zh-hans"),
    Screen("audit-trail-zh", "", arrive=_audit_trail, language="zh-hans"),
    Screen("emqx-history-zh", "", arrive=_history, records_timeline=True, language="zh-hans"),
    Screen("emqx-timeline-zh", "", arrive=_timeline, records_timeline=True, language="zh-hans"),
    Screen("not-found-zh", "/clusters/default/emqx/{p}emqx-prod/no-such-instance/", language="zh-hans"),
    # ... the Chinese journey's pages (tests/e2e/test_journey_zh.py): a field error, a review, a conflict, a delete.
    Screen("emqx-add-with-errors-zh", "", arrive=_add_with_errors, language="zh-hans"),
    Screen("emqx-preview-zh", "", arrive=_review_a_change, language="zh-hans"),
    Screen("emqx-conflict-zh", "", arrive=_conflict, language="zh-hans"),
    Screen("emqx-delete-zh", "/clusters/default/emqx/{p}emqx-prod/payments-gw/delete/", language="zh-hans"),
    *_kind_pages("emqxbrokers", "emqx-staging", "legacy-broker"),
    *_kind_pages("emqxenterprises", "emqx-prod", "legacy-ee"),
    *_kind_pages("rebalances", "emqx-prod", "payments-gw-rebalance"),
    # The Rebalance wizard: the add form as "Rebalance…" on an EMQX Enterprise's page opens it.
    Screen(
        "rebalances-wizard",
        "/clusters/default/rebalances/add/?namespace={p}emqx-prod&spec.instanceKind=EMQX&spec.instanceName=payments-gw",
    ),
    Screen("emqx-v3beta1-detail", "/clusters/next/emqx/{p}emqx-pilot/mqtt-next/"),
    Screen("emqx-v3beta1-change", "/clusters/next/emqx/{p}emqx-pilot/mqtt-next/change/"),
    *_kind_pages("emqxapikeys", "emqx-pilot", "mqtt-next-ci", cluster="next"),
    # In Simplified Chinese (issue 19, zh-rest): the review and conflict of an edit, the 4.x and Rebalance forms,
    # EMQX v3beta1 and the API key's pages.
    Screen("emqx-preview-zh", "", arrive=_review_a_change_in_any_language, language="zh-hans"),
    Screen("emqx-conflict-zh", "", arrive=_conflict_in_any_language, language="zh-hans"),
    Screen(
        "emqxbrokers-change-zh",
        "/clusters/default/emqxbrokers/{p}emqx-staging/legacy-broker/change/",
        language="zh-hans",
    ),
    Screen(
        "rebalances-wizard-zh",
        "/clusters/default/rebalances/add/?namespace={p}emqx-prod&spec.instanceKind=EMQX&spec.instanceName=payments-gw",
        language="zh-hans",
    ),
    Screen("emqx-v3beta1-detail-zh", "/clusters/next/emqx/{p}emqx-pilot/mqtt-next/", language="zh-hans"),
    Screen("emqx-v3beta1-change-zh", "/clusters/next/emqx/{p}emqx-pilot/mqtt-next/change/", language="zh-hans"),
    Screen("emqxapikeys-detail-zh", "/clusters/next/emqxapikeys/{p}emqx-pilot/mqtt-next-ci/", language="zh-hans"),
    Screen("emqxapikeys-add-zh", "/clusters/next/emqxapikeys/add/?namespace={p}emqx-pilot", language="zh-hans"),
]


# ----- what the browser is asked ----------------------------------------------------------------------

# Before any script of the page: CSP violations and failed htmx requests go to the test as they happen (they
# also survive a navigation), and every settled htmx swap is noted by its target's id.
WATCH = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__report("CSP", `${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"}`
    + ` in ${e.sourceFile || location.pathname}:${e.lineNumber}${e.sample ? " (" + e.sample + ")" : ""}`);
});
for (const name of ["htmx:responseError", "htmx:sendError"]) {
  document.addEventListener(name, (e) => window.__report("poll", `${name}: ${e.detail.pathInfo.requestPath}`
    + ` answered ${e.detail.xhr ? e.detail.xhr.status : "-"}`));
}
window.__settled = new Set();
document.addEventListener("htmx:afterSettle", (e) => window.__settled.add(e.detail.target && e.detail.target.id));
"""

# The ids of the page's polled and lazily loaded regions (hx-trigger "every …" or "load").
POLLED = """() => [...document.querySelectorAll("[hx-trigger]")]
  .filter((e) => /^(every|load)\\b/.test(e.getAttribute("hx-trigger"))).map((e) => e.id)"""

LOAD_AXE = """(url) => window.axe ? true : new Promise((ok, fail) => {
  const s = document.createElement("script");
  s.src = url; s.onload = () => ok(true); s.onerror = () => fail(new Error("axe-core did not load"));
  document.head.appendChild(s);
})"""

RUN_AXE = """(tags) => axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
  .then((r) => r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\\n` + v.nodes.slice(0, 8).map((n) =>
    `      ${n.target.join(" ")}: ${(n.failureSummary || "").split("\\n").slice(1).join(" ").trim()}`
  ).join("\\n")))"""

# Visible, enabled things a person can act on: links, buttons, fields, disclosure summaries, focusable boxes.
ACTIONS = """() => {
  const all = [...document.querySelectorAll(
    'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), '
    + 'textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])')];
  return all.filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== "hidden"
    && !e.closest("[inert]")).map((e, i) => { e.dataset.a11yAction = String(i); return describe(e); });
  function describe(e) {
    const text = (e.getAttribute("aria-label") || e.textContent || e.getAttribute("name") || e.value || "").trim();
    return `<${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}> ${text.replace(/\\s+/g, " ").slice(0, 40)}`;
  }
}"""

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  const s = getComputedStyle(e), r = e.getBoundingClientRect();
  const ring = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== "none";
  const seen = r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
    && r.top < innerHeight && r.left < innerWidth;
  const text = (e.textContent || e.name || "").trim().slice(0, 40);
  const what = `<${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}> ${text}`;
  return {action: e.dataset.a11yAction ?? null, ring, seen, what};
}"""

# At phone widths: what a finger has to hit. Links inside running text are exempt (WCAG 2.5.5's "inline").
SMALL_TARGETS = """(min) => [...document.querySelectorAll(
    'button, select, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), textarea, summary, '
    + '#header a, nav a, td a, th a, .object-tools a, .module-tools a, .submit-row a, .paginator a, .exports a, '
    + '.facets a')]
  .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== "hidden")
  .map((e) => [e, e.getBoundingClientRect()])
  .filter(([e, r]) => r.height < min - 0.5)
  .map(([e, r]) => `<${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}> `
    + `"${(e.textContent || e.name || "").trim().slice(0, 30)}" is ${Math.round(r.height)} px high`)"""

SIDEWAYS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


@dataclass
class Findings:
    """Everything wrong with one page, by check; empty when the page passes."""

    problems: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def add(self, check: str, found: list[str]) -> None:
        if found:
            self.problems.setdefault(check, []).extend(found)

    def report(self) -> str:
        return "\n".join(
            f"  {check}:\n" + "\n".join(f"    {p}" for p in found) for check, found in self.problems.items()
        )


def axe(page: Page) -> list[str]:
    page.evaluate(LOAD_AXE, AXE_PATH)
    return list(page.evaluate(RUN_AXE, WCAG_TAGS))


def keyboard(page: Page) -> list[str]:
    """Tab through the page from its start: every action is reached, each with a visible focus ring."""
    actions: list[str] = page.evaluate(ACTIONS)
    # Tab order starts from the top of the document (not from an autofocused field).
    page.evaluate("() => { const h = document.documentElement; h.tabIndex = -1; h.focus(); window.scrollTo(0, 0); }")
    reached: set[str] = set()
    problems: list[str] = []
    previous = None
    # A field may take several Tabs (a date's parts): the walk ends when it comes back to the start.
    for _ in range(3 * len(actions) + 20):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        if now is None:
            break
        if now["action"] is not None:
            if now["action"] in reached and now["action"] != previous:
                break
            reached.add(now["action"])
        previous = now["action"]
        if not now["ring"]:
            problems.append(f"no focus ring on {now['what']}")
        if not now["seen"]:
            problems.append(f"focused but not in view: {now['what']}")
    problems += [f"never reached with Tab: {a}" for i, a in enumerate(actions) if str(i) not in reached]
    page.evaluate("() => document.documentElement.removeAttribute('tabindex')")
    return problems


def phone(page: Page, theme: str) -> tuple[list[str], list[str]]:
    """At 360 and 390 px, menu shut and open: (sideways scrolling, small touch targets)."""
    sideways: list[str] = []
    small: list[str] = []
    toggle = page.locator("#nav-toggle")
    for width in PHONE_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        states = ["shut", "open"] if toggle.count() else ["(no menu)"]
        for state in states:
            if state == "open":
                toggle.click()
                expect(toggle).to_have_attribute("aria-expanded", "true")
            scroll_width, inner_width = page.evaluate(SIDEWAYS)
            if scroll_width > inner_width:
                sideways.append(f"{theme}, {width} px, menu {state}: the page is {scroll_width} px wide")
            if state != "shut":
                small += [f"{width} px: {t}" for t in page.evaluate(SMALL_TARGETS, MIN_TARGET)]
            if state == "open":
                toggle.click()
    return sideways, sorted(set(small))


@pytest.fixture
def audited(browser: Browser, fleet: str, ada: Persona) -> Iterator[tuple[BrowserContext, list[str]]]:
    """A browser context logged in as ada (a session made by Django's test client), watching for CSP
    violations, script errors and failed polls (collected in the list), serving axe-core from the console's
    origin."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    errors: list[str] = []
    context.expose_function("__report", lambda what, text: errors.append(f"{what}: {text}"))
    context.add_init_script(WATCH)
    context.route(f"**{AXE_PATH}", lambda route: route.fulfill(path=AXE, content_type="text/javascript"))
    yield context, errors
    context.close()


def _log_in(context: BrowserContext, base: str, username: str) -> None:
    client = Client()
    client.force_login(User.objects.get(username=username), backend="console.sessions.SessionUserBackend")
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": base}])


def _watch_page(page: Page, errors: list[str]) -> None:
    page.on("pageerror", lambda error: errors.append(f"script error: {error}"))
    page.on(
        "console",
        lambda m: (
            errors.append(f"console: {m.text}")
            if m.type == "error" and re.search(r"Content.Security.Policy|htmx", m.text)
            else None
        ),
    )


@pytest.mark.parametrize("screen", SCREENS, ids=str)
def test_the_page_passes_axe_keeps_the_csp_fits_a_phone_and_works_by_keyboard(
    screen: Screen, audited: tuple[BrowserContext, list[str]], fleet: str, world: World, settings: Any
) -> None:
    context, errors = audited
    if screen.records_timeline:
        settings.CONSOLE_TIMELINE_RECORDING = True
        RECORDER.forget_all()
    if not screen.anonymous:
        _log_in(context, fleet, "ada")
    if screen.language:
        context.add_cookies([{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": screen.language, "url": fleet}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    _watch_page(page, errors)
    visit = Visit(page, fleet, world)
    if screen.arrive:
        screen.arrive(visit)
    else:
        visit.goto(screen.path)
    # Every polled or lazily loaded region has been filled by its partial at least once.
    polled = page.evaluate(POLLED)
    try:
        page.wait_for_function("(ids) => ids.every((id) => window.__settled.has(id))", arg=polled, timeout=20_000)
    except PlaywrightTimeoutError:
        unfilled = page.evaluate("(ids) => ids.filter((id) => !window.__settled.has(id))", polled)
        pytest.fail(f"{screen.key}: never filled by its partial: {', '.join(unfilled)}; {'; '.join(errors)}")

    findings = Findings()
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)  # type: ignore[arg-type]
        page.set_viewport_size(VIEWPORT)  # type: ignore[arg-type]
        findings.add(f"axe-core, {theme} theme, {VIEWPORT['width']} px", axe(page))
        if theme == "light":
            findings.add("keyboard", keyboard(page))
        sideways, small = phone(page, theme)
        findings.add("sideways scrolling", sideways)
        if theme == "light":
            findings.add(f"touch targets under {MIN_TARGET} px", small)
        toggle = page.locator("#nav-toggle")
        if toggle.count():
            toggle.click()  # the menu open: its links are checked too
        findings.add(f"axe-core, {theme} theme, 390 px", axe(page))
        if toggle.count():
            toggle.click()
    findings.add("Content-Security-Policy, script errors and failed polls", errors)
    if screen.records_timeline:
        assert RECORDER.flush()
    assert not findings.problems, f"{screen.key}:\n{findings.report()}"


# ----- the behaviours behind the checks above -------------------------------------------------------------


def _phone(page: Page, width: int = 360) -> None:
    page.set_viewport_size({"width": width, "height": 800})


def test_the_pages_send_a_strict_csp_and_htmx_runs_without_eval(page: Page, console: str, admin_user: Persona) -> None:
    response = page.goto(f"{console}/login/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe" not in policy
    assert page.evaluate("() => [htmx.config.allowEval, htmx.config.includeIndicatorStyles]") == [False, False]
    assert page.locator("script:not([src])").count() == 0 and page.locator("[style]").count() == 0


def test_the_dark_theme_follows_the_system(browser: Browser, console: str) -> None:
    colours = {}
    for theme in ("light", "dark"):
        context = browser.new_context(viewport=VIEWPORT, color_scheme=theme)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(f"{console}/login/")
        colours[theme] = page.evaluate(
            "() => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]"
        )
        context.close()
    assert colours["light"] == ["rgb(255, 255, 255)", "rgb(51, 51, 51)"]
    assert colours["dark"] == ["rgb(18, 18, 18)", "rgb(230, 230, 230)"]


def test_on_a_phone_the_navigation_collapses_behind_a_menu_button_that_works_by_keyboard(
    page: Page, console: str, admin_user: Persona
) -> None:
    log_in(page, console, admin_user, "/clusters/default/emqx/")
    sections = page.get_by_role("navigation", name="Sections")
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_hidden()  # a wide screen shows everything
    expect(sections.get_by_role("link", name="Audit trail")).to_be_visible()

    _phone(page)
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(sections).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(sections.get_by_role("link", name="Audit trail")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.keyboard.press("Tab")  # into the menu it opened
    page.keyboard.press("Escape")  # closes it and gives the focus back to the button
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    expect(sections).to_be_hidden()


def test_choosing_a_namespace_filters_the_list_at_once(
    page: Page, console: str, admin_user: Persona, clientset: Clientset, namespace: str
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("chosen", namespace=namespace))
    log_in(page, console, admin_user, "/clusters/default/emqx/")
    # The select, not a row's checkbox ("Select <namespace>/<name>": this namespace's name holds "namespace").
    page.get_by_role("combobox", name=re.compile(r"^Namespace")).select_option(
        namespace
    )  # no button pressed: static/console/nav.js submits
    expect(page).to_have_url(re.compile(rf"\?namespace={namespace}(&|$)"))
    expect(page.locator(".result-list tbody tr")).to_have_count(1)


def test_on_a_phone_the_filter_sidebar_folds_above_the_table_and_its_choices_filter_the_list(
    page: Page, console: str, admin_user: Persona, clientset: Clientset, namespace: str
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(factories.emqx("old", namespace=namespace, image="emqx/emqx:5.7.2"))
    emqxes.create(factories.emqx("new", namespace=namespace, image="emqx/emqx:5.8.6"))
    log_in(page, console, admin_user, f"/clusters/default/emqx/?namespace={namespace}")
    _phone(page, 390)
    page.reload()
    sidebar = page.locator("details.facets")
    expect(sidebar).not_to_have_attribute("open", "")
    table = page.locator(".result-list")
    assert sidebar.bounding_box()["y"] < table.bounding_box()["y"], "the sidebar comes above the table"  # type: ignore[index]
    sidebar.locator("summary").click()
    choice = sidebar.get_by_role("link", name="5.8.6 (1)")
    expect(choice).to_be_visible()
    assert choice.bounding_box()["height"] >= MIN_TARGET  # type: ignore[index]
    choice.click()
    expect(page).to_have_url(re.compile(r"version=5\.8\.6"))
    expect(page.locator(".result-list tbody tr")).to_have_count(1)
    expect(page.locator(".result-list tbody")).to_contain_text("new")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    _phone(page, 1280)
    expect(page.locator("details.facets")).to_have_attribute("open", "")


def test_form_errors_and_help_are_the_fields_accessible_description(
    page: Page, console: str, admin_user: Persona, namespace: str
) -> None:
    log_in(page, console, admin_user, f"/clusters/default/emqx/add/?namespace={namespace}")
    field(page, "metadata.name").fill("edge-eu")
    field(page, "spec.image").fill("emqx/emqx 5.8.6")
    page.get_by_role("button", name="Save", exact=True).click()
    image = field(page, "spec.image")
    expect(image).to_have_attribute("aria-invalid", "true")
    expect(image).to_have_accessible_description(re.compile(r"^Not an image reference.* The EMQX image and version"))
    expect(field(page, "metadata.name")).to_have_accessible_description(re.compile("^Lower case letters"))


def test_status_changes_and_a_lost_connection_are_announced_in_the_polite_live_region(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset, operator: Operator
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("told", namespace=namespace, core_replicas=3))
    operator.step_until("told", "CoreNodesProgressing")
    log_in(page, console, admin_user, detail_path(namespace, "told"))
    panel = page.locator("#status-panel")
    expect(panel.locator("#current-state")).to_have_text("CoreNodesProgressing")
    # The panel is swapped every 2 s but is no live region itself: only the announcer speaks.
    assert panel.get_attribute("aria-live") is None and panel.get_attribute("role") is None
    announcer = page.get_by_role("status")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_have_text("")

    operator.step_until("told", "CoreNodesReady")
    expect(announcer).to_have_text("Status: CoreNodesReady", timeout=LIVE_TIMEOUT_MS)
    page.context.set_offline(True)
    expect(announcer).to_have_text("Connection lost, retrying…", timeout=LIVE_TIMEOUT_MS)
    page.context.set_offline(False)
    expect(announcer).to_have_text(re.compile("^Connection back"), timeout=LIVE_TIMEOUT_MS)


def test_polls_pause_while_the_tab_is_hidden_and_resume_when_it_is_shown(
    page: Page, console: str, admin_user: Persona, namespace: str, clientset: Clientset, operator: Operator
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("watched", namespace=namespace, core_replicas=3))
    operator.step_until("watched", "CoreNodesProgressing")
    log_in(page, console, admin_user, detail_path(namespace, "watched"))
    panel = page.locator("#status-panel")
    expect(panel.locator("#live-mark")).to_have_text(re.compile(r"^live"))
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if is_status_poll(r.url) else None)

    page.evaluate("() => Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true})")
    sent = len(polls)
    expect(panel).to_have_attribute("data-paused", "hidden", timeout=LIVE_TIMEOUT_MS)  # a poll came due, unsent
    assert len(polls) == sent

    page.evaluate("() => Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true})")
    with page.expect_request(lambda r: is_status_poll(r.url), timeout=LIVE_TIMEOUT_MS):
        pass
    expect(panel).not_to_have_attribute("data-paused", "hidden")
