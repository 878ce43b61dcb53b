"""The journey in Simplified Chinese (issue 19): one person, whose browser asks for English, picks 简体中文 in
the header's switcher on the login page and keeps it on every page after; logs in, opens the change list, adds
an EMQX instance with a mistake (the error is shown in Chinese next to its field, and what was typed is kept),
fixes it and saves, edits it while someone else changes it (the conflict page in Chinese shows both changes,
and both are kept), and deletes it after the confirmation in Chinese.

Every text asserted is read from the catalogue (``speaking("zh-hans")``: locale/zh_Hans/LC_MESSAGES/django.po,
compiled), so the assertions follow the translation; a msgid the catalogue lacks fails the journey. Each page
must say ``<html lang="zh-hans">`` and show no English word of ours (tests/console/test_i18n.py's check, with
the journey's names allowed). After every write, ``kubectl get`` must agree with what the page said, as in
the English journeys (tests/e2e/test_journeys.py, whose helpers this shares).
"""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from console.kinds.emqx import SUGGESTED_IMAGE
from emqx.client.clientset import Clientset
from tests.conftest import KubectlRunner
from tests.console.test_i18n import ALLOWED_WORDS, english_words
from tests.e2e.conftest import Operator, Persona, Say, field, field_errors, log_in, screenshot, speaking
from tests.e2e.test_journeys import (
    Journey,
    Obj,
    World,
    cell,
    expect_detail_agrees,
    expect_form_agrees,
    table_row,
)

pytestmark = pytest.mark.django_db(transaction=True)

ZH = "zh-hans"
zh = speaking(ZH)


def _emqx(obj: Obj) -> dict[str, str]:
    image = obj["spec"]["image"]
    return {"Image": image, "Version": image.rsplit(":", 1)[1]}


EMQX_V2BETA1 = Journey(
    kind="EMQX",
    resource="emqxes",
    slug="emqx",
    title="EMQX",
    api_version="apps.emqx.io/v2beta1",
    typed={"spec.image": "emqx/emqx:5.8.6", "spec.coreTemplate.spec.replicas": "1", "metadata.labels": "cluster=emqx"},
    chosen={},
    ready="Ready",
    change=("spec.coreTemplate.spec.replicas", "1", "3"),
    summary=_emqx,
    row=lambda obj: {"Version": _emqx(obj)["Version"]},
)


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogue() -> None:
    """The .mo files, as ``make test`` builds them before pytest (never committed; up to date ones are kept)."""
    call_command("compilemessages", ignore_patterns=[".*", "sandbox", "bench", "tests"], verbosity=0)


@pytest.fixture
def world(console: str, namespace: str, kubectl: KubectlRunner, operator: Operator) -> World:
    return World(console, namespace, kubectl, operator)


def expect_chinese(page: Page, allowed: set[str]) -> None:
    """The page says it is in Chinese (``<html lang>``) and shows no English word of ours: only the
    ``allowed`` names and proper nouns, code, and text the cluster wrote."""
    expect(page.locator("html")).to_have_attribute("lang", ZH)
    leftovers = english_words(page.content(), allowed, set())
    assert not leftovers, f"{page.url}: English words not marked for translation:\n" + "\n".join(leftovers)


def text_of(html: str) -> str:
    """A catalogue text with markup (``<strong>``, ``<code>``) as the page shows it: its text."""
    return re.sub(r"<[^>]+>", "", html)


def walk_in_chinese(page: Page, admin: Persona, world: World, clientset: Clientset, name: str, say: Say) -> None:
    journey, ns = EMQX_V2BETA1, world.namespace
    obj_name = f"EMQX {ns}/{name}"
    list_path = f"/clusters/default/emqx/?namespace={ns}"
    allowed = ALLOWED_WORDS | {name, admin.username, "default", *ns.split("-"), "emqx", "cluster"}
    client = clientset.apps_v2beta1.emqxes(ns)

    # 1. The login page in the browser's English; the header's switcher turns it to Chinese, and the choice is
    # remembered on the next pages although the browser still asks for English.
    page.goto(f"{world.base}/login/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Language").select_option(ZH)
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(say("Log in"))
    expect_chinese(page, allowed)
    log_in(page, world.base, admin, list_path, say=say)

    # 2. The change list, in Chinese: the namespace has nothing yet.
    expect(page.get_by_role("heading", level=1)).to_have_text(say("EMQX instances"))
    expect(page.locator(".empty-state")).to_contain_text(
        say("No %(names)s in namespace %(namespace)s yet.", names=say("EMQX instances"), namespace=ns)
    )
    expect_chinese(page, allowed)

    # 3. Add one with a mistake in the image: the error is in Chinese, next to its field, and nothing typed is lost.
    page.get_by_role("link", name=say("Add %(name)s", name=say("EMQX")), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(say("Add %(name)s", name=say("EMQX")))
    expect(field(page, "metadata.namespace")).to_have_value(ns)
    field(page, "metadata.name").fill(name)
    typed = {**journey.typed, "spec.image": "emqx/emqx 5.8.6"}  # a space instead of the tag's colon
    for path, text in typed.items():
        field(page, path).fill(text)
    page.get_by_role("button", name=say("Save"), exact=True).click()

    expect(page.locator(".errornote").first).to_have_text(
        say(
            "Please correct the error below. Nothing was saved.",
            plural="Please correct the errors below. Nothing was saved.",
            count=1,
        )
    )
    image = field(page, "spec.image")
    expect(field_errors(page, "spec.image")).to_have_text(
        say("Not an image reference such as %(example)s.", example=SUGGESTED_IMAGE)
    )
    # Next to its field: in the field's own row, and the field is described by it and marked invalid.
    expect(page.locator(".form-row.errors", has=image).locator('[id="errors-spec.image"]')).to_have_count(1)
    expect(image).to_have_attribute("aria-describedby", re.compile(r"(^| )errors-spec\.image( |$)"))
    expect(image).to_have_attribute("aria-invalid", "true")
    expect(field(page, "metadata.name")).to_have_value(name)
    for path, text in typed.items():
        expect(field(page, path)).to_have_value(text)
    expect_chinese(page, allowed)
    screenshot(page, "journey-zh-form-error")
    assert world.get(journey, name) is None  # nothing was created

    # ... fixed, and saved: the detail page in Chinese, and the cluster has what was typed.
    image.fill(journey.typed["spec.image"])
    page.get_by_role("button", name=say("Save"), exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text(say("%(object)s was created.", object=obj_name))
    created = world.get(journey, name)
    assert created is not None
    expect_detail_agrees(page, journey, created, say=say)
    expect(page.locator("#status-panel #current-state")).to_have_text(say("Pending", context="state"))
    expect_chinese(page, allowed | {created["metadata"]["uid"]})

    # 4. ... and in the namespace's change list, in Chinese, with its state and version.
    page.locator(".breadcrumbs").get_by_role("link", name=ns, exact=True).click()
    table = page.locator("#emqx-table")
    row = table_row(page, table, name)
    expect(row).to_have_count(1)
    expect(cell(table, row, say("Status"))).to_have_text(say("Pending", context="state"))
    expect(cell(table, row, say("Version"))).to_have_text(_emqx(created)["Version"])
    expect_chinese(page, allowed)
    row.get_by_role("link", name=name, exact=True).click()

    # 5. Edit it; while the change form is open, someone else changes the image with their own client.
    page.get_by_role("link", name=say("Edit"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{say('Change %(kind)s %(name)s', kind=say('EMQX'), name=name)} {say('in %(namespace)s', namespace=ns)}"
    )
    expect_form_agrees(page, journey, created)
    expect_chinese(page, allowed)
    client.patch(name, {"spec": {"image": "emqx/emqx:5.8.7"}})
    path, before, after = journey.change
    field(page, path).fill(after)
    page.get_by_role("button", name=say("Review changes")).click()

    # The conflict page, in Chinese: nothing saved, what they changed and what you changed.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        say("%(kind)s %(name)s changed while you were editing it", kind=say("EMQX"), name=name)
    )
    expect(page.locator("#conflict")).to_contain_text(say("Nothing was saved."))
    theirs, yours = page.locator("#their-change"), page.locator("#your-change")
    expect(theirs.locator("h2")).to_contain_text(say("Their change"))
    expect(theirs.locator(".label")).to_have_text([say("Image")])
    expect(theirs.locator(".diff-del")).to_have_text(["-  image: emqx/emqx:5.8.6"])
    expect(theirs.locator(".diff-add")).to_have_text(["+  image: emqx/emqx:5.8.7"])
    expect(yours.locator("h2")).to_contain_text(say("Your change"))
    expect(yours.locator(".label")).to_have_text([say("Core replicas")])
    expect(yours.locator(".diff-del")).to_have_text([f"-      replicas: {before}"])
    expect(yours.locator(".diff-add")).to_have_text([f"+      replicas: {after}"])
    expect_chinese(page, allowed)
    screenshot(page, "journey-zh-conflict")
    theirs_only = world.get(journey, name)
    assert theirs_only is not None
    assert theirs_only["spec"]["image"] == "emqx/emqx:5.8.7"
    assert str(theirs_only["spec"]["coreTemplate"]["spec"]["replicas"]) == before  # ours is not written

    # ... re-applied onto their version: the review shows only ours, and Save keeps both.
    page.get_by_role("button", name=say("Re-apply my changes onto the current version")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{say('Review changes to %(kind)s %(name)s', kind=say('EMQX'), name=name)} "
        f"{say('in %(namespace)s', namespace=ns)}"
    )
    changes = page.locator("#changes tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.first.locator("td").nth(0)).to_have_text(path)
    expect_chinese(page, allowed)
    page.get_by_role("button", name=say("Save"), exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text(say("%(object)s was saved.", object=obj_name))
    saved = world.get(journey, name)
    assert saved is not None
    assert saved["spec"]["image"] == "emqx/emqx:5.8.7"
    assert str(saved["spec"]["coreTemplate"]["spec"]["replicas"]) == after
    assert saved["metadata"]["generation"] == created["metadata"]["generation"] + 2  # theirs and ours, no more
    expect_detail_agrees(page, journey, saved, say=say)

    # 6. Delete it, after the confirmation in Chinese.
    page.get_by_role("link", name=say("Delete"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{say('Delete %(kind)s %(name)s', kind=say('EMQX'), name=name)} {say('in %(namespace)s', namespace=ns)}"
    )
    question = say(
        "Are you sure you want to delete the %(kind)s <strong>%(namespace)s/%(name)s</strong> "
        "(image <code>%(image)s</code>, uid <code>%(uid)s</code>)?",
        kind=say("EMQX"),
        namespace=ns,
        name=name,
        image=saved["spec"]["image"],
        uid=saved["metadata"]["uid"],
    )
    expect(page.locator("#content")).to_contain_text(text_of(question))
    expect_chinese(page, allowed)
    still = world.get(journey, name)
    assert still is not None and still["metadata"]["uid"] == saved["metadata"]["uid"]  # asking deletes nothing
    page.get_by_role("button", name=say("Yes, delete %(name)s", name=name)).click()

    expect(page.locator(".messagelist")).to_contain_text(say("%(object)s was deleted.", object=obj_name))
    expect(page).to_have_url(re.compile(rf"/clusters/default/emqx/\?namespace={ns}$"))
    expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
    expect_chinese(page, allowed)
    assert world.get(journey, name) is None


def test_in_chinese_an_instance_is_added_after_a_field_error_edited_through_a_conflict_and_deleted(
    page: Page, admin_user: Persona, world: World, clientset: Clientset
) -> None:
    walk_in_chinese(page, admin_user, world, clientset, "journey-zh", zh)
