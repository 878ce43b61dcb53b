"""The status poll serves remembered HTML (console.rendered): rendered once per state of what it shows,
and never a wrong page. A change of the object, the language, the viewer's permissions or the minute of
a "since" text shows on the next poll; a user who may not see the object gets nothing remembered.

Renders are counted by the templates Django's test client saw rendered (``response.templates``): a
remembered panel renders none.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from console import clusters
from console.models import RoleGrant
from emqx.client.clientset import Clientset
from emqx.models import apps_v2beta1
from emqx.models._base import Resource
from sandbox import Sandbox
from tests.console.kind_cases import CASES, World
from tests.support import eventually, rfc3339

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db

POLLS = 5
READY = next(c for c in CASES if c.model is apps_v2beta1.EMQX).settled


def _poll(client: Client, url: str) -> Response:
    response: Response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code in (200, 286), (url, response.status_code)
    return response


def _rendered(response: Response) -> bool:
    """Whether the status panel was rendered for this response (not served from memory)."""
    return any(t.name and t.name.endswith("/_status.html") for t in response.templates)


def test_an_unchanged_object_is_rendered_once_over_many_polls_and_its_status_change_shows_on_the_next(
    world: World,
) -> None:
    world.new("polled")
    status = world.url("_status", "polled")
    eventually(lambda: world.client.get(status, HTTP_HX_REQUEST="true").status_code == 200)
    first = _poll(world.client, status)
    polls = [_poll(world.client, status) for _ in range(POLLS)]
    assert [_rendered(p) for p in polls] == [False] * POLLS
    assert {p.content for p in polls} == {first.content}
    world.write_status("polled", world.case.settled)
    eventually(lambda: _poll(world.client, status).status_code == 286)  # the cache has the settled status
    settled = _poll(world.client, status)
    assert settled.content != first.content and 'id="live-mark"' in settled.content.decode()
    assert "settled" in settled.content.decode()


# ----- one EMQX of the 2.2 cluster -----------------------------------------------------------------------


@pytest.fixture
def cluster(settings: Any, sandbox: Sandbox) -> Iterator[str]:
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.kubeconfig)}]
    yield "default"
    clusters.reset()


def _emqx(
    sandbox: Sandbox, namespace: str, name: str, status: Callable[[Resource], dict[str, Any]] | None = None
) -> None:
    """An EMQX v2beta1 ``name``, with the status ``status(obj)`` if given, as the operator writes it."""
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        objects = cs.resource(apps_v2beta1.EMQX, namespace)
        created = objects.create(
            apps_v2beta1.EMQX.from_dict(
                {"metadata": {"name": name, "namespace": namespace}, "spec": {"image": "emqx/emqx:5.8.6"}}
            )
        )
        if status is not None:
            doc = created.to_dict()
            doc["status"] = status(created)
            objects.update_status(apps_v2beta1.EMQX.from_dict(doc))


def _user(name: str, role: str, namespace: str) -> Client:
    user = User.objects.create_user(name, password="x")
    RoleGrant.objects.create(user=user, role=role, namespace=namespace)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(scope="module")
def compiled_catalogue() -> None:
    """The .mo files, as ``make test`` builds them before pytest (they are never committed)."""
    call_command("compilemessages", ignore_patterns=[".*", "sandbox", "bench", "tests"], verbosity=0)


def test_a_language_switch_shows_the_other_language_on_the_next_poll(
    compiled_catalogue: None, admin_client: Client, cluster: str, sandbox: Sandbox, namespace: str
) -> None:
    # Ready: nothing else on the panel (such as the health's reason) follows the language.
    _emqx(sandbox, namespace, "spoken", READY)
    status = f"/clusters/{cluster}/emqx/{namespace}/spoken/_status"
    eventually(lambda: admin_client.get(status, HTTP_HX_REQUEST="true").status_code == 286)  # settled
    assert "Status" in _poll(admin_client, status).content.decode()
    remembered = _poll(admin_client, status)
    assert not _rendered(remembered) and "Status" in remembered.content.decode()
    admin_client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = _poll(admin_client, status).content.decode()
    assert "状态" in chinese and ">Status<" not in chinese
    admin_client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "状态" not in _poll(admin_client, status).content.decode()


def test_a_user_without_permission_gets_no_remembered_html(
    admin_client: Client, cluster: str, sandbox: Sandbox, namespace: str
) -> None:
    _emqx(sandbox, namespace, "private")
    status = f"/clusters/{cluster}/emqx/{namespace}/private/_status"
    eventually(lambda: admin_client.get(status, HTTP_HX_REQUEST="true").status_code == 200)
    remembered = _poll(admin_client, status).content.decode()
    assert 'id="current-state"' in remembered
    outsider = _user("outsider", "viewer", "elsewhere")
    withdrawn = outsider.get(status, HTTP_HX_REQUEST="true")
    assert withdrawn.status_code == 286 and 'id="status-gone"' in withdrawn.content.decode()
    assert "data-live" in remembered and "data-live" not in withdrawn.content.decode()
    assert outsider.get(status).status_code == 404  # not a poll: the 404 as before


def test_the_stop_link_of_a_running_rebalance_is_served_only_to_who_may_delete_it(
    admin_client: Client, cluster: str, sandbox: Sandbox, namespace: str
) -> None:
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        objects = cs.resource(apps_v2beta1.Rebalance, namespace)
        doc = objects.create(
            apps_v2beta1.Rebalance.from_dict(
                {
                    "metadata": {"name": "moving", "namespace": namespace},
                    "spec": {
                        "instanceKind": "EMQX",
                        "instanceName": "target",
                        "rebalanceStrategy": {"connEvictRate": 10},
                    },
                }
            )
        ).to_dict()
        doc["status"] = {"phase": "Processing"}
        objects.update_status(apps_v2beta1.Rebalance.from_dict(doc))
    status = f"/clusters/{cluster}/rebalances/{namespace}/moving/_status"
    eventually(lambda: 'id="stop-rebalance"' in admin_client.get(status, HTTP_HX_REQUEST="true").content.decode())
    viewer = _user("watcher", "viewer", namespace)
    seen = _poll(viewer, status).content.decode()
    assert 'id="current-state"' in seen and 'id="stop-rebalance"' not in seen
    assert 'id="stop-rebalance"' in _poll(admin_client, status).content.decode()


_SINCE = re.compile(r"(\d+)\s*minutes?\s*ago")


def test_a_since_text_still_advances_while_the_object_does_not_change(
    admin_client: Client, cluster: str, sandbox: Sandbox, namespace: str
) -> None:
    # A condition set 57 s ago says "0 minutes ago" now and "1 minute ago" within a few seconds: the
    # object does not change in between, only the time.
    at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=57)
    condition = {
        "type": "Initialized",
        "status": "True",
        "reason": "Initialized",
        "message": "",
        "lastTransitionTime": rfc3339(at),
    }
    _emqx(sandbox, namespace, "aging", lambda _: {"conditions": [condition]})
    status = f"/clusters/{cluster}/emqx/{namespace}/aging/_status"

    def minutes() -> int | None:
        found = _SINCE.search(_poll(admin_client, status).content.decode())
        return int(found.group(1)) if found else None

    eventually(lambda: minutes() is not None)
    shown = minutes()
    assert shown is not None
    assert minutes() == shown  # remembered meanwhile
    boundary = at + dt.timedelta(minutes=shown + 1)
    wait = (boundary - dt.datetime.now(dt.UTC)).total_seconds()
    eventually(lambda: minutes() == shown + 1, timeout=max(wait, 0) + 15)
