"""Every registered kind, in every version a cluster serves, through the same pages: one suite,
parametrized, against the real API server (the current CRD bundle, and the 2021 bundle for the
v1beta1 brokers).

What a user of any kind can count on: the change list searches and sorts; the detail page shows
the object and its status poll stops once it has settled; add through the form and through YAML;
the cluster's own refusal lands on the field it names; a change is previewed, then saved; a
concurrent change is merged and a status-only one rebased silently; delete keeps its
preconditions; every write leaves exactly one audit entry.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from console import clusters, sharedcache
from console.forms.schema import read_values, values_as_data
from console.models import AuditEntry
from console.registry import FormContext, site
from emqx.client.clientset import Clientset
from tests import factories
from tests.console.conftest import CACHE_MODES
from tests.console.kind_cases import CASES, World
from tests.support import eventually, form_inputs

pytestmark = pytest.mark.django_db


def test_every_registered_kind_and_version_has_a_case() -> None:
    assert {(m.kind, m.version) for a in site for m in a.models} - {(c.model.kind, c.model.version) for c in CASES} == {
        ("Rebalance", "v1beta4")  # served by the current bundle only as a deprecated second version
    }


def _rows(html: str) -> list[str]:
    """The names in the change list's table, in order."""
    table = html[html.index('class="result-list"') :] if 'class="result-list"' in html else ""
    return re.findall(r'<td><a href="/clusters/[^"]+/">([^<]+)</a></td>', table)


@pytest.mark.parametrize("cache_mode", CACHE_MODES)
def test_the_change_list_lists_searches_and_sorts(world: World) -> None:
    for name in ("alpha", "bravo", "charlie"):
        world.new(name)
    url = world.url("list")
    eventually(lambda: len(_rows(world.html(url, namespace=world.namespace))) == 3)
    assert _rows(world.html(url, namespace=world.namespace)) == ["alpha", "bravo", "charlie"]
    assert _rows(world.html(url, namespace=world.namespace, q="rav")) == ["bravo"]
    assert _rows(world.html(url, namespace=world.namespace, sort="-name")) == ["charlie", "bravo", "alpha"]
    assert _rows(world.html(url, namespace=world.namespace, source="api")) == ["alpha", "bravo", "charlie"]
    rows = world.client.get(world.url("list") + "_rows", {"namespace": world.namespace}, HTTP_HX_REQUEST="true")
    assert rows.status_code == 200 and _rows(rows.content.decode()) == ["alpha", "bravo", "charlie"]


@pytest.mark.parametrize("cache_mode", CACHE_MODES)
def test_the_detail_page_shows_the_object_and_its_poll_stops_once_settled(world: World) -> None:
    world.new("one")
    detail = world.url("detail", "one")
    eventually(lambda: world.client.get(detail).status_code == 200)
    html = world.html(detail)
    assert world.case.model.api_version in html and 'id="status-panel"' in html and "hx-get" in html
    status = world.url("_status", "one")
    assert world.client.get(status, HTTP_HX_REQUEST="true").status_code == 200  # not settled: poll on
    world.write_status("one", world.case.settled)
    eventually(lambda: world.client.get(status, HTTP_HX_REQUEST="true").status_code == 286)
    assert world.client.get(world.url("_events", "one")).status_code == 200


@pytest.mark.parametrize("cache_mode", CACHE_MODES)
def test_an_object_is_added_through_the_form_and_audited_once(world: World) -> None:
    page = world.html(world.url("add"), namespace=world.namespace)
    assert 'name="metadata.name"' in page
    response = world.client.post(world.url("add"), world.add_data("formed"))
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert response["Location"] == world.url("detail", "formed")
    created = world.objects.get("formed")
    assert created.metadata.name == "formed"
    entries = AuditEntry.objects.filter(kind=world.case.model.kind, name="formed")
    assert [(e.action, e.outcome) for e in entries] == [("create", "success")]


def test_an_object_is_added_through_yaml(world: World) -> None:
    document = {
        "apiVersion": world.case.model.api_version,
        "kind": world.case.model.kind,
        "metadata": {"name": "written", "namespace": world.namespace, "labels": {"team": "iot"}},
        "spec": world.case.spec("target"),
    }
    response = world.client.post(world.url("add"), {"mode": "yaml", "yaml": yaml.safe_dump(document)})
    assert response.status_code == 302, response.content.decode()[-3000:]
    created = world.objects.get("written")
    assert created.to_dict()["spec"] == world.objects.get("written").to_dict()["spec"]
    assert (created.metadata.labels or {}) == {"team": "iot"}
    assert AuditEntry.objects.filter(kind=world.case.model.kind, name="written", action="create").count() == 1


def test_the_clusters_refusal_lands_on_the_field_it_names(world: World) -> None:
    # The CRDs declare integers int32; the API server refuses a larger one with a 422 whose cause
    # names the field (in the message: "... with format int32 in spec.replicas"). The form knows
    # no int32 bound: only the dry-run finds it, and puts it on the field.
    path = world.case.refused
    if not path:
        pytest.skip(f"{world.case.id}'s form has no integer field")
    data = world.add_data("refused")
    data[path] = "3000000000"
    response = world.client.post(world.url("add"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="errors-{path}"' in html, re.findall(r'<ul class="errorlist[^>]*>.*?</ul>', html, re.S)
    errors = html[html.index(f'id="errors-{path}"') :]
    assert errors.index("int32") < errors.index("</ul>")
    assert world.objects.list().items == []
    assert not AuditEntry.objects.filter(name="refused").exists()  # a refused dry-run is no write


def _edit_data(world: World, name: str, **changes: Any) -> dict[str, str]:
    """What a browser posts from the edit page after changing ``changes`` (by path)."""
    page = world.html(world.url("change/", name))
    hidden = form_inputs(page, f"{world.case.admin.slug}-form")
    obj = world.objects.get(name)
    spec = world.case.admin.get_form_spec(world.case.model, FormContext())
    values = {**read_values(spec, obj.to_dict()), **changes}
    return {**values_as_data(spec, values), "base": hidden["base"], "resource_version": hidden["resource_version"]}


def _at(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def test_a_change_is_previewed_then_saved_and_audited_once(world: World) -> None:
    world.new("changing")
    path, value = world.case.change
    data = _edit_data(world, "changing", **{path: value})
    preview = world.client.post(world.url("change/", "changing"), {**data, "step": "preview"})
    assert preview.status_code == 200 and 'id="changes"' in preview.content.decode()
    assert path in preview.content.decode()
    assert _at(world.objects.get("changing").to_dict(), path) != value  # a preview writes nothing
    saved = world.client.post(world.url("change/", "changing"), {**data, "step": "save"})
    assert saved.status_code == 302 and saved["Location"].split("?saved=")[0] == world.url("detail", "changing")
    assert _at(world.objects.get("changing").to_dict(), path) == value
    entries = AuditEntry.objects.filter(name="changing")
    assert [(e.action, e.outcome) for e in entries] == [("update", "success")]


@pytest.mark.parametrize("cache_mode", CACHE_MODES)
def test_after_a_save_the_status_is_watched_until_the_operator_answers(world: World) -> None:
    world.new("watched")
    world.write_status("watched", world.case.settled)  # settled, an hour ago
    status = world.url("_status", "watched")
    eventually(lambda: world.client.get(status, HTTP_HX_REQUEST="true").status_code == 286)
    path, value = world.case.change
    saved = world.client.post(
        world.url("change/", "watched"), {**_edit_data(world, "watched", **{path: value}), "step": "save"}
    )
    assert saved.status_code == 302
    query = saved["Location"].partition("?")[2]
    watched = world.client.get(f"{status}?{query}", HTTP_HX_REQUEST="true").status_code
    if not world.case.admin.status_follows_spec:
        assert watched == 286  # a Rebalance runs once: nothing will answer an edit
        return
    assert f"{status}?{query}" in world.html(saved["Location"])  # the page polls, with the save's time
    assert watched == 200  # the status is from before the save: keep watching
    world.write_status("watched", world.case.settled, now=True)  # the operator's answer
    eventually(lambda: world.client.get(f"{status}?{query}", HTTP_HX_REQUEST="true").status_code == 286)


def test_a_concurrent_change_is_merged_and_a_status_only_one_rebases(world: World) -> None:
    world.new("shared")
    path, value = world.case.change
    data = _edit_data(world, "shared", **{path: value})
    # Someone else labels it meanwhile: a conflict, shown with both changes, re-applied on top.
    theirs = world.objects.get("shared")
    theirs.metadata.labels = {"owner": "them"}
    world.objects.update(theirs)
    conflict = world.client.post(world.url("change/", "shared"), {**data, "step": "save"})
    assert conflict.status_code == 409 and 'id="conflict"' in conflict.content.decode()
    reapply = form_inputs(conflict.content.decode(), "reapply")
    spec = world.case.form_spec()
    merged = {**values_as_data(spec, {**read_values(spec, world.objects.get("shared").to_dict()), path: value})}
    merged.update(base=reapply["base"], resource_version=reapply["resource_version"], step="save")
    assert world.client.post(world.url("change/", "shared"), merged).status_code == 302
    after = world.objects.get("shared")
    assert _at(after.to_dict(), path) == value and (after.metadata.labels or {}).get("owner") == "them"
    # Only the operator's status moves on: saved without asking.
    again = _edit_data(world, "shared", **{"metadata.labels": {"owner": "us"}})
    world.write_status("shared", world.case.settled)
    assert world.client.post(world.url("change/", "shared"), {**again, "step": "save"}).status_code == 302
    assert (world.objects.get("shared").metadata.labels or {}) == {"owner": "us"}


def _delete_inputs(html: str) -> dict[str, str]:
    """The confirmation form's inputs (uid and generation pinned), as a browser posts them."""
    return form_inputs(html.replace('class="delete-confirmation"', 'id="delete-confirmation"'), "delete-confirmation")


@pytest.mark.parametrize("cache_mode", CACHE_MODES)
def test_delete_keeps_its_preconditions_and_is_audited_once(world: World) -> None:
    world.new("doomed")
    pinned = _delete_inputs(world.html(world.url("delete/", "doomed")))
    # Its spec changes after the page was shown: nothing is deleted.
    path, value = world.case.change
    obj = world.objects.get("doomed")
    doc = obj.to_dict()
    node = doc
    *parents, leaf = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    world.objects.update(world.case.model.from_dict(doc))
    stale = world.client.post(world.url("delete/", "doomed"), pinned)
    assert stale.status_code == 409 and world.objects.get("doomed").metadata.name == "doomed"
    fresh = _delete_inputs(stale.content.decode())
    done = world.client.post(world.url("delete/", "doomed"), fresh)
    assert done.status_code == 302
    assert world.objects.list().items == []
    assert [(e.action, e.outcome) for e in AuditEntry.objects.filter(name="doomed")] == [("delete", "success")]


def test_an_empty_namespace_keeps_its_filter_and_offers_to_add(world: World) -> None:
    html = world.html(world.url("list"), namespace=world.namespace)
    assert f'<option value="{world.namespace}" selected>' in html  # the filter in force, though empty
    assert f'href="{world.url("add")}?namespace={world.namespace}">Add one here</a>' in html


def test_a_condition_that_does_not_hold_is_not_shown_as_the_state() -> None:
    broker = site.for_kind("EmqxBroker")
    obj = broker.models[0].from_dict(
        {
            "metadata": {"name": "b", "namespace": "ns"},
            "status": {"conditions": [{"type": "Running", "status": "False", "reason": "ClusterNotReady"}]},
        }
    )
    summary = broker.summarize(obj)
    assert summary.current_condition == "Running" and summary.badge == "Not ready"


def test_a_shared_cache_directory_that_cannot_be_made_leaves_each_process_its_own_cache(
    admin: Any, settings: Any, tmp_path: Any, sandbox: Any, namespace: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings.CONSOLE_SHARED_CACHE_DIR = str(blocker / "cache")
    clusters.reset()
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        cs.apps_v2beta1.emqxes(namespace).create(factories.emqx("still-listed", namespace=namespace))
    eventually(lambda: "still-listed" in admin.get(f"/clusters/default/emqx/?namespace={namespace}").content.decode())
    assert sharedcache.shared() is None
