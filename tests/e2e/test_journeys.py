"""Journeys: one person's flow per kind, in Chromium, with the simulated operator writing status.

Each journey adds an object through the form, sees it in the list and on its page while the
operator brings it to its ready condition (live, without a reload), changes it through the form
(with the preview, then Save), and deletes it (after the confirmation page). After every step
``kubectl get <plural> -n <namespace> <name> -o json`` must agree, field by field, with what the
page showed: name, namespace, image and version, replicas (or what a Rebalance has instead),
labels, the uid and generation, and the condition in the status panel.

The steps are the same for every kind; what differs (fields, the ready condition, what changes,
how the summary shows the object) is data: a :class:`Journey`. The seed's own flow is the first
one, an EmqxBroker v1beta1 on a 2021 cluster; then EmqxBroker and EmqxEnterprise v1beta4 and a
Rebalance v2beta1 on today's CRDs.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from console import clusters
from emqx.client.clientset import Clientset
from sandbox import Sandbox
from tests import factories
from tests.conftest import KubectlRunner, run_kubectl
from tests.e2e.conftest import (
    LIVE_TIMEOUT_MS,
    Operator,
    Persona,
    Say,
    english,
    expect_live,
    expect_settled,
    field,
    log_in,
    screenshot,
)

pytestmark = pytest.mark.django_db(transaction=True)

Obj = dict[str, Any]

# ----- what differs between kinds -------------------------------------------------------------


def _at(obj: Mapping[str, Any], path: str) -> Any:
    """The value at a JSON path (``spec.template.spec.emqxContainer.image.version``), or None."""
    value: Any = obj
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _as_form_text(value: Any) -> str:
    """A stored value as the form shows it: maps as key=value lines, absent as empty."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return "\n".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _tag(image: str) -> str:
    return image.rsplit(":", 1)[1]


def _broker_v1beta1(obj: Obj) -> dict[str, str]:
    image = obj["spec"]["image"]
    return {"Image": image, "Version": _tag(image), "Replicas": str(obj["spec"]["replicas"])}


def _broker_v1beta4(obj: Obj) -> dict[str, str]:
    image = _at(obj, "spec.template.spec.emqxContainer.image")
    reference = f"{image['repository']}:{image['version']}"
    return {"Image": reference, "Version": image["version"], "Replicas": str(obj["spec"]["replicas"])}


def _rebalance(obj: Obj) -> dict[str, str]:
    spec = obj["spec"]
    return {
        "Instance": f"{spec['instanceKind']} {spec['instanceName']}",
        "Connection evict rate": str(spec["rebalanceStrategy"]["connEvictRate"]),
    }


def _broker_row(obj: Obj) -> dict[str, str]:
    shown = _broker_v1beta4(obj) if "template" in obj["spec"] else _broker_v1beta1(obj)
    return {"Version": shown["Version"]}


def _nodes_ready_v1beta4(obj: Obj) -> str:
    return f"{obj['status']['readyReplicas']}/{obj['spec']['replicas']}"


@dataclass(frozen=True)
class Journey:
    kind: str  # as the console's messages name it
    resource: str  # kubectl's resource name
    slug: str
    title: str  # the admin's verbose name: "Add EMQX broker", "EMQX broker seed"
    api_version: str
    typed: dict[str, str]  # form field (JSON path) -> what the person types
    chosen: dict[str, str]  # select (JSON path) -> the option the person picks
    ready: str  # the condition the status panel shows once the operator is done
    change: tuple[str, str, str]  # the field changed on the edit form: path, before, after
    summary: Callable[[Obj], dict[str, str]]  # the summary's rows, from kubectl's object
    row: Callable[[Obj], dict[str, str]]  # the list's kind-specific cells, from kubectl's object
    nodes_ready: Callable[[Obj], str] | None = None  # "Nodes ready" on the page, from kubectl's object
    diff: tuple[str, str] = ("", "")  # the preview's YAML diff lines (without +/-)
    follows_changes: bool = True  # the operator acts on a change (a Rebalance's outcome is final)
    change_condition: str = ""  # a condition the operator sets on acting on the change
    labels: dict[str, str] = dataclass_field(default_factory=lambda: {"cluster": "emqx"})


SEED_2021 = Journey(
    kind="EmqxBroker",
    resource="emqxbrokers",
    slug="emqxbrokers",
    title="EMQX broker",
    api_version="apps.emqx.io/v1beta1",
    # The v1beta1 spec has both metadata labels and the pods' labels (spec.labels), which
    # operator 1.0 requires.
    typed={
        "spec.image": "emqx/emqx:4.3.10",
        "spec.replicas": "3",
        "metadata.labels": "cluster=emqx",
        "spec.labels": "cluster=emqx",
    },
    chosen={},
    ready="Healthy",
    change_condition="Scaling",
    change=("spec.replicas", "3", "5"),
    diff=("  replicas: 3", "  replicas: 5"),
    summary=_broker_v1beta1,
    row=_broker_row,
)

BROKER_V1BETA4 = Journey(
    kind="EmqxBroker",
    resource="emqxbrokers",
    slug="emqxbrokers",
    title="EMQX broker",
    api_version="apps.emqx.io/v1beta4",
    typed={
        "spec.template.spec.emqxContainer.image.repository": "emqx/emqx",
        "spec.template.spec.emqxContainer.image.version": "4.4.19",
        "spec.replicas": "3",
        "metadata.labels": "cluster=emqx",
    },
    chosen={},
    ready="Running",
    change=("spec.replicas", "3", "5"),
    diff=("  replicas: 3", "  replicas: 5"),
    summary=_broker_v1beta4,
    row=_broker_row,
    nodes_ready=_nodes_ready_v1beta4,
)

ENTERPRISE_V1BETA4 = dataclasses.replace(
    BROKER_V1BETA4,
    kind="EmqxEnterprise",
    resource="emqxenterprises",
    slug="emqxenterprises",
    title="EMQX Enterprise",
    typed={**BROKER_V1BETA4.typed, "spec.template.spec.emqxContainer.image.repository": "emqx/emqx-ee"},
)

# An EMQX Enterprise 5 instance for the Rebalance to act on, created first with the client.
TARGET = "mqtt-ee"

REBALANCE_V2BETA1 = Journey(
    kind="Rebalance",
    resource="rebalances",
    slug="rebalances",
    title="Rebalance",
    api_version="apps.emqx.io/v2beta1",
    typed={"spec.rebalanceStrategy.connEvictRate": "10", "metadata.labels": "cluster=emqx"},
    chosen={"spec.instanceKind": "EMQX", "spec.instanceName": TARGET},
    ready="Completed",
    change=("spec.rebalanceStrategy.connEvictRate", "10", "20"),
    diff=("  connEvictRate: 10", "  connEvictRate: 20"),
    summary=_rebalance,
    follows_changes=False,
    row=lambda obj: {"Target": _rebalance(obj)["Instance"]},
)


# ----- the clusters ---------------------------------------------------------------------------


@dataclass
class World:
    """The console the person uses, and the cluster behind it as kubectl sees it."""

    base: str
    namespace: str
    kubectl: KubectlRunner
    operator: Operator

    def get(self, journey: Journey, name: str) -> Obj | None:
        """``kubectl get <plural> -n <namespace> <name> -o json``; None once it is gone."""
        done = self.kubectl("get", journey.resource, "-n", self.namespace, name, "-o", "json")
        if done.returncode != 0:
            assert "NotFound" in done.stderr, done.stderr
            return None
        obj: Obj = json.loads(done.stdout)
        return obj


@pytest.fixture
def world(console: str, namespace: str, kubectl: KubectlRunner, operator: Operator) -> World:
    """Today's CRDs: the session's sandbox."""
    return World(console, namespace, kubectl, operator)


@pytest.fixture
def world_2021(settings: Any, sandbox_2021: Sandbox, live_server: Any) -> Iterator[World]:
    """A 2021 cluster (EmqxBroker/EmqxEnterprise v1beta1 only) as the console's cluster "default",
    a namespace of the test's own on it, and the simulated operator there."""
    clusters.reset()
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox_2021.kubeconfig)}]
    namespace = f"t-journey-2021-{secrets.token_hex(3)}"
    sandbox_2021.create_namespace(namespace)

    def kubectl(*args: str, input: str | None = None) -> Any:
        return run_kubectl(sandbox_2021.kubeconfig, *args, input=input)

    with Clientset.from_kubeconfig(sandbox_2021.kubeconfig) as cs:
        operator = Operator(cs, namespace)
        try:
            yield World(str(live_server.url), namespace, kubectl, operator)
        finally:
            operator.stop()
            clusters.reset()


# ----- reading the page -----------------------------------------------------------------------


def summary_rows(page: Page) -> dict[str, str]:
    """The detail page's summary as label -> text."""
    grid = page.locator(".summary-grid")
    labels = grid.locator("dt").all_inner_texts()
    values = grid.locator("dd").all_inner_texts()
    return {label.strip(): value.strip() for label, value in zip(labels, values, strict=True)}


def table_row(page: Page, table: Locator, name: str) -> Locator:
    return table.locator("tbody tr", has=page.get_by_role("link", name=name, exact=True))


def cell(table: Locator, row: Locator, header: str) -> Locator:
    """The row's cell under the column headed ``header`` (sort marks aside)."""
    headers = [re.sub(r"[ ▲▼]+$", "", h.strip()) for h in table.locator("thead th").all_text_contents()]
    return row.locator("td").nth(headers.index(header))


def labels_on_page(page: Page) -> dict[str, str]:
    shown = page.locator(".summary-grid .label").all_inner_texts()
    return dict(text.strip().split("=", 1) for text in shown)


# ----- the agreements after each step ---------------------------------------------------------


def expect_detail_agrees(page: Page, journey: Journey, obj: Obj, *, say: Say = english) -> None:
    """The detail page shows the object kubectl returns: name, namespace, uid, generation, the
    kind's own rows (image, version, replicas...) and the labels; its texts in ``say``'s language."""
    meta = obj["metadata"]
    where = say("in %(namespace)s", namespace=meta["namespace"])
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{say(journey.title)} {meta['name']} {where}")
    shown = summary_rows(page)
    assert obj["apiVersion"] == journey.api_version
    assert shown[say("API version")] == obj["apiVersion"]
    assert shown["UID"] == meta["uid"]
    assert shown[say("Generation")].split(" ", 1)[0] == str(meta["generation"])
    expected = {say(label): value for label, value in journey.summary(obj).items()}
    assert {label: shown.get(label) for label in expected} == expected
    assert labels_on_page(page) == meta.get("labels", {}) == journey.labels


def expect_status_agrees(page: Page, journey: Journey, obj: Obj) -> None:
    """The settled status panel shows kubectl's conditions, the ready one first (True)."""
    conditions = obj["status"]["conditions"]
    assert (conditions[0]["type"], conditions[0]["status"]) == (journey.ready, "True")
    panel = page.locator("#status-panel")
    expect(panel.locator("#current-state")).to_have_text(journey.ready)
    rows = panel.locator("tr.condition")
    expect(rows).to_have_count(len(conditions))
    for row, condition in zip(rows.all(), conditions, strict=True):
        expect(row).to_have_attribute("data-type", condition["type"])
        expect(row.locator("td").nth(1)).to_have_text(condition["status"])
        expect(row.locator("td").nth(2)).to_have_text(condition.get("reason") or "")
    if journey.nodes_ready is not None:
        expect(panel.locator("#nodes-counts")).to_have_text(journey.nodes_ready(obj))
    else:  # kubectl's object counts no nodes: neither does the page
        expect(panel.locator("#nodes-counts")).to_have_count(0)


def expect_form_agrees(page: Page, journey: Journey, obj: Obj) -> None:
    """The edit form starts from what kubectl returns, field by field."""
    expect(field(page, "metadata.name")).to_have_value(obj["metadata"]["name"])
    expect(field(page, "metadata.namespace")).to_have_value(obj["metadata"]["namespace"])
    for path in {**journey.typed, **journey.chosen}:
        expect(field(page, path)).to_have_value(_as_form_text(_at(obj, path)))


# ----- the journey ----------------------------------------------------------------------------


def walk(page: Page, admin: Persona, world: World, journey: Journey, name: str) -> None:
    ns, kind, title = world.namespace, journey.kind, journey.title
    list_path = f"/clusters/default/{journey.slug}/?namespace={ns}"

    # 1. Add it through the form, opened from the namespace's list.
    log_in(page, world.base, admin, list_path)
    page.get_by_role("link", name=f"Add {title}", exact=True).click()
    expect(page.get_by_role("heading", name=f"Add {title}", exact=True)).to_be_visible()
    expect(field(page, "metadata.namespace")).to_have_value(ns)
    field(page, "metadata.name").fill(name)
    for path, option in journey.chosen.items():
        select = field(page, path)
        expect(select).to_have_js_property("tagName", "SELECT")  # offered, not typed
        select.select_option(option)
    for path, text in journey.typed.items():
        field(page, path).fill(text)
    assert world.get(journey, name) is None
    screenshot(page, f"journey-{journey.slug}-{journey.api_version.rsplit('/', 1)[1]}-add")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text(f"{kind} {ns}/{name} was created")
    created = world.get(journey, name)
    assert created is not None
    expect_detail_agrees(page, journey, created)
    for path, text in {**journey.typed, **journey.chosen}.items():
        assert _as_form_text(_at(created, path)) == text, path
    # No operator has looked at it yet: no status, and the panel is live.
    panel = page.locator("#status-panel")
    expect(panel.locator("#current-state")).to_have_text("Pending")
    expect_live(panel)
    assert "status" not in created or not created["status"].get("conditions")

    # 2. The operator brings it up; the open page follows without a reload.
    page.evaluate("window.__sameDocument = true")
    world.operator.start()
    expect(panel.locator("#current-state")).to_have_text(journey.ready, timeout=LIVE_TIMEOUT_MS)
    expect_settled(panel, timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("window.__sameDocument") is True
    ready = world.get(journey, name)
    assert ready is not None
    expect_status_agrees(page, journey, ready)
    screenshot(page, f"journey-{journey.slug}-{journey.api_version.rsplit('/', 1)[1]}-detail")

    # ... and in the namespace's list, with the same state.
    page.get_by_role("navigation").get_by_role("link", name=ns, exact=True).click()
    table = page.locator(f"#{journey.slug}-table")
    row = table_row(page, table, name)
    expect(row).to_have_count(1)
    expect(cell(table, row, "Status")).to_have_text(journey.ready, timeout=LIVE_TIMEOUT_MS)
    listed = world.get(journey, name)
    assert listed is not None and listed["status"]["conditions"][0]["type"] == journey.ready
    expect(cell(table, row, "Namespace")).to_have_text(listed["metadata"]["namespace"])
    expect(cell(table, row, "Name")).to_have_text(listed["metadata"]["name"])
    for header, text in journey.row(listed).items():
        expect(cell(table, row, header)).to_have_text(text)
    if journey.nodes_ready is not None:
        expect(cell(table, row, "Ready")).to_have_text(journey.nodes_ready(listed))
    row.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{title} {name} in {ns}")
    expect_detail_agrees(page, journey, listed)

    # 3. Change it through the form: the preview shows the one change, Save writes it.
    path, before, after = journey.change
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", name=f"Change {title} {name}")).to_be_visible()
    expect_form_agrees(page, journey, listed)
    expect(field(page, path)).to_have_value(before)
    field(page, path).fill(after)
    page.get_by_role("button", name="Review changes").click()

    expect(page.get_by_role("heading", name=f"Review changes to {title} {name}")).to_be_visible()
    changes = page.locator("#changes tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.first.locator("td").nth(0)).to_have_text(path)
    expect(changes.first.locator("td").nth(1)).to_have_text(before)
    expect(changes.first.locator("td").nth(2)).to_have_text(after)
    expect(page.locator("#diff .diff-del")).to_have_text([re.compile(rf"^-\s*{re.escape(journey.diff[0].strip())}$")])
    expect(page.locator("#diff .diff-add")).to_have_text([re.compile(rf"^\+\s*{re.escape(journey.diff[1].strip())}$")])
    unchanged = world.get(journey, name)
    assert unchanged is not None and str(_at(unchanged, path)) == before  # nothing written yet
    assert unchanged["metadata"]["generation"] == listed["metadata"]["generation"]
    # The operator is held while the change is saved, so the page can be seen before it reacts.
    world.operator.stop()
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text(f"{kind} {ns}/{name} was saved")
    saved = world.get(journey, name)
    assert saved is not None and str(_at(saved, path)) == after
    assert saved["metadata"]["generation"] == listed["metadata"]["generation"] + 1
    expect_detail_agrees(page, journey, saved)
    # The operator has not seen the change: the status is the one before it, and a kind whose
    # status follows its spec is live again until the operator has caught up.
    expect(panel.locator("#current-state")).to_have_text(journey.ready)
    assert saved["status"]["conditions"][0]["type"] == journey.ready
    if journey.nodes_ready is not None:
        expect(panel.locator("#nodes-counts")).to_have_text(journey.nodes_ready(saved))
    if journey.follows_changes:
        expect_live(panel)
    else:
        expect_settled(panel)
    page.evaluate("window.__sameDocument = true")

    # The operator catches up with the change; the page follows it without a reload.
    world.operator.start()
    if journey.nodes_ready is not None:
        expect(panel.locator("#nodes-counts")).to_have_text(f"{after}/{after}", timeout=LIVE_TIMEOUT_MS)
    if journey.change_condition:
        seen = panel.locator(f'tr.condition[data-type="{journey.change_condition}"]')
        expect(seen).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    expect(panel.locator("#current-state")).to_have_text(journey.ready, timeout=LIVE_TIMEOUT_MS)
    expect_settled(panel, timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("window.__sameDocument") is True
    settled = world.get(journey, name)
    assert settled is not None
    expect_status_agrees(page, journey, settled)

    # 4. Delete it, after the confirmation page.
    page.get_by_role("link", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", name=f"Delete {title} {name}")).to_be_visible()
    question = page.locator("#content")
    expect(question).to_contain_text(f"Are you sure you want to delete the {title} {ns}/{name}")
    expect(question).to_contain_text(settled["metadata"]["uid"])
    still = world.get(journey, name)
    assert still is not None and still["metadata"]["uid"] == settled["metadata"]["uid"]  # asking deletes nothing
    assert "deletionTimestamp" not in still["metadata"]
    page.get_by_role("button", name=f"Yes, delete {name}").click()

    expect(page.locator(".messagelist")).to_contain_text(f"{kind} {ns}/{name} was deleted")
    expect(page).to_have_url(re.compile(rf"/clusters/default/{journey.slug}/\?namespace={ns}$"))
    expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
    assert world.get(journey, name) is None


# ----- the tests ------------------------------------------------------------------------------


def test_on_a_2021_cluster_a_broker_is_added_comes_up_healthy_is_scaled_and_deleted(
    page: Page, admin_user: Persona, world_2021: World
) -> None:
    walk(page, admin_user, world_2021, SEED_2021, "emqx")


@pytest.mark.parametrize(
    "journey",
    [
        pytest.param(BROKER_V1BETA4, id="EmqxBroker-v1beta4"),
        pytest.param(ENTERPRISE_V1BETA4, id="EmqxEnterprise-v1beta4"),
        pytest.param(REBALANCE_V2BETA1, id="Rebalance-v2beta1"),
    ],
)
def test_an_object_is_added_comes_up_live_is_changed_and_deleted(
    page: Page, admin_user: Persona, world: World, clientset: Clientset, journey: Journey
) -> None:
    if journey.kind == "Rebalance":
        # Something to rebalance: a Ready EMQX Enterprise 5, created and brought up behind the page.
        clientset.apps_v2beta1.emqxes(world.namespace).create(
            factories.emqx(TARGET, namespace=world.namespace, image="emqx/emqx-enterprise:5.8.6", core_replicas=1)
        )
        world.operator.step_until(TARGET, "Ready")
    walk(page, admin_user, world, journey, "journey")
