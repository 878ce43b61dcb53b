"""The change form's save buttons, as Django admin's: Save to the detail page, "Save and continue editing"
back to the saved object's change form, "Save and add another" to a fresh add form in the same namespace;
on every registered kind and version, for an add (dry-run, then create) and for an edit, whose choice
travels through the review and through a conflict."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from emqx.client.clientset import Clientset
from tests import factories
from tests.console.kind_cases import World
from tests.support import form_data, form_inputs

pytestmark = pytest.mark.django_db

BUTTONS = ("", "_continue", "_addanother")
SAYS = {
    "": "was {done}.</li>",
    "_continue": "was {done}. You may edit it again below.",
    "_addanother": "was {done}. You may add another {verbose} below.",
}


def _pressed(data: dict[str, str], button: str) -> dict[str, str]:
    return {**data, button: "1"} if button else data


def _destination(world: World, button: str, name: str) -> str:
    """Where each button leads, without the query of a plain Save of an edit (``?saved=``)."""
    return {
        "": world.url("detail", name),
        "_continue": world.url("change/", name),
        "_addanother": world.url("add") + f"?namespace={world.namespace}",
    }[button]


def _said(world: World, page: str, button: str, done: str, name: str) -> bool:
    message = SAYS[button].format(done=done, verbose=world.case.admin.verbose_name)
    return f"{world.case.model.kind} {world.namespace}/{name} {message}" in page


def _edit_form(world: World, name: str) -> dict[str, str]:
    """The change form as a browser posts it, with the case's change made."""
    page = world.html(world.url("change/", name))
    path, value = world.case.change
    return {**form_data(page, f"{world.case.admin.slug}-form"), path: str(value)}


def test_each_add_button_leads_where_it_says(world: World) -> None:
    for button in BUTTONS:
        name = f"added{button.replace('_', '-')}"
        response = world.client.post(world.url("add"), _pressed(world.add_data(name), button))
        errors = re.findall(r"errorlist[^>]*>(.*?)</ul>", response.content.decode())
        assert response.status_code == 302, (button, errors)
        assert response["Location"] == _destination(world, button, name), button
        page = world.html(response["Location"])
        assert _said(world, page, button, "created", name), button
        assert world.objects.get(name).metadata.name == name
        if button == "_continue":  # the new object's change form, at the version just created
            rv = world.objects.get(name).metadata.resource_version
            assert form_inputs(page, f"{world.case.admin.slug}-form")["resource_version"] == rv
        if button == "_addanother":  # an empty add form, in the same namespace
            fresh = form_data(page, f"{world.case.admin.slug}-form")
            assert fresh["metadata.name"] == "" and fresh["metadata.namespace"] == world.namespace


def test_an_add_refused_by_the_dry_run_stays_on_the_form_and_creates_nothing(world: World) -> None:
    if not world.case.refused:
        pytest.skip(f"{world.case.id}'s form has no integer field")
    data = {**world.add_data("refused"), world.case.refused: "3000000000", "_continue": "1"}
    response = world.client.post(world.url("add"), data)
    assert response.status_code == 200 and f'id="errors-{world.case.refused}"' in response.content.decode()
    assert world.objects.list().items == []
    data[world.case.refused] = world.add_data("refused")[world.case.refused]
    again = world.client.post(world.url("add"), data)  # corrected, the same button: now it goes there
    assert again.status_code == 302 and again["Location"] == world.url("change/", "refused")


def test_each_edit_button_is_reviewed_then_leads_where_it_says(world: World) -> None:
    labels = {"": "Save", "_continue": "Save and continue editing", "_addanother": "Save and add another"}
    for button in BUTTONS:
        name = f"edited{button.replace('_', '-')}"
        world.new(name)
        review = world.client.post(world.url("change/", name), _pressed(_edit_form(world, name), button))
        page = review.content.decode()
        assert review.status_code == 200 and 'id="changes"' in page, button
        assert re.search(rf'<button[^>]*id="save">{labels[button]}</button>', page), button
        assert world.objects.get(name).metadata.generation == 1  # a review writes nothing
        saved = world.client.post(world.url("change/", name), {**form_data(page, "preview-form"), "step": "save"})
        assert saved.status_code == 302, button
        assert saved["Location"].split("?saved=")[0] == _destination(world, button, name), button
        after = world.html(saved["Location"])
        assert _said(world, after, button, "saved", name), button
        assert world.objects.get(name).metadata.generation == 2
        if button == "_continue":
            rv = world.objects.get(name).metadata.resource_version
            assert form_inputs(after, f"{world.case.admin.slug}-form")["resource_version"] == rv


def test_the_choice_survives_a_conflict_and_the_reapplied_review(world: World) -> None:
    world.new("shared")
    data = _pressed(_edit_form(world, "shared"), "_addanother")
    theirs = world.objects.get("shared")
    theirs.metadata.labels = {"owner": "them"}
    world.objects.update(theirs)  # someone else saves first
    conflict = world.client.post(world.url("change/", "shared"), data)
    assert conflict.status_code == 409 and 'id="conflict"' in conflict.content.decode()
    reapply = form_data(conflict.content.decode(), "reapply")
    assert reapply.get("_addanother") == "1"
    review = world.client.post(world.url("change/", "shared"), {**reapply, "step": "preview"})
    page = review.content.decode()
    assert review.status_code == 200 and 'id="save">Save and add another</button>' in page
    saved = world.client.post(world.url("change/", "shared"), {**form_data(page, "preview-form"), "step": "save"})
    assert saved.status_code == 302 and saved["Location"] == _destination(world, "_addanother", "shared")
    after = world.objects.get("shared")
    path, value = world.case.change
    node: Any = after.to_dict()
    for key in path.split("."):
        node = node[key]
    assert node == value and (after.metadata.labels or {}).get("owner") == "them"


def test_continue_editing_after_a_yaml_edit_reopens_the_yaml(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    # One kind is enough: the YAML editor is the same for every kind.
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(factories.emqx("written", namespace=namespace))
    url = f"/clusters/default/emqx/{namespace}/written/change/"
    page = admin.get(url, {"mode": "yaml"}).content.decode()
    data = form_data(page, "emqx-form")
    data["yaml"] = data["yaml"].replace("metadata:\n", "metadata:\n  labels:\n    team: iot\n", 1)
    review = admin.post(url, {**data, "_continue": "1"})
    assert review.status_code == 200 and 'id="save">Save and continue editing</button>' in review.content.decode()
    saved = admin.post(url, {**form_data(review.content.decode(), "preview-form"), "step": "save"})
    assert saved["Location"] == url + "?mode=yaml"
    assert emqxes.get("written").metadata.labels == {"team": "iot"}
    assert "team: iot" in admin.get(saved["Location"]).content.decode()  # the YAML editor, at the saved version
