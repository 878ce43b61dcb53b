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

import datetime as dt
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from django.test import Client

from console import clusters
from console.forms.schema import FormSpec, ResourceForm, read_values, values_as_data
from console.models import AuditEntry
from console.registry import FormContext, ResourceAdmin, site
from emqx.client.clientset import Clientset
from emqx.client.resource import ResourceClient
from emqx.models import apps_v1beta1, apps_v1beta4, apps_v2beta1
from emqx.models._base import Resource
from sandbox import Sandbox
from tests.support import eventually, form_inputs, rfc3339

pytestmark = pytest.mark.django_db

NOW = rfc3339(dt.datetime.now(dt.UTC))


def _condition(type_: str, reason: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "status": "True",
        "reason": reason,
        "message": f"{type_} reached",
        "lastTransitionTime": NOW,
        "lastUpdateTime": NOW,
        **extra,
    }


@dataclass(frozen=True)
class Case:
    """One kind in one version, and what the suite does with it."""

    model: type[Resource]
    era: str
    """'current' (the operator 2.2 bundle) or '2021' (operator 1.0's v1beta1 brokers)."""
    spec: Callable[[str], dict[str, Any]]
    """A valid spec, given a suffix for names it refers to."""
    change: tuple[str, Any]
    """(form field path, new value) of a change made through the form."""
    settled: Callable[[Resource], dict[str, Any]]
    """A status the operator writes once the object has settled (Ready, Completed)."""
    refused: str
    """A form field path a ValidatingAdmissionPolicy refuses on the dry-run (to see where it lands)."""
    form: dict[str, Any] = field(default_factory=dict)
    """Values the add form needs beyond name and namespace (by path)."""

    @property
    def admin(self) -> ResourceAdmin:
        return site.for_kind(self.model.kind)

    @property
    def id(self) -> str:
        return f"{self.model.kind}-{self.model.version}"

    def form_spec(self) -> FormSpec:
        return self.admin.get_form_spec(self.model, FormContext())


def _emqx_settled(obj: Resource) -> dict[str, Any]:
    generation = obj.metadata.generation
    return {
        "conditions": [
            _condition("Ready", "ClusterReady", observedGeneration=generation),
            _condition("Available", "ClusterAvailable", observedGeneration=generation),
        ],
        "coreNodesStatus": {"readyReplicas": 1, "replicas": 1},
    }


def _running(obj: Resource) -> dict[str, Any]:
    return {"conditions": [_condition("Running", "ClusterReady")], "replicas": 3, "readyReplicas": 3}


def _healthy(obj: Resource) -> dict[str, Any]:
    return {"conditions": [_condition("Healthy", "ClusterReady")]}


def _v4_image(repository: str) -> dict[str, Any]:
    return {"template": {"spec": {"emqxContainer": {"image": {"repository": repository, "version": "4.4.19"}}}}}


CASES = [
    Case(
        apps_v2beta1.EMQX,
        "current",
        lambda _: {"image": "emqx/emqx:5.8.6"},
        ("spec.coreTemplate.spec.replicas", 3),
        _emqx_settled,
        refused="spec.updateStrategy.initialDelaySeconds",
        form={"spec.image": "emqx/emqx:5.8.6"},
    ),
    Case(
        apps_v1beta4.EmqxBroker,
        "current",
        lambda _: {"replicas": 3, **_v4_image("emqx/emqx")},
        ("spec.replicas", 5),
        _running,
        refused="spec.replicas",
    ),
    Case(
        apps_v1beta4.EmqxEnterprise,
        "current",
        lambda _: {"replicas": 3, **_v4_image("emqx/emqx-ee")},
        ("spec.replicas", 5),
        _running,
        refused="spec.replicas",
    ),
    Case(
        apps_v2beta1.Rebalance,
        "current",
        lambda target: {"instanceKind": "EMQX", "instanceName": target, "rebalanceStrategy": {"connEvictRate": 10}},
        ("spec.rebalanceStrategy.connEvictRate", 20),
        lambda obj: {"phase": "Completed", "conditions": [_condition("Completed", "Completed")]},
        refused="spec.rebalanceStrategy.connEvictRate",
        form={"spec.instanceName": "target", "spec.instanceKind": "EMQX"},
    ),
    Case(
        apps_v1beta1.EmqxBroker,
        "2021",
        lambda _: {"image": "emqx/emqx:4.3.10", "replicas": 3, "labels": {"cluster": "emqx"}},
        ("spec.replicas", 4),
        _healthy,
        refused="spec.replicas",
        form={"spec.labels": {"cluster": "emqx"}},
    ),
    Case(
        apps_v1beta1.EmqxEnterprise,
        "2021",
        lambda _: {"image": "emqx/emqx-ee:4.3.10", "replicas": 3, "labels": {"cluster": "emqx"}},
        ("spec.replicas", 4),
        _healthy,
        refused="spec.replicas",
        form={"spec.labels": {"cluster": "emqx"}},
    ),
]


def test_every_registered_kind_and_version_has_a_case() -> None:
    assert {(m.kind, m.version) for a in site for m in a.models} - {(c.model.kind, c.model.version) for c in CASES} == {
        ("Rebalance", "v1beta4")  # served by the current bundle only as a deprecated second version
    }


@dataclass
class World:
    """Where a case runs: the console's cluster name, a namespace of the test's own, a client."""

    case: Case
    cluster: str
    namespace: str
    clientset: Clientset
    sandbox: Sandbox
    client: Client

    @property
    def objects(self) -> ResourceClient[Any]:
        return self.clientset.resource(self.case.model, self.namespace)

    def url(self, action: str, name: str = "") -> str:
        base = f"/clusters/{self.cluster}/{self.case.admin.slug}/"
        return base + {"list": "", "add": "add/", "detail": f"{self.namespace}/{name}/"}.get(
            action, f"{self.namespace}/{name}/{action}"
        )

    def new(self, name: str, **labels: str) -> Resource:
        doc = {"metadata": {"name": name, "namespace": self.namespace}, "spec": self.case.spec("target")}
        if labels:
            doc["metadata"]["labels"] = labels
        return self.objects.create(self.case.model.from_dict(doc))

    def write_status(self, name: str, status: Callable[[Resource], dict[str, Any]]) -> None:
        obj = self.objects.get(name)
        doc = obj.to_dict()
        doc["status"] = status(obj)
        self.objects.update_status(self.case.model.from_dict(doc))

    def html(self, url: str, **params: str) -> str:
        response = self.client.get(url, params)
        assert response.status_code == 200, (url, response.status_code)
        return str(response.content.decode())


@pytest.fixture(params=CASES, ids=lambda c: c.id)
def world(
    request: pytest.FixtureRequest, settings: Any, admin_client: Client, django_user_model: Any
) -> Iterator[World]:
    case: Case = request.param
    sandbox: Sandbox = request.getfixturevalue("sandbox" if case.era == "current" else "sandbox_2021")
    cluster = "default" if case.era == "current" else "legacy"
    settings.CONSOLE_CLUSTERS = [{"name": cluster, "kubeconfig": str(sandbox.kubeconfig)}]
    namespace = f"t-{case.admin.slug}-{case.model.version}-{secrets.token_hex(3)}"
    sandbox.create_namespace(namespace)
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        yield World(case, cluster, namespace, cs, sandbox, admin_client)
    clusters.reset()


def _rows(html: str) -> list[str]:
    """The names in the change list's table, in order."""
    table = html[html.index('class="result-list"') :] if 'class="result-list"' in html else ""
    return re.findall(r'<td><a href="/clusters/[^"]+/">([^<]+)</a></td>', table)


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


def _add_data(world: World, name: str) -> dict[str, str]:
    spec = world.case.form_spec()
    values = {**ResourceForm(spec=spec).initial, **world.case.form}
    values.update({"metadata.name": name, "metadata.namespace": world.namespace})
    return values_as_data(spec, values)


def test_an_object_is_added_through_the_form_and_audited_once(world: World) -> None:
    page = world.html(world.url("add"), namespace=world.namespace)
    assert 'name="metadata.name"' in page
    response = world.client.post(world.url("add"), _add_data(world, "formed"))
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
    data = _add_data(world, "refused")
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
    assert saved.status_code == 302 and saved["Location"] == world.url("detail", "changing")
    assert _at(world.objects.get("changing").to_dict(), path) == value
    entries = AuditEntry.objects.filter(name="changing")
    assert [(e.action, e.outcome) for e in entries] == [("update", "success")]


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
