"""Every console URL x every row of people (nobody logged in, a grant on another cluster, each role
in one namespace) x a namespace in and out of the role's scope, on a cluster of operator 2.2 (EMQX
v2beta1, the 4.x brokers, Rebalance) and one of 3.0 (EMQX v3beta1, EMQXAPIKey): every registered
kind's pages. The pages of a kind the cluster does not serve still answer by the same rules.

The URLconf is enumerated, so a new view without an entry in REQUIRED_VERB (or an unnamed URL
pattern) fails here until someone decides who may use it. Each answer is pinned to one status code:
a log-in redirect is never taken for a page. Refusals are 403 where the user may read the namespace
and 404 where they may not (existence must not leak), and no read page shows the name of the object
outside the user's scope. A refused write is also POSTed directly, with the complete form a
permitted user's page holds (no button needed to try), and changes nothing and records nothing.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from console import clusters
from console.forms.schema import ResourceForm, values_as_data
from console.models import AuditEntry, RoleGrant
from console.registry import ResourceAdmin, site
from emqx.client.clientset import Clientset
from tests.conftest import SANDBOX_OF_BUNDLE
from tests.console.kind_cases import CASES, Case
from tests.support import eventually, form_data

pytestmark = pytest.mark.django_db

# URL name -> the Kubernetes verb it needs on the URL's kind in the URL's namespace (None: no
# namespace in the URL; the view narrows what it shows to what the user may read). Every
# registered kind has the same pages (console.registry), declared once by action.
ACTION_VERB: dict[str, str | None] = {
    "list": None,
    "rows": None,
    "detail": "get",
    "status": "get",
    "events": "get",
    "timeline": "get",
    "history": "get",  # the object's audit entries and condition changes, also once it is deleted
    "add": "create",
    "change": "update",
    "delete": "delete",
    "action": "update",  # object actions (Pause, Resume): POST only
    # Save as new reads the source here and creates where the form says: a user who may add nowhere is
    # refused (403); the rows' only grant is this namespace, so that is "create" here.
    "saveasnew": "create",
    "compare": "get",  # read on both sides; the other side is chosen in the form
    # The list's actions: POST only, each object judged by the action's own permission in its namespace
    # (tests/console/test_list_actions.py); a result page is held by the session that ran the action.
    "actions": None,
    "action_result": None,
}
REQUIRED_VERB: dict[str, str | None] = {
    "home": None,
    "audit_list": None,
    "fleet_dashboard": None,
    "fleet_dashboard_partial": None,
    "dashboard": None,
    "dashboard_partial": None,
    "upgrade_blockers": None,
    **{admin.url_name(action): verb for admin in site for action, verb in ACTION_VERB.items()},
}
PUBLIC = {"login", "logout"}
# No console log-in: the kubelet's probes, and Prometheus with its bearer token (console/health.py,
# console/metrics.py; tests/deploy/test_endpoints.py). Pinned here for a request without either.
# /readyz follows the caches' state (tests/deploy/test_endpoints.py pins it): here only never a log-in page.
NO_LOGIN: dict[str, set[int]] = {
    "healthz": {200},
    "readyz": {200, 503},
    "metrics": {401},
    # The header's language switcher (Django's set_language), on the log-in page too: it sets a cookie and
    # nothing else; a GET changes nothing and is sent back to the start page.
    "set_language": {302},
}
ROLES = ("viewer", "operator", "admin")
ROLE_VERBS = {
    "viewer": {"get"},
    "operator": {"get", "create", "update"},
    "admin": {"get", "create", "update", "delete"},
}
# Who makes the requests: nobody logged in, an admin of the namespace on another cluster only
# (nothing here), and each role in the namespace "in" of every cluster.
ROWS = ("anonymous", "admin elsewhere", *ROLES)
OUTSIDE = "outside"  # the name of the object out of scope: no read page may show it


def _console_patterns() -> Iterator[tuple[str | None, str]]:
    """(URL name, route) of every console URL pattern; None for a pattern without a name."""

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> Iterator[tuple[str | None, str]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                if str(p.pattern) == "admin/":
                    continue  # Django's own admin has its own permission checks (is_staff)
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield p.name, prefix + str(p.pattern)

    yield from walk(get_resolver().url_patterns, "")


def test_every_console_url_has_a_name_and_a_declared_permission() -> None:
    patterns = list(_console_patterns())
    unnamed = [route for name, route in patterns if name is None]
    assert not unnamed, f"name these URL patterns (the matrix and the templates find URLs by name): {unnamed}"
    names = {name for name, _ in patterns}
    # Kinds without a timeline or object actions have no such URL; every other declared name must exist.
    optional = ("_timeline", "_action")
    declared = {name for name in REQUIRED_VERB if not name.endswith(optional)} | {
        name for name in REQUIRED_VERB if name.endswith(optional) and name in names
    }
    assert names - PUBLIC - set(NO_LOGIN) == declared, "declare who may use each new view in REQUIRED_VERB"


def test_the_matrix_covers_every_registered_kind() -> None:
    """Each kind of the registry has its pages in the URLconf and an object on one of the two clusters."""
    slugs = {admin.slug for admin in site}
    routed = {name.rsplit("_", 1)[0] for name, _ in _console_patterns() if name and name.endswith("_list")}
    assert slugs <= routed
    assert {admin.kind for admin in site} == {case.model.kind for case in CASES if case.era in ("current", "3.0")}


def _url(route: str, namespace: str, name: str) -> str:
    route = route.replace("<slug:cluster>", "default").replace("<slug:action>", "pause")
    route = route.replace("<slug:batch>", "no-such-result")
    url = "/" + route.replace("<slug:namespace>", namespace).replace("<str:name>", name)
    # A view whose route names no namespace takes the one it acts in from the query (Add).
    return url if "<slug:namespace>" in route else f"{url}?namespace={namespace}"


def _admin_of(url_name: str) -> ResourceAdmin | None:
    return next((a for a in site if url_name.startswith(a.slug + "_")), None)


def _with_id(page: str, marker: str, form_id: str) -> str:
    """``page`` with ``id=form_id`` on the first <form> whose tag contains ``marker`` (the delete
    confirmation and the object actions have no id of their own)."""
    return re.sub(rf"<form(?=[^>]*{re.escape(marker)})", f'<form id="{form_id}"', page, count=1)


def _probes(superuser: Client, case: Case, namespace: str, name: str) -> dict[str, dict[str, str]]:
    """The write forms of ``namespace/name`` as a superuser's pages hold them, complete, as a browser
    posts them: add (a new object "probe", filled in as the kind needs), change (a label added),
    delete, and the Pause action."""
    admin = case.admin
    add_page = superuser.get(f"/clusters/default/{admin.slug}/add/", {"namespace": namespace}).content.decode()
    spec = case.form_spec()
    # What the kind's form needs beyond name and namespace; its references to "target" name the
    # EMQX of the namespace (the world's objects are "inside" and "outside").
    needs = {path: name if value == "target" else value for path, value in case.form.items()}
    filled_in = {**ResourceForm(spec=spec).initial, **needs, "metadata.name": "probe", "metadata.namespace": namespace}
    base = f"/clusters/default/{admin.slug}/{namespace}/{name}/"
    change_page = superuser.get(base + "change/").content.decode()
    delete_page = _with_id(superuser.get(base + "delete/").content.decode(), "delete-confirmation", "delete-form")
    detail_page = _with_id(superuser.get(base).content.decode(), "/actions/pause/", "action-form")
    return {
        admin.url_name("add"): {**form_data(add_page, f"{admin.slug}-form"), **values_as_data(spec, filled_in)},
        admin.url_name("change"): {
            **form_data(change_page, f"{admin.slug}-form"),
            "metadata.labels": "probe=1",
            "step": "save",
        },
        admin.url_name("delete"): form_data(delete_page, "delete-form"),
        admin.url_name("action"): form_data(detail_page, "action-form"),
    }


@pytest.fixture(params=["current", "3.0"], ids=["operator-2.2", "operator-3.0"])
def world(request: pytest.FixtureRequest, settings: Any, admin_client: Client) -> Iterator[dict[str, Any]]:
    """A cluster ``default`` of one operator line, an object of every kind it serves (as the kind
    cases write them) in the role's namespace ("inside") and one in a namespace outside its scope
    ("outside"), and the write forms of each as a superuser's pages hold them."""
    era = request.param
    sandbox = request.getfixturevalue(SANDBOX_OF_BUNDLE[era])
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.kubeconfig)}]
    settings.CONSOLE_METRICS_TOKEN = "matrix-metrics-token"
    cluster = clusters.get_cluster("default")
    assert cluster is not None
    namespace = f"t-perm-{secrets.token_hex(3)}"
    other = namespace + "-out"
    for ns in (namespace, other):
        sandbox.create_namespace(ns)
    cases = [case for case in CASES if case.era == era]
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        for case in cases:
            for ns, name in ((namespace, "inside"), (other, OUTSIDE)):
                doc = {"metadata": {"name": name, "namespace": ns}, "spec": case.spec(name)}
                cs.resource(case.model, ns).create(case.model.from_dict(doc))
        for case in cases:
            cache = cluster.cache(case.model.kind)
            eventually(lambda c=cache: c.get(other, OUTSIDE) is not None and c.get(namespace, "inside") is not None)
        probes = {
            scope: {
                url_name: data for case in cases for url_name, data in _probes(admin_client, case, ns, name).items()
            }
            for scope, ns, name in (("in", namespace, "inside"), ("out", other, OUTSIDE))
        }
        yield {
            "in": namespace,
            "out": other,
            "served": {case.model.kind for case in cases},
            "clientset": cs,
            "probes": probes,
            "cases": cases,
        }
    clusters.reset()


def _allowed(row: str, url_name: str, scope: str) -> bool:
    """Whether ``row`` may use ``url_name`` in ``scope`` ("in": the namespace of the row's grant)."""
    verb = REQUIRED_VERB[url_name]
    return row in ROLES and (verb is None or (scope == "in" and verb in ROLE_VERBS[row]))


def _expected(row: str, url_name: str, scope: str, served: bool) -> int:
    """The one status code ``row`` gets for a GET of ``url_name`` in ``scope`` ("in": the namespace
    of the row's grant; "out": another), on a kind the cluster serves or not. A kind the cluster
    does not serve answers by the same rules, except that there is nothing to add, change or delete."""
    if row == "anonymous":
        return 302  # to the log-in page (checked by the caller)
    verb = REQUIRED_VERB[url_name]
    if url_name == "home":
        return 302  # to the fleet dashboard
    if url_name == "upgrade_blockers":
        return 200 if row in ROLES else 404  # a page about the cluster: for those with a role in it
    if url_name.endswith("_actions"):
        return 405  # the list's action bar POSTs
    if url_name.endswith("_action_result"):
        return 404  # no such result in this session
    if verb is None:
        return 200  # narrowed to what the user may read
    if row not in ROLES or scope == "out":
        return 404  # existence must not leak
    if verb not in ROLE_VERBS[row]:
        return 403
    if not served and verb != "get":
        return 404
    return 405 if url_name.endswith("_action") else 200  # an object action is POST only


def _read_problems(row: str, url_name: str, scope: str, served: bool, response: Any) -> list[str]:
    """What is wrong with an answer that has the expected status: a redirect elsewhere than it
    should go; a read page showing the object out of scope (the page's echo of the requested
    path aside), or not showing the object in scope to someone who may read it."""
    if response.status_code == 302:
        target = "/login/?next=" if row == "anonymous" else "/dashboard/"
        return [] if response["Location"].startswith(target) else [f"redirected to {response['Location']}"]
    if REQUIRED_VERB[url_name] not in (None, "get") or response.status_code not in (200, 404):
        return []
    problems = []
    body = response.content.decode().replace(response.wsgi_request.path, "")
    if OUTSIDE in body:
        problems.append(f"shows {OUTSIDE!r}, an object outside the user's scope")
    kind_page = _admin_of(url_name) is not None and url_name.endswith(("_list", "_detail"))
    readable = row in ROLES and scope == "in" and served
    if kind_page and readable and response.status_code == 200 and "inside" not in body:
        problems.append("does not show 'inside', an object the user may read")
    return problems


@pytest.mark.parametrize("row", ROWS)
def test_each_row_gets_what_it_may_and_nothing_else(row: str, world: dict[str, Any], client: Client) -> None:
    if row != "anonymous":
        user = User.objects.create_user(f"{row.replace(' ', '-')}-user", password=f"pw-{row}-123456")
        if row == "admin elsewhere":
            RoleGrant.objects.create(user=user, role="admin", cluster="elsewhere", namespace=world["in"])
        else:
            RoleGrant.objects.create(user=user, role=row, namespace=world["in"])
        client.force_login(user)
    audited = AuditEntry.objects.count()
    failures = []
    for url_name, route in _console_patterns():
        assert url_name is not None  # test_every_console_url_has_a_name_and_a_declared_permission
        if url_name in PUBLIC:
            continue
        if url_name in NO_LOGIN:
            status = client.get("/" + route).status_code
            if status not in NO_LOGIN[url_name]:
                failures.append(f"{row} GET /{route}: {status}, want {NO_LOGIN[url_name]}")
            continue
        admin = _admin_of(url_name)
        served = admin is None or admin.kind in world["served"]
        for scope, obj in (("in", "inside"), ("out", OUTSIDE)):
            url = _url(route, world[scope], obj)
            want = _expected(row, url_name, scope, served)
            response = client.get(url)
            where = f"{row} GET {url} ({url_name}, {scope})"
            if response.status_code != want:
                failures.append(f"{where}: {response.status_code}, want {want}")
                continue
            failures += [f"{where}: {problem}" for problem in _read_problems(row, url_name, scope, served, response)]
            # A refused write is tried directly too, with the complete form a permitted user's page holds.
            if REQUIRED_VERB[url_name] in ("create", "update", "delete") and not _allowed(row, url_name, scope):
                data = world["probes"][scope].get(url_name, {}) if served else {}
                status = client.post(url, data).status_code
                want_post = 302 if row == "anonymous" else (403 if want == 403 else 404)
                if status != want_post:
                    failures.append(f"{row} POST {url} ({url_name}, {scope}): {status}, want {want_post}")
    assert not failures, "\n".join(failures)
    # The refused POSTs changed nothing and recorded nothing: every object is still there, at its
    # first generation, without the probe's label; no "probe" was created; no audit entry.
    clientset: Clientset = world["clientset"]
    for kind in world["served"]:
        for scope, obj in (("in", "inside"), ("out", OUTSIDE)):
            found = clientset.for_kind(kind, world[scope]).get(obj)
            assert found.metadata.generation == 1 and not found.metadata.annotations, kind
            assert "probe" not in (found.metadata.labels or {}), kind
            assert [o.metadata.name for o in clientset.for_kind(kind, world[scope]).list().items] == [obj], kind
    assert AuditEntry.objects.count() == audited


def test_the_probes_are_forms_a_permitted_user_could_save(world: dict[str, Any], admin_client: Client) -> None:
    """The forms the refused writes above are tried with are valid: a superuser's same add form
    creates the object, the same change form reaches the review, the delete form names the object."""
    for case in world["cases"]:
        admin = case.admin
        add = world["probes"]["in"][admin.url_name("add")]
        response = admin_client.post(_url(f"clusters/<slug:cluster>/{admin.slug}/add/", world["in"], ""), add)
        assert response.status_code == 302, (
            case.id,
            re.findall(r"errorlist[^>]*>(.*?)</ul>", response.content.decode(), re.S),
        )
        assert response["Location"] == f"/clusters/default/{admin.slug}/{world['in']}/probe/", case.id
        world["clientset"].for_kind(admin.kind, world["in"]).delete("probe")
        change = {**world["probes"]["in"][admin.url_name("change")], "step": "preview"}
        response = admin_client.post(f"/clusters/default/{admin.slug}/{world['in']}/inside/change/", change)
        assert b"Review changes to" in response.content, case.id
        delete = world["probes"]["in"][admin.url_name("delete")]
        inside = world["clientset"].for_kind(admin.kind, world["in"]).get("inside")
        assert (delete["uid"], delete["generation"]) == (inside.metadata.uid, str(inside.metadata.generation))


def test_out_of_scope_instances_never_appear_in_the_list(world: dict[str, str], client: Client) -> None:
    user = User.objects.create_user("scoped", password="pw-scoped-123456")
    RoleGrant.objects.create(user=user, role="admin", namespace=world["in"])
    client.force_login(user)
    html = client.get("/clusters/default/emqx/").content.decode()
    assert "inside" in html and "outside" not in html and world["out"] not in html


def test_a_grant_to_a_group_counts_for_its_members(world: dict[str, str], client: Client) -> None:
    from django.contrib.auth.models import Group

    ops = Group.objects.create(name="ops")
    user = User.objects.create_user("member", password="pw-member-123456")
    user.groups.add(ops)
    RoleGrant.objects.create(group=ops, role="viewer", namespace=world["in"])
    client.force_login(user)
    assert client.get(f"/clusters/default/emqx/{world['in']}/inside/").status_code == 200
    assert client.get(f"/clusters/default/emqx/{world['out']}/outside/").status_code == 404


def test_a_namespace_operator_is_offered_add_on_the_all_namespaces_list(world: dict[str, str], client: Client) -> None:
    user = User.objects.create_user("ns-operator", password="pw-ns-operator-1")
    RoleGrant.objects.create(user=user, role="operator", namespace=world["in"])
    client.force_login(user)
    assert "Add EMQX" in client.get("/clusters/default/emqx/").content.decode()
    assert "Add EMQX" not in client.get("/clusters/default/emqx/", {"namespace": world["out"]}).content.decode()


def test_a_viewer_is_never_offered_add(world: dict[str, str], client: Client) -> None:
    user = User.objects.create_user("plain-viewer", password="pw-plain-viewer-1")
    RoleGrant.objects.create(user=user, role="viewer")
    client.force_login(user)
    assert "Add EMQX" not in client.get("/clusters/default/emqx/").content.decode()


def test_a_revoked_role_or_group_membership_applies_on_the_next_request(world: dict[str, str], client: Client) -> None:
    from django.contrib.auth.models import Group

    page = f"/clusters/default/emqx/{world['in']}/inside/"
    ops = Group.objects.create(name="ops-revoked")
    user = User.objects.create_user("revoked", password="pw-revoked-123456")
    user.groups.add(ops)
    grant = RoleGrant.objects.create(user=user, role="admin", namespace=world["in"])
    RoleGrant.objects.create(group=ops, role="viewer", namespace=world["in"])
    client.force_login(user)
    assert client.get(page + "delete/").status_code == 200
    grant.delete()  # as the Django admin does it
    assert client.get(page + "delete/").status_code == 403  # still a viewer through the group
    user.groups.remove(ops)
    assert client.get(page).status_code == 404


def test_a_change_made_elsewhere_applies_on_the_next_request(world: dict[str, str], client: Client) -> None:
    user = User.objects.create_user("elsewhere", password="pw-elsewhere-123456")
    grant = RoleGrant.objects.create(user=user, role="admin", namespace=world["in"])
    client.force_login(user)
    page = f"/clusters/default/emqx/{world['in']}/inside/delete/"
    assert client.get(page).status_code == 200
    # Another worker process's change: no signal reaches this one (update() sends none either).
    RoleGrant.objects.filter(pk=grant.pk).update(role="viewer")
    assert client.get(page).status_code == 403
