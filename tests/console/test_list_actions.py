"""The change list's actions (console/actions.py, console/views/list_actions.py), for every kind in
every version: tick rows (or every row the filters match), choose an action, see every object it will
touch, confirm; each object is then written on its own (dry-run, the resourceVersion shown as
precondition, one audit entry), and the result says which succeeded and which failed and why.

The suite parametrized over kinds and actions changes one of three objects behind the user's back
after the confirmation page: the other two are done, the changed one is reported with its reason,
and each of the three attempts has exactly one audit entry."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from console.actions import RESTARTED_AT, AdminAction
from console.models import AuditEntry, RoleGrant
from console.registry import ResourceAdmin
from emqx.errors import NotFound
from emqx.models._base import Resource
from sandbox import Sandbox
from tests.console.kind_cases import CASES, Case, World
from tests.support import eventually, form_data

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
def world_of(request: pytest.FixtureRequest, settings: Any, admin_client: Client) -> Callable[[Case], World]:
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
    from console import clusters

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
