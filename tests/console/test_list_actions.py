"""The change list's actions (console/actions.py, console/views/list_actions.py), for every kind in
every version: tick rows (or every row the filters match), choose an action, see every object it will
touch, confirm; each object is then written on its own (dry-run, the resourceVersion shown as
precondition, one audit entry), and the result says which succeeded and which failed and why.

The suite parametrized over kinds and actions changes one of three objects behind the user's back
after the confirmation page: the other two are done, the changed one is reported with its reason,
and each of the three attempts has exactly one audit entry."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from console import clusters, impersonation
from console.actions import RESTARTED_AT, AdminAction
from console.models import AuditEntry, RoleGrant
from console.registry import ResourceAdmin
from emqx.client.clientset import Clientset
from emqx.errors import NotFound
from sandbox import Sandbox
from tests import factories
from tests.conftest import KubectlRunner, wait_until_allowed
from tests.console.kind_cases import CASES, Case, World
from tests.console.test_impersonation import CONSOLE_IDENTITY_RBAC
from tests.support import eventually, form_data, write_emqx_status

pytestmark = pytest.mark.django_db

NAMES = ("alpha", "bravo", "charlie")


def _at(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _list(world: World) -> str:
    return f"/clusters/{world.cluster}/{world.case.admin.slug}/"


def _cached(world: World, *names: str) -> None:
    """Wait until the list shows every one of ``names`` (the watch cache has them)."""
    eventually(lambda: all(f">{n}<" in world.html(_list(world), namespace=world.namespace) for n in names))


def _choose(world: World, action: str, *names: str, query: str = "", across: bool = False) -> Any:
    """Post the list's action bar: ``action`` on the rows ``names`` (or every matching one)."""
    data: dict[str, Any] = {"action": action, "changelist_query": query or f"namespace={world.namespace}"}
    if across:
        data["select_across"] = "1"
    else:
        data["selected"] = [f"{world.namespace}/{n}" for n in names]
    return world.client.post(_list(world) + "actions/", data)


def _confirm(world: World, page: str, values: dict[str, Any], **typed: str) -> Any:
    """Confirm the confirmation ``page`` as a browser does, with the action's ``values`` and the
    names typed for production objects (``typed``: name -> what was typed)."""
    data: dict[str, Any] = {**form_data(page, "action-confirmation"), **values}
    data.update({f"confirm:{world.namespace}/{name}": text for name, text in typed.items()})
    return world.client.post(_list(world) + "actions/", data)


def _image(action: Any) -> str:
    return str(action.example).rsplit(":", 1)[0] + ":9.9.9"


# What each action is asked to do in the suite, and how its effect shows on an object's document.
VALUES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "delete_selected": lambda action: {},
    "label": lambda action: {"operation": "add", "key": "team", "value": "iot"},
    "scale": lambda action: {f.key: str(f.minimum + 4) for f in action.fields},
    "restart": lambda action: {},
    "set_image": lambda action: {"image": _image(action)},
}


def _done(world: World, action: Any, name: str) -> bool:
    """Whether ``action`` (with VALUES) has been done to the object ``name``."""
    try:
        obj = world.objects.get(name)
    except NotFound:
        return action.name == "delete_selected"
    doc = obj.to_dict()
    if action.name == "label":
        return (obj.metadata.labels or {}).get("team") == "iot"
    if action.name == "scale":
        return all(_at(doc, f.path) == f.minimum + 4 for f in action.fields)
    if action.name == "restart":
        return all(RESTARTED_AT in (_at(doc, f"{p}.metadata.annotations") or {}) for p in action._present(obj))
    if action.name == "set_image":
        return bool(world.case.admin.summarize(obj).image == _image(action))
    return False


def _action_cases() -> list[Any]:
    return [
        pytest.param(case, action.name, id=f"{case.id}-{action.name}")
        for case in CASES
        for action in case.admin.actions
    ]


@pytest.fixture
def world_of(request: pytest.FixtureRequest, settings: Any, admin_client: Client) -> Iterator[Callable[[Case], World]]:
    """The ``world`` fixture of conftest.py for a case chosen by the test's own parameters."""

    def make(case: Case) -> World:
        import secrets

        from emqx.client.clientset import Clientset
        from tests.conftest import SANDBOX_OF_BUNDLE
        from tests.console.conftest import CLUSTER_OF_ERA

        sandbox: Sandbox = request.getfixturevalue(SANDBOX_OF_BUNDLE[case.era])
        cluster = CLUSTER_OF_ERA[case.era]
        settings.CONSOLE_CLUSTERS = [{"name": cluster, "kubeconfig": str(sandbox.kubeconfig)}]
        namespace = f"t-act-{case.admin.slug[:10]}-{secrets.token_hex(3)}"
        sandbox.create_namespace(namespace)
        cs = Clientset.from_kubeconfig(sandbox.kubeconfig)
        request.addfinalizer(cs.close)
        return World(case, cluster, namespace, cs, sandbox, admin_client)

    yield make
    clusters.reset()


@pytest.mark.parametrize(("case", "action_name"), _action_cases())
def test_an_action_on_three_objects_does_the_two_unchanged_and_reports_the_one_changed_after_the_confirmation(
    case: Case, action_name: str, world_of: Callable[[Case], World]
) -> None:
    world = world_of(case)
    admin: ResourceAdmin = case.admin
    action: AdminAction = admin.get_list_action(action_name)
    objs = [world.new(name) for name in NAMES]
    _cached(world, *NAMES)
    page = _choose(world, action_name, *NAMES)
    assert page.status_code == 200
    html = page.content.decode()
    if action.why_not(objs[0]):
        # This version has nowhere to do it (a v1beta1 broker's restart): every object is left out, saying why.
        assert 'id="action-confirmation"' not in html and "action-skipped" in html
        assert action.why_not(objs[0]).split(":")[0].lower() in html.replace("&#x27;", "'").lower()
        return
    for obj in objs:  # every object it will touch, as it is now
        assert f">{obj.metadata.name}<" in html and f"<code>{obj.metadata.resource_version}</code>" in html
    # Someone changes bravo after the confirmation page was shown.
    world.objects.patch("bravo", {"metadata": {"labels": {"changed-by": "someone-else"}}})
    response = _confirm(world, html, VALUES[action_name](action))
    assert response.status_code == 302, re.findall(r'class="errorlist[^"]*">(.*?)</ul>', response.content.decode())
    result = world.client.get(response["Location"]).content.decode()
    assert [_done(world, action, n) for n in NAMES] == [True, False, True]
    assert "2 done, 1 failed" in result
    bravo = re.search(r'data-object="[^"]*/bravo">(.*?)</tr>', result, re.S)
    assert bravo is not None and "Failed" in bravo.group(1) and "changed after the confirmation page" in bravo.group(1)
    entries = AuditEntry.objects.filter(namespace=world.namespace).order_by("name")
    assert [(e.name, e.action, e.outcome) for e in entries] == [
        ("alpha", action.audit_action, "success"),
        ("bravo", action.audit_action, "failure"),
        ("charlie", action.audit_action, "success"),
    ]


# ----- on the 2.2 cluster ("default"), with EMQX v2beta1 ------------------------------------------------

LIST = "/clusters/default/emqx/"


def _make(clientset: Clientset, namespace: str, *names: str, **kwargs: Any) -> None:
    for name in names:
        clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx(name, namespace=namespace, **kwargs))


def _see(client: Client, namespace: str, *names: str) -> None:
    eventually(lambda: all(f">{n}<" in client.get(LIST, {"namespace": namespace}).content.decode() for n in names))


def _post(client: Client, data: dict[str, Any]) -> Any:
    return client.post(LIST + "actions/", data)


def _select(client: Client, namespace: str, action: str, *names: str, query: str = "") -> Any:
    selected = [f"{namespace}/{n}" for n in names]
    return _post(
        client, {"action": action, "selected": selected, "changelist_query": query or f"namespace={namespace}"}
    )


def _confirm_page(client: Client, page: Any, **extra: Any) -> Any:
    assert page.status_code == 200, page.status_code
    return _post(client, {**form_data(page.content.decode(), "action-confirmation"), **extra})


def _emqxes(clientset: Clientset, namespace: str) -> list[str]:
    return sorted(o.metadata.name or "" for o in clientset.apps_v2beta1.emqxes(namespace).list().items)


def test_each_production_object_needs_its_name_typed_and_one_left_untyped_is_kept(
    admin: Client, clientset: Clientset, sandbox: Sandbox, namespace: str
) -> None:
    production = f"{namespace[:50]}-prod"
    sandbox.create_namespace(production, labels={"environment": "production"})
    _make(clientset, production, "alpha", "bravo", "charlie")
    _make(clientset, namespace, "delta", labels={"environment": "production"})
    _make(clientset, namespace, "echo")
    _see(admin, production, "alpha", "bravo", "charlie")
    _see(admin, namespace, "delta", "echo")
    page = _select(admin, production, "delete_selected", "alpha", "bravo", "charlie", query="")
    html = page.content.decode()
    assert html.count('name="confirm:') == 3 and "its namespace is labelled environment=production" in html
    typed = {
        f"confirm:{production}/alpha": "alpha",
        f"confirm:{production}/bravo": "brav",
        f"confirm:{production}/charlie": "charlie",
    }
    result = admin.get(_confirm_page(admin, page, **typed)["Location"]).content.decode()
    assert _emqxes(clientset, production) == ["bravo"]
    assert "its name was not typed, and it must be because its namespace is labelled environment=production" in result
    # The object's own label counts as on the single delete page; an object without either needs nothing typed.
    page = _select(admin, namespace, "delete_selected", "delta", "echo")
    assert page.content.decode().count('name="confirm:') == 1
    _confirm_page(admin, page)
    assert _emqxes(clientset, namespace) == ["delta"]
    outcomes = {(e.namespace, e.name): e.outcome for e in AuditEntry.objects.filter(action="delete")}
    assert outcomes == {
        (production, "alpha"): "success",
        (production, "bravo"): "failure",
        (production, "charlie"): "success",
        (namespace, "delta"): "failure",
        (namespace, "echo"): "success",
    }


def test_removing_a_production_label_needs_the_name_typed_as_a_delete_would(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    """The Label action cannot lift the production guard quietly: an object's own
    environment=production label is changed or removed only with its name typed."""
    _make(clientset, namespace, "guarded", "also-guarded", labels={"environment": "production"})
    _make(clientset, namespace, "plain")
    _see(admin, namespace, "guarded", "also-guarded", "plain")
    page = _select(admin, namespace, "label", "guarded", "also-guarded", "plain")
    html = page.content.decode()
    assert html.count('name="confirm:') == 2 and "lifts the guard against deleting it by mistake" in html
    removal = {"operation": "remove", "key": "environment", f"confirm:{namespace}/guarded": "guarded"}
    result = admin.get(_confirm_page(admin, page, **removal)["Location"]).content.decode()
    labels = {o.metadata.name: o.metadata.labels or {} for o in clientset.apps_v2beta1.emqxes(namespace).list().items}
    assert labels["guarded"] == {} and labels["also-guarded"] == {"environment": "production"}
    assert "its name was not typed, and it must be because changing its environment=production label" in result
    outcomes = {e.name: e.outcome for e in AuditEntry.objects.filter(namespace=namespace, action="label")}
    assert outcomes == {"guarded": "success", "also-guarded": "failure", "plain": "success"}
    # Another label, on the same objects, needs nothing typed.
    page = _select(admin, namespace, "label", "also-guarded")
    _confirm_page(admin, page, operation="add", key="team", value="iot")
    team = clientset.apps_v2beta1.emqxes(namespace).get("also-guarded").metadata.labels or {}
    assert team == {"environment": "production", "team": "iot"}


def test_all_matching_takes_every_page_of_the_filtered_list_as_the_server_finds_it_now(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    names = [f"fleet-{i:02d}" for i in range(53)]  # more than a page (50)
    for name in names:
        _make(clientset, namespace, name, labels={"tier": "gold"})
    _make(clientset, namespace, "fleet-silver", labels={"tier": "silver"})
    _make(clientset, namespace, "other", labels={"tier": "gold"})
    query = f"namespace={namespace}&labels=tier%3Dgold&q=fleet"
    _see(admin, namespace, "fleet-00")
    eventually(lambda: "All 53 matching" in admin.get(LIST + "?" + query).content.decode())
    # One more matches by the time the action is chosen: the server's answer now counts, not the page's.
    _make(clientset, namespace, "fleet-late", labels={"tier": "gold"})
    eventually(lambda: ">fleet-late<" in admin.get(LIST, {"namespace": namespace, "q": "late"}).content.decode())
    page = _post(admin, {"action": "label", "select_across": "1", "changelist_query": query})
    html = page.content.decode()
    assert "Add or remove a label: 54 EMQX instances" in html
    assert ">fleet-late<" in html and ">fleet-silver<" not in html and ">other<" not in html
    _confirm_page(admin, page, operation="add", key="campaign", value="spring")
    labelled = {o.metadata.name for o in clientset.apps_v2beta1.emqxes(namespace).list(label_selector="campaign").items}
    assert labelled == {*names, "fleet-late"}
    assert AuditEntry.objects.filter(namespace=namespace, action="label", outcome="success").count() == 54


def test_scaling_only_the_replicants_goes_through_the_scale_subresource(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace, "solo", core_replicas=2, replicant_replicas=1)
    _see(admin, namespace, "solo")
    _confirm_page(admin, _select(admin, namespace, "scale", "solo"), replicants="3")
    obj = clientset.apps_v2beta1.emqxes(namespace).get("solo")
    assert obj.to_dict()["spec"]["replicantTemplate"]["spec"]["replicas"] == 3
    assert any(entry.subresource == "scale" for entry in obj.metadata.managed_fields or ())


def test_an_action_value_the_form_refuses_shows_the_confirmation_again_with_the_error_on_its_field(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace, "alpha", "bravo")
    _see(admin, namespace, "alpha", "bravo")
    page = _select(admin, namespace, "set_image", "alpha", "bravo")
    again = _confirm_page(admin, page, image="emqx/emqx 5.8.6")
    html = again.content.decode()
    assert again.status_code == 200 and 'id="errors-image"' in html and "Not an image reference" in html
    assert ">alpha<" in html and ">bravo<" in html
    assert not AuditEntry.objects.exists()
    _confirm_page(admin, again, image="emqx/emqx:5.8.7")
    assert {o.spec.image for o in clientset.apps_v2beta1.emqxes(namespace).list().items} == {"emqx/emqx:5.8.7"}


def test_a_restart_stamps_each_pod_template_it_has_and_creates_none(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    _make(clientset, namespace, "cores")
    _make(clientset, namespace, "both", replicant_replicas=2)
    _see(admin, namespace, "cores", "both")
    _confirm_page(admin, _select(admin, namespace, "restart", "cores", "both"))
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    cores, both = emqxes.get("cores").to_dict()["spec"], emqxes.get("both").to_dict()["spec"]
    assert RESTARTED_AT in cores["coreTemplate"]["metadata"]["annotations"]
    assert "replicantTemplate" not in cores  # a replicant template would have started replicants
    stamps = {both[t]["metadata"]["annotations"][RESTARTED_AT] for t in ("coreTemplate", "replicantTemplate")}
    assert stamps == {cores["coreTemplate"]["metadata"]["annotations"][RESTARTED_AT]}  # one time for all


def test_rows_are_selectable_only_where_the_user_may_change_and_a_viewer_gets_no_actions(
    client: Client, clientset: Clientset, sandbox: Sandbox, namespace: str, console_cluster: Any
) -> None:
    other = f"{namespace[:50]}-other"
    sandbox.create_namespace(other)
    _make(clientset, namespace, "mine")
    _make(clientset, other, "theirs")
    user = User.objects.create_user("mixed", password="pw-mixed-123456")
    RoleGrant.objects.create(user=user, role="operator", namespace=namespace)
    RoleGrant.objects.create(user=user, role="viewer", namespace=other)
    client.force_login(user)
    eventually(
        lambda: ">theirs<" in client.get(LIST).content.decode() and ">mine<" in client.get(LIST).content.decode()
    )
    html = client.get(LIST).content.decode()
    assert f'value="{namespace}/mine"' in html and f'value="{other}/theirs"' not in html
    options = re.findall(r'<option value="(\w+)">', html)
    assert options == ["scale", "restart", "set_image", "label"]  # an operator may not delete
    # Posted anyway: the object they may only view is left out, saying why; nothing of it changes.
    page = _post(client, {"action": "label", "selected": [f"{namespace}/mine", f"{other}/theirs"]})
    text = page.content.decode()
    assert "You may not change EMQX instances in " + other in text
    _confirm_page(client, page, operation="add", key="team", value="iot")
    assert clientset.apps_v2beta1.emqxes(other).get("theirs").metadata.labels is None
    assert clientset.apps_v2beta1.emqxes(namespace).get("mine").metadata.labels == {"team": "iot"}
    viewer = User.objects.create_user("only-views", password="pw-only-views-1")
    RoleGrant.objects.create(user=viewer, role="viewer")
    client.force_login(viewer)
    html = client.get(LIST).content.decode()
    assert 'name="selected"' not in html and "-actions" not in html
    response = _post(client, {"action": "delete_selected", "selected": [f"{namespace}/mine"]})
    assert response.status_code == 302 and _emqxes(clientset, namespace) == ["mine"]


def test_an_object_outside_the_users_namespaces_is_never_named_nor_touched(
    client: Client, clientset: Clientset, sandbox: Sandbox, namespace: str, console_cluster: Any
) -> None:
    hidden = f"{namespace[:50]}-hidden"
    sandbox.create_namespace(hidden)
    _make(clientset, namespace, "mine")
    _make(clientset, hidden, "secret-one")
    user = User.objects.create_user("scoped-admin", password="pw-scoped-admin-1")
    RoleGrant.objects.create(user=user, role="admin", namespace=namespace)
    client.force_login(user)
    _see(client, namespace, "mine")
    page = _post(client, {"action": "delete_selected", "selected": [f"{namespace}/mine", f"{hidden}/secret-one"]})
    html = page.content.decode()
    assert "secret-one" not in html and hidden not in html and "1 of the selected objects is no longer there" in html
    # A forged confirmation cannot add it either: the pinned list is signed.
    forged = {
        **form_data(html, "action-confirmation"),
        "targets": "x" + form_data(html, "action-confirmation")["targets"],
    }
    response = _post(client, forged)
    assert response.status_code == 302 and _emqxes(clientset, namespace) == ["mine"]
    assert _emqxes(clientset, hidden) == ["secret-one"] and not AuditEntry.objects.exists()


def test_the_result_page_follows_the_objects_until_they_settle_and_is_the_users_own(
    admin: Client, clientset: Clientset, namespace: str, client: Client
) -> None:
    _make(clientset, namespace, "alpha")
    _see(admin, namespace, "alpha")
    location = _confirm_page(admin, _select(admin, namespace, "scale", "alpha"), core="3")["Location"]
    poll = admin.get(location, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and "in progress" in poll.content.decode()  # the operator has not answered
    # The operator answers: Ready at the new generation, every node there.
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    write_emqx_status(
        emqxes,
        "alpha",
        [("Ready", "ClusterReady", dt.datetime.now(dt.UTC))],
        coreNodesStatus={"readyReplicas": 3, "replicas": 3},
    )
    eventually(lambda: admin.get(location, HTTP_HX_REQUEST="true").status_code == 286)
    assert "in progress" not in admin.get(location).content.decode()
    someone = User.objects.create_superuser("someone", password="pw-someone-12345")
    client.force_login(someone)
    assert client.get(location).status_code == 404  # kept in the session that ran it


@pytest.fixture
def impersonating(settings: Any, sandbox: Sandbox, kubectl: KubectlRunner) -> Iterator[None]:
    """The console acting as each person (the cluster's RBAC decides their writes), as in
    test_impersonation.py."""
    applied = kubectl("apply", "-f", "-", input=CONSOLE_IDENTITY_RBAC)
    assert applied.returncode == 0, applied.stderr
    wait_until_allowed(kubectl, "impersonate", "users", user="emqx-console")
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.user_kubeconfig("emqx-console"))}]
    settings.CONSOLE_IMPERSONATE = True
    yield
    impersonation.forget()
    clusters.reset()


def test_a_write_the_clusters_rbac_refuses_fails_for_its_object_only(
    impersonating: None, client: Client, clientset: Clientset, sandbox: Sandbox, namespace: str, kubectl: KubectlRunner
) -> None:
    read_only = f"{namespace[:50]}-ro"
    sandbox.create_namespace(read_only)
    _make(clientset, namespace, "alpha", "charlie")
    _make(clientset, read_only, "bravo")
    user = User.objects.create_user("rita", password="pw-rita-123456")
    RoleGrant.objects.create(user=user, role="admin")  # the console's roles would allow everything
    for ns, verbs in ((namespace, "get,list,watch,patch"), (read_only, "get,list,watch")):
        kubectl("-n", ns, "create", "role", "emqx", f"--verb={verbs}", "--resource=emqxes.apps.emqx.io")
        kubectl("-n", ns, "create", "rolebinding", "rita", "--role=emqx", "--user=console:rita")
    wait_until_allowed(kubectl, "patch", "emqxes.apps.emqx.io", user="console:rita", namespace=namespace)
    wait_until_allowed(kubectl, "list", "emqxes.apps.emqx.io", user="console:rita", namespace=read_only)
    client.force_login(user)
    eventually(lambda: ">bravo<" in client.get(LIST, {"namespace": read_only}).content.decode())
    selected = [f"{namespace}/alpha", f"{read_only}/bravo", f"{namespace}/charlie"]
    page = _post(client, {"action": "label", "selected": selected})
    result = client.get(_confirm_page(client, page, operation="add", key="team", value="iot")["Location"])
    html = result.content.decode()
    assert "2 done, 1 failed" in html
    assert "cluster default does not allow Kubernetes user console:rita to do it" in html
    assert clientset.apps_v2beta1.emqxes(read_only).get("bravo").metadata.labels is None
    assert all(
        clientset.apps_v2beta1.emqxes(namespace).get(n).metadata.labels == {"team": "iot"} for n in ("alpha", "charlie")
    )
    entries = {(e.name, e.outcome, e.username) for e in AuditEntry.objects.all()}
    assert entries == {("alpha", "success", "rita"), ("bravo", "failure", "rita"), ("charlie", "success", "rita")}


def test_a_bulk_delete_of_a_hundred_selected_instances_deletes_and_audits_every_one(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    names = [f"emqx-{i:03d}" for i in range(100)]  # bench/bulk_delete.py times the same
    _make(clientset, namespace, *names)
    eventually(lambda: "All 100 matching" in admin.get(LIST, {"namespace": namespace}).content.decode())
    page = _select(admin, namespace, "delete_selected", *names)
    assert "Delete selected: 100 EMQX instances" in page.content.decode()
    result = admin.get(_confirm_page(admin, page)["Location"]).content.decode()
    assert "Delete selected: 100 done</h1>" in result
    assert _emqxes(clientset, namespace) == []
    entries = AuditEntry.objects.filter(namespace=namespace)
    assert sorted(e.name for e in entries) == names and {(e.action, e.outcome) for e in entries} == {
        ("delete", "success")
    }
