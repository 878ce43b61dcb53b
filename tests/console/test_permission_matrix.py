"""Every console URL x every role x a namespace in and out of the role's scope.

The URLconf is enumerated, so a new view without an entry in REQUIRED_VERB fails here until
someone decides who may use it. Refusals are 403 where the user may read the namespace and
404 where they may not (existence must not leak). A direct POST by a Viewer is refused even
though no button is shown, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from console.models import RoleGrant
from console.registry import site
from emqx.client.clientset import Clientset
from tests import factories
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
}
REQUIRED_VERB: dict[str, str | None] = {
    "home": None,
    "audit_list": None,
    "fleet_dashboard": None,
    "fleet_dashboard_partial": None,
    "dashboard": None,
    "dashboard_partial": None,
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
    # Kinds without a timeline have no timeline URL; every other declared name must exist.
    declared = {name for name in REQUIRED_VERB if not name.endswith("_timeline")} | {
        name for name in REQUIRED_VERB if name.endswith("_timeline") and name in names
    }
    assert names - PUBLIC == declared, "declare who may use each new view in REQUIRED_VERB"


def _url(route: str, namespace: str, name: str) -> str:
    route = route.replace("<slug:cluster>", "default")
    url = "/" + route.replace("<slug:namespace>", namespace).replace("<str:name>", name)
    # A view whose route names no namespace takes the one it acts in from the query (Add).
    return url if "<slug:namespace>" in route else f"{url}?namespace={namespace}"


@pytest.fixture
def world(clientset: Clientset, namespace: str, sandbox: object, console_cluster: object) -> dict[str, str]:
    """An object of every kind in the role's namespace and one in a namespace outside its scope."""
    other = namespace[:50] + "-out"
    sandbox.create_namespace(other)  # type: ignore[attr-defined]
    for ns, name in ((namespace, "inside"), (other, "outside")):
        clientset.apps_v2beta1.emqxes(ns).create(factories.emqx(name, namespace=ns))
        clientset.apps_v1beta4.emqx_brokers(ns).create(factories.emqx_broker(name, namespace=ns))
        clientset.apps_v1beta4.emqx_enterprises(ns).create(factories.emqx_enterprise(name, namespace=ns))
        clientset.apps_v2beta1.rebalances(ns).create(factories.rebalance(name, namespace=ns, instance_name=name))
    for admin in site:
        cache = console_cluster.cache(admin.kind)  # type: ignore[attr-defined]
        eventually(lambda c=cache: c.get(other, "outside") is not None and c.get(namespace, "inside") is not None)
    return {"in": namespace, "out": other}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_it_may_and_nothing_else(
    role: str, world: dict[str, str], client: Client, clientset: Clientset
) -> None:
    user = User.objects.create_user(f"{role}-user", password=f"pw-{role}-123456")
    RoleGrant.objects.create(user=user, role=role, namespace=world["in"])
    client.force_login(user)
    failures = []
    for url_name, route in _console_patterns():
        if url_name in PUBLIC:
            continue
        verb = REQUIRED_VERB[url_name]
        for scope, obj in (("in", "inside"), ("out", "outside")):
            url = _url(route, world[scope], obj)
            if verb is None:
                expected = {200, 302}
            elif scope == "out":
                expected = {404}
            elif verb in ROLE_VERBS[role]:
                expected = {200, 286, 302}
            else:
                expected = {403}
            # Refused write views are also POSTed to directly: no button needed to try.
            refused_write = verb not in (None, "get") and expected in ({403}, {404})
            for method in ("get", "post") if refused_write else ("get",):
                status = getattr(client, method)(url).status_code
                if status not in expected:
                    failures.append(f"{role} {method.upper()} {url} ({url_name}, {scope}): {status}, want {expected}")
    assert not failures, "\n".join(failures)
    # The refused POSTs changed nothing: every object is still there, at its first generation.
    for admin in site:
        for scope, obj in (("in", "inside"), ("out", "outside")):
            assert clientset.for_kind(admin.kind, world[scope]).get(obj).metadata.generation == 1, admin.kind


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
