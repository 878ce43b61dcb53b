"""The two tools that reach across clusters, on every registered kind and version: Save as new (a copy
to another name, namespace or cluster: server-set metadata and bookkeeping left out, dry-run on the
target, a diff against the source, then an audited create) and Compare with (a diff of the spec, labels
and annotations of two objects, secrets redacted). A second 2.2 cluster ("second") is shared by the
module: a copy of each kind goes there, in its own version, converted where the console knows how
(EMQX v2 to v2beta1), refused with the reason where it does not."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from console.models import AuditEntry, RoleGrant
from emqx.client.clientset import Clientset
from sandbox import Sandbox
from tests.console.kind_cases import World
from tests.support import eventually, form_data

pytestmark = pytest.mark.django_db

SECOND = "second"
# What a copy of each case into the second cluster (operator 2.2's CRDs) comes to.
DEFAULTED = {"Rebalance-v2beta1-on-2.3": {"instanceKind": "EMQX"}}
"""Spec fields the second cluster's CRD version defaults in a copy (shown in the review, then stored)."""
CREATED, CONVERTED, NOT_SERVED = "created", "converted", "not served"
INTO_SECOND = {
    "EMQX-v2beta1": CREATED,
    "EmqxBroker-v1beta4": CREATED,
    "EmqxEnterprise-v1beta4": CREATED,
    "Rebalance-v2beta1": CREATED,
    "EMQX-v2-on-2.3": CONVERTED,  # 2.2 serves v2beta1, which 2.3 serves as the same stored object
    "EMQX-v3beta1-on-3.0": NOT_SERVED,
    "EMQXAPIKey-v3beta1-on-3.0": NOT_SERVED,
    "Rebalance-v2beta1-on-2.3": CREATED,  # with spec.instanceKind, which 2.2's schema defaults and 2.3's has not
    "EmqxBroker-v1beta1": NOT_SERVED,
    "EmqxEnterprise-v1beta1": NOT_SERVED,
}
BOOKKEEPING = {
    "labels": {"apps.emqx.io/instance": "somebody-else", "apps.emqx.io/managed-by": "emqx-operator"},
    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": '{"kind": "whatever"}'},
}


@pytest.fixture(scope="module")
def second() -> Iterator[Sandbox]:
    """The second cluster, operator 2.2's CRDs, shared by this module (one costs ~10 s to start)."""
    sb = Sandbox.create(crds="2.2", prefix="emqx-sandbox-second-")
    try:
        yield sb.start()
    finally:
        sb.destroy()


@pytest.fixture
def second_clientset(second: Sandbox) -> Iterator[Clientset]:
    with Clientset.from_kubeconfig(second.kubeconfig) as cs:
        yield cs


@pytest.fixture
def both(world: World, settings: Any, second: Sandbox) -> World:
    """The world's cluster and the second one, both configured; the world's namespace in both."""
    settings.CONSOLE_CLUSTERS = [
        {"name": world.cluster, "kubeconfig": str(world.sandbox.kubeconfig)},
        {"name": SECOND, "kubeconfig": str(second.kubeconfig)},
    ]
    second.create_namespace(world.namespace)
    return world


def _source(world: World, name: str = "source") -> Any:
    """An object of the case with a person's labels and annotations, bookkeeping, a finalizer and an owner."""
    doc = {
        "metadata": {
            "name": name,
            "namespace": world.namespace,
            "labels": {"team": "iot", **BOOKKEEPING["labels"]},
            "annotations": {"note": "keep me", "apps.emqx.io/paused": "true", **BOOKKEEPING["annotations"]},
            "finalizers": ["example.com/hold"],
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "0" * 8}],
        },
        "spec": world.case.spec("target"),
    }
    return world.objects.create(world.case.model.from_dict(doc))


def _errors(html: str) -> dict[str, str]:
    """The page's error lists by id (``errors-name``, ``non-field-errors``), as text."""
    found = re.findall(r'<ul class="errorlist[^"]*" id="([^"]+)"[^>]*>(.*?)</ul>', html, re.S)
    return {key: re.sub(r"<[^>]+>", " ", text) for key, text in found}


def _copy(world: World, to: dict[str, str], step: str = "preview", source: str = "source") -> Any:
    """The save-as-new form of ``source``, filled in with ``to`` and posted with ``step``."""
    url = world.url("saveasnew/", source)
    page = world.html(url)
    return world.client.post(url, {**form_data(page, "saveasnew-form"), **to, "step": step})


def _spec(obj: Any) -> Any:
    return obj.to_dict().get("spec")


def test_a_copy_into_another_namespace_keeps_what_a_person_decided_and_nothing_else(world: World) -> None:
    source = _source(world)
    other = world.namespace + "-b"
    world.sandbox.create_namespace(other)
    review = _copy(world, {"cluster": world.cluster, "namespace": other, "name": "copied"})
    page = review.content.decode()
    assert review.status_code == 200 and 'id="changes"' in page, _errors(page)
    assert "metadata.namespace" in page and "metadata.name" in page and "finalizers" not in page
    copies = world.clientset.resource(world.case.model, other)
    assert copies.list().items == []  # the review created nothing
    created = world.client.post(
        world.url("saveasnew/", "source"), {**form_data(page, "saveasnew-form"), "step": "save"}
    )
    assert created.status_code == 302
    assert created["Location"] == f"/clusters/{world.cluster}/{world.case.admin.slug}/{other}/copied/change/"
    copy = copies.get("copied")
    assert _spec(copy) == _spec(source)
    assert copy.metadata.labels == {"team": "iot"}
    assert copy.metadata.annotations == {"note": "keep me", "apps.emqx.io/paused": "true"}
    assert not copy.metadata.finalizers and not copy.metadata.owner_references
    assert copy.metadata.uid != source.metadata.uid and copy.metadata.generation == 1
    assert not (copy.to_dict().get("status") or {})
    entries = AuditEntry.objects.filter(name="copied")
    assert [(e.cluster, e.namespace, e.action, e.outcome) for e in entries] == [
        (world.cluster, other, "create", "success")
    ]
    assert "was created as a copy of" in world.html(created["Location"])


def test_a_copy_into_a_second_cluster_is_created_converted_or_refused_with_the_reason(
    both: World, second_clientset: Clientset
) -> None:
    world = both
    source = _source(world)
    expected = INTO_SECOND[world.case.id]
    review = _copy(world, {"cluster": SECOND, "namespace": world.namespace, "name": "copied"})
    page = review.content.decode()
    errors = _errors(page)
    if expected == NOT_SERVED:
        assert review.status_code == 200 and "errors-cluster" in errors, errors
        assert f"Cluster {SECOND} serves {world.case.model.kind} in" in errors["errors-cluster"] or (
            "in no version the console handles" in errors["errors-cluster"]
        )
        assert "does not convert" in errors["errors-cluster"]
    else:
        assert review.status_code == 200 and 'id="changes"' in page, errors
        assert ('id="copy-note"' in page) == (expected == CONVERTED)
        for field in DEFAULTED.get(world.case.id, {}):
            assert f"<code>spec.{field}</code>" in page  # the target's default, shown before the create
        saved = world.client.post(
            world.url("saveasnew/", "source"), {**form_data(page, "saveasnew-form"), "step": "save"}
        )
        assert saved.status_code == 302 and saved["Location"].startswith(f"/clusters/{SECOND}/")
        copy = second_clientset.for_kind(world.case.model.kind, world.namespace).get("copied")
        assert copy.metadata.labels == {"team": "iot"} and not copy.metadata.finalizers
        if expected == CREATED:
            assert _spec(copy) == {**_spec(source), **DEFAULTED.get(world.case.id, {})}
        else:
            assert copy.api_version == "apps.emqx.io/v2beta1" and _spec(copy)["image"] == _spec(source)["image"]
        assert [e.cluster for e in AuditEntry.objects.filter(name="copied", outcome="success")] == [SECOND]
        return
    kind = world.case.model.kind
    if kind in ("EMQX", "EmqxBroker", "EmqxEnterprise", "Rebalance"):  # what the second cluster serves
        assert second_clientset.for_kind(kind, world.namespace).list().items == []
    assert not AuditEntry.objects.filter(name="copied").exists()


def test_bad_targets_are_field_errors_and_nothing_is_created(
    admin: Client, settings: Any, sandbox: Sandbox, second: Sandbox, clientset: Clientset, namespace: str
) -> None:
    settings.CONSOLE_CLUSTERS = [
        {"name": "default", "kubeconfig": str(sandbox.kubeconfig)},
        {"name": SECOND, "kubeconfig": str(second.kubeconfig)},
    ]
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(emqxes.resource.from_dict({"metadata": {"name": "source"}, "spec": {"image": "emqx/emqx:5.8.6"}}))
    url = f"/clusters/default/emqx/{namespace}/source/saveasnew/"
    form = form_data(admin.get(url).content.decode(), "saveasnew-form")
    assert (form["cluster"], form["namespace"], form["name"]) == ("default", namespace, "source-copy")
    cases = [  # (target, step, the field, what it says)
        ({"name": "source"}, "preview", "errors-name", "already exists"),
        ({"name": "source"}, "save", "errors-name", "already exists"),  # the dry-run before the create, too
        ({"name": "Not_A_Name"}, "preview", "errors-name", "RFC 1123 label"),
        ({"name": "a" * 64}, "preview", "errors-name", "at most 63 characters"),  # EMQX's name_rule: a DNS label
        (
            {"cluster": SECOND, "namespace": "nowhere"},
            "preview",
            "errors-namespace",
            "does not exist in cluster second",
        ),
        ({"cluster": "elsewhere"}, "preview", "errors-cluster", "not one of the available choices"),
    ]
    for target, step, field, says in cases:
        response = admin.post(url, {**form, **target, "step": step})
        errors = _errors(response.content.decode())
        assert response.status_code == 200 and says in errors.get(field, ""), (target, errors)
    assert [o.metadata.name for o in emqxes.list().items] == ["source"]
    assert not AuditEntry.objects.exists()


def test_save_as_new_from_the_change_form_copies_the_edit_and_the_dry_run_judges_it(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(emqxes.resource.from_dict({"metadata": {"name": "source"}, "spec": {"image": "emqx/emqx:5.8.6"}}))
    base = f"/clusters/default/emqx/{namespace}/source/"
    change = form_data(admin.get(base + "change/").content.decode(), "emqx-form")
    replicas = "spec.coreTemplate.spec.replicas"
    page = admin.post(base + "saveasnew/", {**change, replicas: "5", "_saveasnew": "1"}).content.decode()
    to = {**form_data(page, "saveasnew-form"), "name": "edited-copy", "step": "preview"}
    review = admin.post(base + "saveasnew/", to).content.decode()
    assert f"<code>{replicas}</code>" in review and "edited-copy" in review, _errors(review)
    saved = admin.post(base + "saveasnew/", {**form_data(review, "saveasnew-form"), "step": "save"})
    assert saved.status_code == 302
    assert emqxes.get("edited-copy").to_dict()["spec"]["coreTemplate"]["spec"]["replicas"] == 5
    assert emqxes.get("source").to_dict()["spec"]["coreTemplate"]["spec"]["replicas"] != 5  # the source is unchanged
    # An edit the form refuses: the change form again, with the error, posting back to the change page.
    page = admin.post(base + "saveasnew/", {**change, replicas: "3000000000", "_saveasnew": "1"}).content.decode()
    assert "errors-" + replicas in page and f'action="{base}change/"' in page
    # An edit only the cluster refuses (a field its schema lacks, in YAML): said with its path, nothing created.
    written = form_data(admin.get(base + "change/", {"mode": "yaml"}).content.decode(), "emqx-form")
    written["yaml"] = written["yaml"].replace("spec:\n", "spec:\n  notAField: 1\n", 1)
    page = admin.post(base + "saveasnew/", {**written, "_saveasnew": "1"}).content.decode()
    refused = admin.post(base + "saveasnew/", {**form_data(page, "saveasnew-form"), "name": "odd", "step": "preview"})
    assert "spec.notAField: unknown field" in _errors(refused.content.decode()).get("non-field-errors", "")
    assert sorted(o.metadata.name for o in emqxes.list().items) == ["edited-copy", "source"]


def _person(client: Client, role: str, grants: list[tuple[str, str]]) -> None:
    user = User.objects.create_user(f"{role}-{secrets.token_hex(2)}", password="pw-person-123456")
    for cluster, namespace in grants:
        RoleGrant.objects.create(user=user, role=role, cluster=cluster, namespace=namespace)
    client.force_login(user)


def test_save_as_new_needs_read_on_the_source_and_add_on_the_target(
    settings: Any, sandbox: Sandbox, second: Sandbox, clientset: Clientset, namespace: str, client: Client
) -> None:
    settings.CONSOLE_CLUSTERS = [
        {"name": "default", "kubeconfig": str(sandbox.kubeconfig)},
        {"name": SECOND, "kubeconfig": str(second.kubeconfig)},
    ]
    second.create_namespace(namespace)
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(emqxes.resource.from_dict({"metadata": {"name": "source"}, "spec": {"image": "emqx/emqx:5.8.6"}}))
    url = f"/clusters/default/emqx/{namespace}/source/saveasnew/"
    _person(client, "viewer", [("default", namespace), (SECOND, namespace)])
    assert client.get(url).status_code == 403  # may read, may add nowhere
    assert 'id="save-as-new"' not in client.get(f"/clusters/default/emqx/{namespace}/source/").content.decode()
    _person(client, "operator", [("default", namespace + "-other")])
    assert client.get(url).status_code == 404  # may not read the source
    # An operator of this namespace here who may only read the second cluster: copies stay here.
    _person(client, "operator", [("default", namespace)])
    RoleGrant.objects.create(user=User.objects.get(pk=client.session["_auth_user_id"]), role="viewer", cluster=SECOND)
    form = form_data(client.get(url).content.decode(), "saveasnew-form")
    refused = client.post(url, {**form, "cluster": SECOND, "step": "preview"})
    assert "not one of the available choices" in _errors(refused.content.decode()).get("errors-cluster", "")
    refused = client.post(url, {**form, "namespace": "kube-system", "step": "save"})
    assert (
        "You may not add EMQX instances in namespace kube-system"
        in _errors(refused.content.decode())["errors-namespace"]
    )
    assert [o.metadata.name for o in emqxes.list().items] == ["source"] and not AuditEntry.objects.exists()


# ----- compare with -----------------------------------------------------------------------------------


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        doc = doc.setdefault(key, {})
    doc[leaf] = value


def _compared(html: str) -> list[str]:
    """The field paths of the comparison's table."""
    table = html.split('id="changes"', 1)[1].split("</table>", 1)[0] if 'id="changes"' in html else ""
    return re.findall(r"<tr class=\"change-\w+\"><td><code>([^<]+)</code>", table)


OTHER_VALUE = {"Viewer": "Publisher"}


def test_compare_shows_exactly_the_fields_that_differ(world: World) -> None:
    other = world.namespace + "-b"
    world.sandbox.create_namespace(other)
    path, value = world.case.change
    ours = OTHER_VALUE.get(value, value + 1 if isinstance(value, int) else value)
    for ns, name, at in ((world.namespace, "ours", ours), (other, "theirs", value)):
        # Both hold the field (a section one side lacks would differ in every default the server fills in).
        doc = {"metadata": {"name": name, "namespace": ns, "labels": {"environment": "staging"}}}
        doc["spec"] = world.case.spec("target")
        _set(doc, path, at)
        world.clientset.resource(world.case.model, ns).create(world.case.model.from_dict(doc))
    url = world.url("compare/", "ours")
    page = world.html(url)
    assert form_data(page, "compare-form") == {"cluster": world.cluster, "namespace": world.namespace, "name": "ours"}
    query = {"cluster": world.cluster, "namespace": other, "name": "theirs"}
    eventually(lambda: 'id="comparison"' in world.client.get(url, query).content.decode())
    assert _compared(world.html(url, **query)) == [path]
    assert 'id="no-differences"' in world.html(url, cluster=world.cluster, namespace=world.namespace, name="ours")


def test_compare_across_two_clusters_redacts_secrets(
    admin: Client, settings: Any, sandbox: Sandbox, second: Sandbox, clientset: Clientset, namespace: str,
    second_clientset: Clientset,
) -> None:  # fmt: skip
    settings.CONSOLE_CLUSTERS = [
        {"name": "default", "kubeconfig": str(sandbox.kubeconfig)},
        {"name": SECOND, "kubeconfig": str(second.kubeconfig)},
    ]
    second.create_namespace(namespace)
    for cs, environment, secret, image in (
        (clientset, "staging", "staging-secret-1", "emqx/emqx:5.8.6"),
        (second_clientset, "production", "production-secret-1", "emqx/emqx:5.8.7"),
    ):
        emqxes = cs.apps_v2beta1.emqxes(namespace)
        spec = {"image": image, "bootstrapAPIKeys": [{"key": "ci", "secret": secret}], "coreTemplate": {}}
        meta = {"name": "mqtt", "labels": {"environment": environment, "team": "iot"}}
        emqxes.create(emqxes.resource.from_dict({"metadata": meta, "spec": spec}))
    url = f"/clusters/default/emqx/{namespace}/mqtt/compare/"
    page = admin.get(url).content.decode()
    assert form_data(page, "compare-form") == {"cluster": SECOND, "namespace": namespace, "name": "mqtt"}
    eventually(
        lambda: (
            'id="comparison"'
            in admin.get(url, {"cluster": SECOND, "namespace": namespace, "name": "mqtt"}).content.decode()
        )
    )
    page = admin.get(url, {"cluster": SECOND, "namespace": namespace, "name": "mqtt"}).content.decode()
    assert _compared(page) == ["metadata.labels.environment", "spec.bootstrapAPIKeys", "spec.image"]
    assert "secret-1" not in page and "&lt;redacted: changed&gt;" in page


def test_compare_needs_read_on_both_sides(
    settings: Any, sandbox: Sandbox, second: Sandbox, clientset: Clientset, second_clientset: Clientset,
    namespace: str, client: Client,
) -> None:  # fmt: skip
    settings.CONSOLE_CLUSTERS = [
        {"name": "default", "kubeconfig": str(sandbox.kubeconfig)},
        {"name": SECOND, "kubeconfig": str(second.kubeconfig)},
    ]
    hidden = namespace + "-hidden"
    for cs, sb in ((clientset, sandbox), (second_clientset, second)):
        for ns in (namespace, hidden):
            sb.create_namespace(ns)
            emqxes = cs.apps_v2beta1.emqxes(ns)
            emqxes.create(
                emqxes.resource.from_dict({"metadata": {"name": "mqtt"}, "spec": {"image": "emqx/emqx:5.8.6"}})
            )
    _person(client, "viewer", [("default", namespace)])  # nothing on the second cluster
    url = f"/clusters/default/emqx/{namespace}/mqtt/compare/"
    page = client.get(url).content.decode()
    assert f'<option value="{SECOND}"' not in page and hidden not in page  # only what they may read is offered
    eventually(
        lambda: client.get(url, {"cluster": "default", "namespace": namespace, "name": "mqtt"}).status_code == 200
    )
    for cluster, ns in ((SECOND, namespace), ("default", hidden), ("default", namespace + "-none")):
        forged = client.get(url, {"cluster": cluster, "namespace": ns, "name": "mqtt"})
        assert forged.status_code in (404, 200) and 'id="comparison"' not in forged.content.decode(), (cluster, ns)
    refused = client.get(url, {"cluster": "default", "namespace": hidden, "name": "mqtt"})
    assert refused.status_code == 404 and "that you may read" in refused.content.decode()
    assert client.get(f"/clusters/default/emqx/{hidden}/mqtt/compare/").status_code == 404
