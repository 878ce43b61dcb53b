"""The EMQX detail page and its live status panel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client

from console.models import RoleGrant
from emqx.client.clientset import Clientset
from emqx.models.apps_v2beta1 import EMQX
from sandbox import Sandbox
from tests import factories
from tests.support import eventually, rfc3339, write_emqx_status

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def _write_status(clientset: Clientset, namespace: str, name: str, types: list[str]) -> EMQX:
    """Write conditions the way the operator does (True only, newest first), each with its
    type as reason, and the core counts 1/1."""
    return write_emqx_status(
        clientset.apps_v2beta1.emqxes(namespace),
        name,
        [(t, t, NOW) for t in types],
        coreNodesStatus={"replicas": 1, "readyReplicas": 1},
    )


def _detail(client: Client, namespace: str, name: str) -> str:
    response = client.get(f"/clusters/default/emqx/{namespace}/{name}/")
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_summary_conditions_and_yaml(admin: Client, clientset: Clientset, namespace: str) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(
        factories.emqx("shown", namespace=namespace, labels={"team": "iot"}, image="emqx/emqx:5.8.6")
    )
    _write_status(clientset, namespace, "shown", ["CoreNodesReady", "CoreNodesProgressing", "Initialized"])
    eventually(lambda: "CoreNodesReady" in _detail(admin, namespace, "shown"))
    html = _detail(admin, namespace, "shown")
    assert "emqx/emqx:5.8.6" in html and "team=iot" in html
    assert html.index('data-type="CoreNodesReady"') < html.index('data-type="Initialized"')
    assert "CoreNodesReady reached" in html
    yaml_view = html.split('<pre class="yaml">')[1].split("</pre>")[0]
    assert "kind: EMQX" in yaml_view and "managedFields:" not in yaml_view


def test_an_unknown_instance_is_a_404_page(admin: Client, namespace: str) -> None:
    response = admin.get(f"/clusters/default/emqx/{namespace}/ghost/")
    assert response.status_code == 404


def test_the_status_panel_polls_until_ready_then_answers_286(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("settling", namespace=namespace))
    url = f"/clusters/default/emqx/{namespace}/settling/_status"
    eventually(lambda: admin.get(url, HTTP_HX_REQUEST="true").status_code == 200)
    assert 'hx-trigger="every 2s' in _detail(admin, namespace, "settling")

    _write_status(clientset, namespace, "settling", ["Available", "CoreNodesReady", "Initialized"])
    eventually(lambda: b"Available" in admin.get(url, HTTP_HX_REQUEST="true").content)
    assert admin.get(url, HTTP_HX_REQUEST="true").status_code == 200

    _write_status(clientset, namespace, "settling", ["Ready", "Available", "CoreNodesReady", "Initialized"])
    eventually(lambda: admin.get(url, HTTP_HX_REQUEST="true").status_code == 286)
    assert "hx-trigger" not in _detail(admin, namespace, "settling").split('id="status-panel"')[1].split(">")[0]


def test_polling_resumes_after_an_edit_until_the_operator_catches_up(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    client = clientset.apps_v2beta1.emqxes(namespace)
    client.create(factories.emqx("edited", namespace=namespace))
    _write_status(clientset, namespace, "edited", ["Ready", "Available", "CoreNodesReady", "Initialized"])
    url = f"/clusters/default/emqx/{namespace}/edited/_status"
    eventually(lambda: admin.get(url, HTTP_HX_REQUEST="true").status_code == 286)
    client.patch("edited", {"spec": {"image": "emqx/emqx:5.8.7"}})  # new generation, not yet observed
    eventually(lambda: admin.get(url, HTTP_HX_REQUEST="true").status_code == 200)
    assert 'hx-trigger="every 2s' in _detail(admin, namespace, "edited")


def test_polls_cost_the_api_server_nothing_once_the_cache_is_warm(
    admin: Client, clientset: Clientset, namespace: str, sandbox: Sandbox
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("hot", namespace=namespace))
    url = f"/clusters/default/emqx/{namespace}/hot/_status"
    eventually(lambda: admin.get(url, HTTP_HX_REQUEST="true").status_code == 200)
    before = sandbox.requests_served("emqxes")
    for _ in range(100):
        assert admin.get(url, HTTP_HX_REQUEST="true").status_code == 200
        assert admin.get("/clusters/default/emqx/_rows", {"namespace": namespace}).status_code == 200
    assert sandbox.requests_served("emqxes") == before


def test_a_viewer_of_another_namespace_gets_404_not_a_hint(
    client: Client, clientset: Clientset, namespace: str, console_cluster: object
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("secret", namespace=namespace))
    user = User.objects.create_user("viewer-elsewhere", password="pw-viewer-elsewhere-1")
    RoleGrant.objects.create(user=user, role="viewer", namespace="somewhere-else")
    client.force_login(user)
    assert client.get(f"/clusters/default/emqx/{namespace}/secret/").status_code == 404
    assert client.get(f"/clusters/default/emqx/{namespace}/secret/_status").status_code == 404
    listing = client.get("/clusters/default/emqx/").content.decode()
    assert "secret" not in listing and namespace not in listing


def test_a_viewer_of_the_namespace_sees_the_instance(
    client: Client, clientset: Clientset, namespace: str, console_cluster: object
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("open", namespace=namespace))
    user = User.objects.create_user("viewer-here", password="pw-viewer-here-1")
    RoleGrant.objects.create(user=user, role="viewer", namespace=namespace)
    client.force_login(user)
    eventually(lambda: client.get(f"/clusters/default/emqx/{namespace}/open/").status_code == 200)
    assert "open" in client.get("/clusters/default/emqx/").content.decode()


def test_the_instance_events_are_shown_newest_first(admin: Client, clientset: Clientset, namespace: str) -> None:
    from emqx.events import EventsClient

    obj = clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("noisy", namespace=namespace))
    events = EventsClient(clientset.transport, namespace)
    for i, (kind, reason, when) in enumerate(
        [("Normal", "Created", "2026-11-26T10:00:00Z"), ("Warning", "InvalidConfig", "2026-11-26T11:00:00Z")]
    ):
        events.create(
            {
                "metadata": {"name": f"noisy.{i}", "namespace": namespace},
                "involvedObject": {
                    "apiVersion": "apps.emqx.io/v2beta1",
                    "kind": "EMQX",
                    "name": "noisy",
                    "namespace": namespace,
                    "uid": obj.metadata.uid,
                },
                "type": kind,
                "reason": reason,
                "message": f"{reason} happened",
                "count": 1,
                "firstTimestamp": when,
                "lastTimestamp": when,
                "source": {"component": "emqx-operator"},
            }
        )
    url = f"/clusters/default/emqx/{namespace}/noisy/_events"
    eventually(lambda: admin.get(url).status_code == 200)
    html = admin.get(url).content.decode()
    assert html.index("InvalidConfig") < html.index("Created")
    assert "emqx-operator" in html and 'class="event-warning"' in html


def test_an_edited_instance_settles_once_ready_for_its_new_generation(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    """The operator never rewrites older conditions: after an edit, Initialized keeps the old
    observedGeneration while Ready carries the new one. That must count as settled."""
    client = clientset.apps_v2beta1.emqxes(namespace)
    client.create(factories.emqx("rolled", namespace=namespace))
    client.patch("rolled", {"spec": {"image": "emqx/emqx:5.8.7"}})  # generation 2
    obj = client.get("rolled")
    doc = obj.to_dict()
    stamp = {"status": "True", "lastTransitionTime": rfc3339(NOW)}
    doc["status"] = {
        "conditions": [
            {"type": "Ready", "reason": "Ready", "message": "ready", "observedGeneration": 2, **stamp},
            {"type": "Initialized", "reason": "Initialized", "message": "init", "observedGeneration": 1, **stamp},
        ]
    }
    client.update_status(EMQX.from_dict(doc))
    url = f"/clusters/default/emqx/{namespace}/rolled/_status"
    eventually(lambda: admin.get(url, HTTP_HX_REQUEST="true").status_code == 286)
