"""The dashboards: numbers by kind and state, versions, instances not Ready for too long,
Warning events, audit entries, live polling from the watch caches."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from console import clusters
from console.dashboard import DEGRADED, PROGRESSING, READY, UNKNOWN, classify, counted_kinds
from console.models import AuditEntry, RoleGrant
from console.timeline import RECORDER
from console.views.dashboard import FLEET
from emqx.client.clientset import Clientset
from emqx.events import EventsClient, reference_to
from emqx.models.apps_v1beta4 import EmqxBroker
from emqx.models.apps_v2beta1 import EMQX
from sandbox import Sandbox
from tests import factories
from tests.support import eventually, rfc3339, write_emqx_status

pytestmark = pytest.mark.django_db

HOUR_AGO = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)


def emqx_status(
    clientset: Clientset,
    namespace: str,
    name: str,
    types: list[tuple[str, str]],
    *,
    ready: int = 1,
    desired: int = 1,
    node_status: str = "running",
    at: dt.datetime | None = None,
) -> EMQX:
    """Write an EMQX status as the operator does: (type, reason) newest first, all True,
    the node list and the core counts."""
    when = at or dt.datetime.now(dt.UTC)
    return write_emqx_status(
        clientset.apps_v2beta1.emqxes(namespace),
        name,
        [(t, reason, when) for t, reason in types],
        coreNodes=[
            {"node": f"emqx@{name}-core-{i}", "node_status": node_status if i == 0 else "running", "version": "5.8.6"}
            for i in range(ready)
        ],
        coreNodesStatus={"replicas": desired, "readyReplicas": ready},
    )


def broker_running(clientset: Clientset, namespace: str, name: str, *, ready: int, replicas: int) -> None:
    client = clientset.apps_v1beta4.emqx_brokers(namespace)
    doc = client.get(name).to_dict()
    status = "True" if ready == replicas else "False"
    doc["status"] = {
        "conditions": [
            {
                "type": "Running",
                "status": status,
                "reason": "ClusterReady" if status == "True" else "ClusterNotReady",
                "lastTransitionTime": rfc3339(dt.datetime.now(dt.UTC)),
                "lastUpdateTime": rfc3339(dt.datetime.now(dt.UTC)),
            }
        ],
        "replicas": replicas,
        "readyReplicas": ready,
        "emqxNodes": [
            {"node": f"emqx@{name}-{i}", "node_status": "Running", "version": "4.4.19"} for i in range(ready)
        ],
    }
    client.update_status(EmqxBroker.from_dict(doc))


READY_TYPES = [("Ready", "Ready"), ("Available", "Available"), ("CoreNodesReady", "CoreNodesReady"),
               ("CoreNodesProgressing", "CreateNewStatefulSet"), ("Initialized", "Initialized")]  # fmt: skip
ROLLING = [("CoreNodesProgressing", "CreateNewStatefulSet"), ("Initialized", "Initialized")]


@pytest.fixture
def fleet(clientset: Clientset, namespace: str, console_cluster: object) -> dict[str, str]:
    """In the test's namespace: 2 EMQX Ready (5.8.6), 1 progressing (5.8.7), 1 progressing
    for an hour (5.8.6), 1 with a stopped node (5.8.6), 1 without status (5.8.7), and an
    EmqxBroker Ready (4.4.19, 3/3)."""
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    images = {"ok-1": "5.8.6", "ok-2": "5.8.6", "rolling": "5.8.7", "stuck": "5.8.6", "faulty": "5.8.6"}
    images["fresh"] = "5.8.7"
    for name, version in images.items():
        emqxes.create(factories.emqx(name, namespace=namespace, image=f"emqx/emqx:{version}"))
    emqx_status(clientset, namespace, "ok-1", READY_TYPES)
    emqx_status(clientset, namespace, "ok-2", READY_TYPES)
    emqx_status(clientset, namespace, "rolling", ROLLING, ready=0)
    emqx_status(clientset, namespace, "stuck", ROLLING, ready=0, at=HOUR_AGO)
    emqx_status(clientset, namespace, "faulty", ROLLING, ready=1, node_status="stopped")
    broker = factories.emqx_broker("broker", namespace=namespace, replicas=3)
    clientset.apps_v1beta4.emqx_brokers(namespace).create(broker)
    broker_running(clientset, namespace, "broker", ready=3, replicas=3)
    return {"namespace": namespace}


def _viewer(client: Client, namespace: str, role: str = "viewer", name: str = "dash-viewer") -> User:
    """A user who may read only the test's namespace, so other tests' instances do not count."""
    user = User.objects.create_user(name, password=f"pw-{name}-123456")
    RoleGrant.objects.create(user=user, role=role, namespace=namespace)
    client.force_login(user)
    return user


def cell(html: str, kind: str, state: str) -> int:
    row = re.search(rf'<tr data-kind="{kind}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {kind}"
    found = re.search(rf'<td data-state="{state}">(\d+)</td>', row.group(1))
    assert found, f"no {state} cell for {kind}"
    return int(found.group(1))


def total(html: str, what: str) -> str:
    found = re.search(rf'data-total="{what}"><span class="n">([^<]*)</span>', html)
    assert found, f"no total {what}"
    return found.group(1)


def _page(client: Client, url: str = "/clusters/default/", **extra: Any) -> str:
    response = client.get(url, **extra)
    assert response.status_code == 200
    return response.content.decode()


def test_it_counts_instances_by_kind_and_state(client: Client, fleet: dict[str, str]) -> None:
    _viewer(client, fleet["namespace"])
    eventually(lambda: total(_page(client), "instances") == "7")
    html = _page(client)
    assert [cell(html, "EMQX", s) for s in (READY, PROGRESSING, DEGRADED, UNKNOWN)] == [2, 2, 1, 1]
    assert [cell(html, "EmqxBroker", s) for s in (READY, PROGRESSING, DEGRADED, UNKNOWN)] == [1, 0, 0, 0]
    assert cell(html, "EmqxEnterprise", "total") == 0
    assert [total(html, s) for s in (READY, PROGRESSING, DEGRADED, UNKNOWN)] == ["3", "2", "1", "1"]


def test_it_counts_ready_nodes_against_desired(client: Client, fleet: dict[str, str]) -> None:
    _viewer(client, fleet["namespace"])
    eventually(lambda: total(_page(client), "instances") == "7")
    # EMQX: 1/1 + 1/1 + 0/1 + 0/1 + 1/1 (stopped, but listed) + 0/1 (no status); broker 3/3
    assert total(_page(client), "nodes") == "6/9"


def test_it_shows_the_versions_in_use(client: Client, fleet: dict[str, str]) -> None:
    _viewer(client, fleet["namespace"])
    eventually(lambda: total(_page(client), "instances") == "7")
    html = _page(client)
    versions = dict(re.findall(r'<tr data-version="([^"]+)"><td>[^<]*</td><td>(\d+)</td>', html))
    assert versions == {"5.8.6": "4", "5.8.7": "2", "4.4.19": "1"}
    chart = html.split('<svg class="chart chart-versions"')[1].split("</svg>")[0]
    assert "<title>5.8.6: 4</title>" in chart and "<title>4.4.19: 1</title>" in chart


def test_it_draws_the_state_breakdown_as_svg(client: Client, fleet: dict[str, str]) -> None:
    _viewer(client, fleet["namespace"])
    eventually(lambda: total(_page(client), "instances") == "7")
    chart = _page(client).split('<svg class="chart chart-states"')[1].split("</svg>")[0]
    assert 'class="seg-ready"' in chart and "<title>EMQX 5: 2 Ready</title>" in chart
    assert "<title>EMQX 5: 1 Degraded</title>" in chart and "<title>EmqxBroker (4.x): 1 Ready</title>" in chart


def test_it_lists_instances_not_ready_for_longer_than_the_threshold(
    client: Client, fleet: dict[str, str], settings: object
) -> None:
    _viewer(client, fleet["namespace"])
    eventually(lambda: total(_page(client), "instances") == "7")
    listed = re.findall(r'<tr data-instance="default/[^/]+/([^"]+)" data-state="(\w+)">', _page(client))
    assert listed == [("stuck", PROGRESSING)]  # an hour > 10 min; the others changed just now
    assert "Not Ready for longer than 10 min" in _page(client)


def test_the_threshold_is_a_setting(client: Client, fleet: dict[str, str], settings: Any) -> None:
    _viewer(client, fleet["namespace"])
    eventually(lambda: total(_page(client), "instances") == "7")
    settings.CONSOLE_NOT_READY_THRESHOLD_SECONDS = 0  # (resets the caches: a fresh start)
    eventually(lambda: total(_page(client), "instances") == "7")
    listed = re.findall(r'<tr data-instance="default/[^/]+/([^"]+)" data-state=', _page(client))
    assert listed[0] == "stuck" and set(listed) == {"stuck", "rolling", "faulty", "fresh"}


def test_a_stopped_node_makes_an_instance_degraded_and_says_which(client: Client, fleet: dict[str, str]) -> None:
    _viewer(client, fleet["namespace"])
    eventually(lambda: total(_page(client), "instances") == "7")
    degraded = _page(client).split('id="degraded"')[1].split("</div>")[0]
    rows = re.findall(r'<tr data-instance="default/[^/]+/([^"]+)">.*?<td class="why">([^<]*)</td>', degraded, re.S)
    assert rows == [("faulty", "node emqx@faulty-core-0 not running")]


def test_a_degraded_reason_is_in_each_viewers_language_whoever_looked_first(
    client: Client, fleet: dict[str, str]
) -> None:
    # The dashboards remember their counts between polls; the reasons are translated text, so they are
    # remembered per language (a Chinese viewer after an English one was shown the English reason).
    _viewer(client, fleet["namespace"])
    eventually(lambda: total(_page(client), "instances") == "7")

    def reasons(language: str) -> list[str]:
        degraded = _page(client, HTTP_ACCEPT_LANGUAGE=language).split('id="degraded"')[1].split("</div>")[0]
        return re.findall(r'<td class="why">([^<]*)</td>', degraded)

    assert reasons("en") == ["node emqx@faulty-core-0 not running"]
    assert reasons("zh-CN,zh;q=0.9") == ["节点 emqx@faulty-core-0 未运行"]
    assert reasons("en") == ["node emqx@faulty-core-0 not running"]


def test_an_instance_that_falls_back_from_ready_is_degraded_but_an_edit_is_progressing(
    client: Client, clientset: Clientset, namespace: str, console_cluster: clusters.Cluster
) -> None:
    _viewer(client, namespace)
    # The console watches before the instances exist, so it sees them become Ready (a Ready found
    # already written at its first LIST may be about an older spec: console.timeline._judged_generation).
    assert console_cluster.cache("EMQX").wait_for_sync(30)
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(factories.emqx("falls", namespace=namespace))
    emqxes.create(factories.emqx("edited", namespace=namespace))
    uids = {name: emqx_status(clientset, namespace, name, READY_TYPES).metadata.uid for name in ("falls", "edited")}
    eventually(lambda: total(_page(client), READY) == "2")
    # The definition's premise: the console saw both Ready (at generation 1).
    eventually(lambda: all(RECORDER.was_ready_at("default", uid or "", 1) for uid in uids.values()))
    # Core nodes dropped: the operator removes Ready and starts over, same generation.
    emqx_status(clientset, namespace, "falls", [("CoreNodesProgressing", "CoreNodesProgressing"),
                                                 ("Initialized", "Initialized")], ready=0)  # fmt: skip
    # A new image: generation 2, a rollout.
    emqxes.patch("edited", {"spec": {"image": "emqx/emqx:5.8.7"}})
    emqx_status(clientset, namespace, "edited", ROLLING, ready=0)
    eventually(lambda: total(_page(client), DEGRADED) == "1" and total(_page(client), PROGRESSING) == "1")
    html = _page(client)
    assert cell(html, "EMQX", DEGRADED) == 1 and cell(html, "EMQX", PROGRESSING) == 1
    assert _marked_degraded(client, namespace) == {"falls"}  # the list agrees with the dashboard


def _marked_degraded(client: Client, namespace: str) -> set[str]:
    """The instances the EMQX list marks Degraded."""
    html = client.get("/clusters/default/emqx/", {"namespace": namespace}).content.decode()
    rows = re.findall(r'<tr class="row-(\w+)">.*?emqx/[^/]+/([^/]+)/">.*?</tr>', html, re.S)
    marked = {
        name for _, name in rows if 'class="state state-degraded"' in html.split(f'/{name}/">', 1)[1].split("</tr>")[0]
    }
    assert marked == {name for css, name in rows if css == "bad"}  # the row is flagged too
    return marked


def test_the_list_and_the_detail_page_call_degraded_what_the_dashboard_counts(
    client: Client, fleet: dict[str, str]
) -> None:
    namespace = fleet["namespace"]
    _viewer(client, namespace)
    eventually(lambda: total(_page(client), DEGRADED) == "1")
    assert _marked_degraded(client, namespace) == {"faulty"}
    faulty = client.get(f"/clusters/default/emqx/{namespace}/faulty/").content.decode()
    assert '<p class="errornote" id="degraded">Degraded: node emqx@faulty-core-0 not running.</p>' in faulty
    rolling = client.get(f"/clusters/default/emqx/{namespace}/rolling/").content.decode()
    assert 'id="degraded"' not in rolling


def test_the_states_follow_the_definitions(clientset: Clientset, namespace: str) -> None:
    def emqx(status: dict[str, Any] | None, generation: int = 1) -> EMQX:
        doc = factories.emqx("x", namespace=namespace).to_dict()
        doc["metadata"].update(uid="u-1", generation=generation)
        if status is not None:
            doc["status"] = status
        return EMQX.from_dict(doc)

    cond = {"status": "True", "reason": "r", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}
    ready = emqx({"conditions": [{"type": "Ready", **cond}]})
    rolling = emqx({"conditions": [{"type": "CoreNodesProgressing", **cond}]})
    odd = emqx({"conditions": [{"type": "Hibernating", **cond}]})
    assert classify("c", "EMQX", ready).state == READY
    assert classify("c", "EMQX", rolling).state == PROGRESSING
    assert classify("c", "EMQX", rolling, seen_ready=True).state == DEGRADED
    assert classify("c", "EMQX", emqx(None)).state == UNKNOWN
    assert classify("c", "EMQX", odd).state == UNKNOWN
    since = classify("c", "EMQX", rolling).since
    assert since == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_only_namespaces_the_user_may_read_count(
    client: Client, clientset: Clientset, fleet: dict[str, str], sandbox: Sandbox
) -> None:
    other = fleet["namespace"][:50] + "-hidden"
    sandbox.create_namespace(other)
    clientset.apps_v2beta1.emqxes(other).create(factories.emqx("not-yours", namespace=other))
    _viewer(client, fleet["namespace"])
    eventually(lambda: total(_page(client), "instances") == "7")
    fleet_page = _page(client, "/dashboard/")
    assert total(fleet_page, "instances") == "7" and "not-yours" not in fleet_page and other not in fleet_page


def test_the_page_polls_its_partial_every_5s_while_visible(client: Client, fleet: dict[str, str]) -> None:
    _viewer(client, fleet["namespace"])
    html = _page(client)
    assert 'hx-get="/clusters/default/_dashboard"' in html
    assert 'hx-trigger="every 5s" data-pause-hidden' in html  # paused while hidden: static/console/live.js
    assert 'hx-get="/dashboard/_dashboard"' in _page(client, "/dashboard/")
    partial = _page(client, "/clusters/default/_dashboard", HTTP_HX_REQUEST="true")
    assert "<html" not in partial and 'id="totals"' in partial


def test_polls_cost_the_api_server_nothing_once_the_caches_are_warm(
    client: Client, fleet: dict[str, str], sandbox: Sandbox, settings: Any
) -> None:
    settings.CONSOLE_EVENTS_POLL_SECONDS = 3600  # the Events poller lists once, then sleeps
    _viewer(client, fleet["namespace"])
    eventually(lambda: total(_page(client, "/dashboard/_dashboard"), "instances") == "7")
    cluster = clusters.get_cluster("default")
    assert cluster is not None
    eventually(lambda: cluster.warning_events().snapshot().fetched_at is not None)
    watched = ("emqxes", "emqxbrokers", "emqxenterprises", "events")
    before = sandbox.requests_served(*watched)
    for _ in range(50):
        assert client.get("/dashboard/_dashboard", HTTP_HX_REQUEST="true").status_code == 200
        assert client.get("/clusters/default/_dashboard", HTTP_HX_REQUEST="true").status_code == 200
    assert sandbox.requests_served(*watched) == before


def test_it_shows_recent_warning_events_of_readable_namespaces(
    client: Client, clientset: Clientset, fleet: dict[str, str], sandbox: Sandbox, settings: Any
) -> None:
    settings.CONSOLE_EVENTS_POLL_SECONDS = 0.2
    namespace = fleet["namespace"]
    other = namespace[:50] + "-noisy"
    sandbox.create_namespace(other)
    clientset.apps_v2beta1.emqxes(other).create(factories.emqx("noisy", namespace=other))
    for ns, name, reason in ((namespace, "faulty", "NodeDown"), (other, "noisy", "SecretReason")):
        obj = clientset.apps_v2beta1.emqxes(ns).get(name)
        EventsClient(clientset.transport, ns).create(
            {
                "metadata": {"generateName": f"{name}."},
                "involvedObject": reference_to(obj).to_dict(),
                "type": "Warning",
                "reason": reason,
                "message": f"EMQX node emqx@{name}-core-0 is stopped",
                "count": 2,
                "lastTimestamp": rfc3339(dt.datetime.now(dt.UTC)),
            }
        )
    _viewer(client, namespace)
    eventually(lambda: 'data-reason="NodeDown"' in _page(client))
    html = _page(client).split('id="warning-events"')[1]
    assert "EMQX node emqx@faulty-core-0 is stopped" in html
    assert f'href="/clusters/default/emqx/{namespace}/faulty/"' in html
    assert "SecretReason" not in html


def test_it_shows_recent_audit_entries_the_user_may_see(client: Client, fleet: dict[str, str]) -> None:
    namespace = fleet["namespace"]
    for ns, name in ((namespace, "ok-1"), ("elsewhere", "theirs")):
        AuditEntry.objects.create(
            username="alice", cluster="default", namespace=ns, kind="EMQX", name=name, action="update",
            outcome=AuditEntry.Outcome.SUCCESS,
        )  # fmt: skip
    _viewer(client, namespace, role="admin", name="dash-admin")
    # The Recent actions panel (more in tests/console/test_history.py): everyone's, for an Admin of the namespace.
    html = _page(client).split('id="others-actions"')[1]
    assert f">{namespace}/ok-1</a>" in html and "theirs" not in html


def test_the_home_page_is_the_fleet_dashboard(admin: Client) -> None:
    response = admin.get("/")
    assert response.status_code == 302 and response.url == "/dashboard/"


def test_the_help_text_defines_degraded(admin: Client) -> None:
    html = _page(admin, "/dashboard/")
    help_text = html.split('id="dashboard-help"')[1].split("</details>")[0]
    assert "Degraded" in help_text and "fell back" in help_text and "not running" in help_text


def test_the_header_links_the_dashboard(admin: Client, console_cluster: object) -> None:
    html = _page(admin, "/clusters/default/emqx/")
    header = html.split('<header id="header">')[1].split("</header>")[0]
    assert 'href="/dashboard/"' in header


# ----- polls read what the last change computed (issue 18: the fleet is counted once per change) -----


def _fleet_poll(client: Client) -> str:
    return _page(client, "/dashboard/_dashboard", HTTP_HX_REQUEST="true")


def _cache_generations(cluster: clusters.Cluster) -> tuple[object, ...]:
    """What the fleet's numbers are computed from: each counted cache's state, and the timeline's memory."""
    informers = [cluster.peek(kind).informer for kind in counted_kinds()]
    return (*(i and (i.serial, i.state().generation) for i in informers), RECORDER.memory_version)


def test_a_change_in_a_cluster_shows_on_the_next_fleet_poll(
    client: Client, clientset: Clientset, fleet: dict[str, str], console_cluster: clusters.Cluster
) -> None:
    _viewer(client, fleet["namespace"])
    eventually(lambda: total(_fleet_poll(client), "instances") == "7")
    assert total(_fleet_poll(client), READY) == "3"  # read twice: the second from what the first computed
    written = emqx_status(clientset, fleet["namespace"], "rolling", READY_TYPES)
    cache = console_cluster.cache("EMQX")
    eventually(lambda: (o := cache.get(fleet["namespace"], "rolling")) is not None and o.metadata.resource_version
               == written.metadata.resource_version)  # fmt: skip
    html = _fleet_poll(client)  # the first poll after the cache has the change
    assert [total(html, s) for s in (READY, PROGRESSING)] == ["4", "1"]


def test_a_fleet_poll_with_nothing_changed_counts_nothing_again(
    client: Client, fleet: dict[str, str], console_cluster: clusters.Cluster
) -> None:
    _viewer(client, fleet["namespace"])
    eventually(lambda: total(_fleet_poll(client), "instances") == "7")

    def quiet_poll_computes_nothing() -> bool:
        # Other tests' objects share the cluster's caches: a poll counts again only if a cache moved.
        generations, computed = _cache_generations(console_cluster), FLEET.computations
        same_numbers = total(_fleet_poll(client), "instances") == "7"
        return same_numbers and _cache_generations(console_cluster) == generations and FLEET.computations == computed

    eventually(quiet_poll_computes_nothing, message="every poll counted the fleet again")
