"""Every console URL x every role x a namespace in and out of the role's scope, on a cluster of
operator 2.2 (EMQX v2beta1, the 4.x brokers, Rebalance) and one of 3.0 (EMQX v3beta1, EMQXAPIKey).
The pages of a kind the cluster does not serve still answer by the same rules (a banner or 404,
never a 500).

The URLconf is enumerated, so a new view without an entry in REQUIRED_VERB fails here until
someone decides who may use it. Refusals are 403 where the user may read the namespace and
404 where they may not (existence must not leak). A direct POST by a Viewer is refused even
though no button is shown, and changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from console import clusters
from console.models import RoleGrant
from console.registry import site
from emqx.client.clientset import Clientset
from tests.conftest import SANDBOX_OF_BUNDLE
from tests.console.kind_cases import CASES
from tests.support import eventually

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
    "add": "create",
    "change": "update",
    "delete": "delete",
    "action": "update",  # object actions (Pause, Resume): POST only
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
ROLES = ("viewer", "operator", "admin")
ROLE_VERBS = {
    "viewer": {"get"},
    "operator": {"get", "create", "update"},
    "admin": {"get", "create", "update", "delete"},
}


def _console_patterns() -> Iterator[tuple[str, str]]:
    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> Iterator[tuple[str, str]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                if str(p.pattern) == "admin/":
                    continue  # Django's own admin has its own permission checks (is_staff)
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif p.name:
                yield p.name, prefix + str(p.pattern)

    yield from walk(get_resolver().url_patterns, "")


def test_every_console_url_has_a_declared_permission() -> None:
    names = {name for name, _ in _console_patterns()}
    # Kinds without a timeline or object actions have no such URL; every other declared name must exist.
    optional = ("_timeline", "_action")
    declared = {name for name in REQUIRED_VERB if not name.endswith(optional)} | {
        name for name in REQUIRED_VERB if name.endswith(optional) and name in names
    }
    assert names - PUBLIC == declared, "declare who may use each new view in REQUIRED_VERB"


def _url(route: str, namespace: str, name: str) -> str:
    route = route.replace("<slug:cluster>", "default").replace("<slug:action>", "pause")
    url = "/" + route.replace("<slug:namespace>", namespace).replace("<str:name>", name)
    # A view whose route names no namespace takes the one it acts in from the query (Add).
    return url if "<slug:namespace>" in route else f"{url}?namespace={namespace}"


@pytest.fixture(params=["current", "3.0"], ids=["operator-2.2", "operator-3.0"])
def world(request: pytest.FixtureRequest, settings: Any) -> Iterator[dict[str, Any]]:
    """A cluster ``default`` of one operator line, an object of every kind it serves (as the kind
    cases write them) in the role's namespace, and one in a namespace outside its scope."""
    era = request.param
    sandbox = request.getfixturevalue(SANDBOX_OF_BUNDLE[era])
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.kubeconfig)}]
    cluster = clusters.get_cluster("default")
    assert cluster is not None
    namespace = f"t-perm-{secrets.token_hex(3)}"
    other = namespace + "-out"
    for ns in (namespace, other):
        sandbox.create_namespace(ns)
    cases = [case for case in CASES if case.era == era]
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        for case in cases:
            for ns, name in ((namespace, "inside"), (other, "outside")):
                doc = {"metadata": {"name": name, "namespace": ns}, "spec": case.spec(name)}
                cs.resource(case.model, ns).create(case.model.from_dict(doc))
        for case in cases:
            cache = cluster.cache(case.model.kind)
            eventually(lambda c=cache: c.get(other, "outside") is not None and c.get(namespace, "inside") is not None)
        yield {"in": namespace, "out": other, "served": {case.model.kind for case in cases}, "clientset": cs}
    clusters.reset()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_it_may_and_nothing_else(role: str, world: dict[str, Any], client: Client) -> None:
    user = User.objects.create_user(f"{role}-user", password=f"pw-{role}-123456")
    RoleGrant.objects.create(user=user, role=role, namespace=world["in"])
    client.force_login(user)
    failures = []
    for url_name, route in _console_patterns():
        if url_name in PUBLIC:
            continue
        verb = REQUIRED_VERB[url_name]
        admin = next((a for a in site if url_name.startswith(a.slug + "_")), None)
        served = admin is None or admin.kind in world["served"]
        for scope, obj in (("in", "inside"), ("out", "outside")):
            url = _url(route, world[scope], obj)
            if verb is None:
                expected = {200, 302}
            elif scope == "out":
                expected = {404}
            elif verb in ROLE_VERBS[role]:
                # An action URL answers GET with 405 (POST only); a kind the cluster does not serve
                # has nothing to show or write (its banner, or 404).
                expected = {200, 286, 302} | ({405} if url_name.endswith("_action") else set())
                expected |= set() if served else {404}
            else:
                expected = {403} if served else {403, 404}
            # Refused write views are also POSTed to directly: no button needed to try.
            refused_write = verb not in (None, "get") and expected in ({403}, {404})
            for method in ("get", "post") if refused_write else ("get",):
                status = getattr(client, method)(url).status_code
                if status not in expected:
                    failures.append(f"{role} {method.upper()} {url} ({url_name}, {scope}): {status}, want {expected}")
    assert not failures, "\n".join(failures)
    # The refused POSTs changed nothing: every object is still there, at its first generation.
    clientset: Clientset = world["clientset"]
    for kind in world["served"]:
        for scope, obj in (("in", "inside"), ("out", "outside")):
            found = clientset.for_kind(kind, world[scope]).get(obj)
            assert found.metadata.generation == 1 and not found.metadata.annotations, kind


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


def test_a_change_made_elsewhere_applies_within_the_grants_lifetime(
    world: dict[str, str], client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from console import permissions

    monkeypatch.setattr(permissions, "GRANTS_TTL_S", 0.2)
    user = User.objects.create_user("elsewhere", password="pw-elsewhere-123456")
    grant = RoleGrant.objects.create(user=user, role="admin", namespace=world["in"])
    client.force_login(user)
    page = f"/clusters/default/emqx/{world['in']}/inside/delete/"
    assert client.get(page).status_code == 200
    # Another worker process's change: no signal reaches this one (update() sends none either).
    RoleGrant.objects.filter(pk=grant.pk).update(role="viewer")
    eventually(lambda: client.get(page).status_code == 403, timeout=5)
