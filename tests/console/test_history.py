"""The History page of every object (Django admin's object history): its audit entries and its
recorded condition changes in one list, newest first; and the dashboards' Recent actions panel."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from console import clusters
from console.history import PAGE_SIZE, happened_at
from console.models import AuditEntry, ConditionTransition, RoleGrant
from console.redaction import CHANGED
from console.timeline import RECORDER
from emqx.client.clientset import Clientset
from emqx.client.resource import ResourceClient
from emqx.models.apps_v2beta1 import EMQX
from sandbox.operator import Simulator
from tests import factories
from tests.console.kind_cases import CASES, World
from tests.console.test_admin_pages import _delete_inputs, _edit_data
from tests.console.test_emqx_edit_yaml import _dump, _make, _opened, _url
from tests.support import IMAGE, eventually, form_data

pytestmark = pytest.mark.django_db

TIMELINE_CASES = [case for case in CASES if case.admin.has_timeline]


def _rows(html: str) -> list[dict[str, str]]:
    """The history's rows, newest first: each row's data-* attributes (``item`` is "audit" or
    "condition") and its HTML as ``html``."""
    assert 'id="history"' in html, "no history table on the page"
    body = html.split('id="history"', 1)[1].split("</table>", 1)[0]
    rows = []
    for found in re.finditer(r"<tr (data-item=[^>]*)>(.*?)</tr>", body, re.S):
        attributes = dict(re.findall(r'data-([\w-]+)="([^"]*)"', found.group(1)))
        rows.append({**attributes, "html": found.group(2)})
    return rows


def _user(client: Client, name: str, role: str, namespace: str) -> User:
    user = User.objects.create_user(name)  # no password: logged in directly, and no hashing to wait for
    RoleGrant.objects.create(user=user, role=role, namespace=namespace)
    client.force_login(user)
    return user


def _history(world: World, name: str) -> str:
    return world.url("history/", name)


# ----- every kind -------------------------------------------------------------------------------


def test_an_edit_is_in_the_history_with_who_when_and_its_diff(world: World) -> None:
    world.new("edited")
    path, value = world.case.change
    saved = world.client.post(
        world.url("change/", "edited"), {**_edit_data(world, "edited", **{path: value}), "step": "save"}
    )
    assert saved.status_code == 302
    detail = world.html(world.url("detail", "edited"))
    assert f'href="{_history(world, "edited")}" class="historylink"' in detail  # in the object tools

    rows = _rows(world.html(_history(world, "edited")))
    assert [(r["item"], r.get("action"), r.get("outcome")) for r in rows] == [("audit", "update", "success")]
    entry = AuditEntry.objects.get(namespace=world.namespace, name="edited")
    assert f"<td>{entry.time:%Y-%m-%d %H:%M:%S}</td>" in rows[0]["html"] and "<td>admin</td>" in rows[0]["html"]
    leaf = path.rsplit(".", 1)[1]
    assert re.search(rf'<details class="history-diff"><summary>Diff</summary><pre class="diff">.*'
                     rf'<span class="diff-add">\+\s+{leaf}: {value}</span>', rows[0]["html"], re.S)  # fmt: skip


def test_a_viewer_of_another_namespace_gets_404_and_one_of_this_namespace_sees_it(world: World) -> None:
    world.new("guarded")
    page = _history(world, "guarded")
    stranger = Client()
    _user(stranger, "stranger", "viewer", world.namespace + "-other")
    assert stranger.get(page).status_code == 404
    reader = Client()
    _user(reader, "reader", "viewer", world.namespace)
    response = reader.get(page)
    assert response.status_code == 200 and 'id="no-history"' in response.content.decode()
    assert reader.get(_history(world, "never-was")).status_code == 404


def test_a_deleted_objects_history_stays_and_says_who_deleted_it(world: World) -> None:
    world.new("doomed")
    done = world.client.post(world.url("delete/", "doomed"), _delete_inputs(world.html(world.url("delete/", "doomed"))))
    assert done.status_code == 302
    page = _history(world, "doomed")
    eventually(lambda: 'id="deleted"' in world.html(page), message="the history never said it was deleted")
    html = world.html(page)
    deleted = html.split('id="deleted"')[1].split("</p>")[0]
    assert "it was deleted through the console by <strong>admin</strong>" in deleted
    assert [(r["item"], r.get("action")) for r in _rows(html)] == [("audit", "delete")]
    assert f'href="{world.url("detail", "doomed")}"' not in html  # nothing to go back to
    # A name the cluster does not have and nobody ever recorded: no such page.
    assert world.client.get(_history(world, "never-was")).status_code == 404


def test_the_history_is_paginated_newest_first(admin: Client, namespace: str) -> None:
    for i in range(PAGE_SIZE + 5):
        AuditEntry.objects.create(
            username="admin", cluster="default", namespace=namespace, kind="EMQX", name="busy", action="update",
            outcome=AuditEntry.Outcome.SUCCESS, request_id=f"edit-{i}",
        )  # fmt: skip
    url = f"/clusters/default/emqx/{namespace}/busy/history/"
    first = admin.get(url).content.decode()
    shown = re.findall(r"request edit-(\d+)<", first)
    assert [int(i) for i in shown] == list(range(PAGE_SIZE + 4, 4, -1))
    assert f"{PAGE_SIZE + 5} items" in first and 'href="?page=2">older' in first
    second = admin.get(url, {"page": "2"}).content.decode()
    assert re.findall(r"request edit-(\d+)<", second) == ["4", "3", "2", "1", "0"]
    assert 'href="?page=1">' in second
    assert admin.get(url, {"page": "not-a-number"}).status_code == 200


def test_a_condition_change_is_placed_within_its_second_by_when_the_console_saw_it() -> None:
    at = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.UTC)
    ms = dt.timedelta(milliseconds=1)
    assert happened_at(at, at + 900 * ms) == at + 900 * ms  # seen live, a few milliseconds after
    # Seen after its second was over (a late watch event): at the end of that second, so that it comes
    # after an edit made earlier in the same second, which it most likely answers.
    assert happened_at(at, at + 1100 * ms) == at + 1000 * ms - dt.timedelta(microseconds=1)
    assert happened_at(at, at - 50 * ms) == at  # the console's clock behind the operator's
    assert happened_at(at, None) == at


# ----- the condition changes, interleaved -------------------------------------------------------------


@pytest.fixture
def recording(settings: Any, transactional_db: None) -> Iterator[None]:
    """The timeline recorder on (the in-memory test database turns it off by default); it has
    written everything before the database is emptied after the test."""
    settings.CONSOLE_TIMELINE_RECORDING = True
    RECORDER.forget_all()
    yield
    clusters.reset()
    assert RECORDER.flush()


def _recorded(namespace: str, name: str) -> list[ConditionTransition]:
    assert RECORDER.flush()
    return list(ConditionTransition.objects.filter(namespace=namespace, name=name))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("world", TIMELINE_CASES, ids=lambda c: c.id, indirect=True)
def test_edits_and_condition_changes_are_interleaved_newest_first(recording: None, world: World) -> None:
    world.new("mixed")
    cluster = clusters.get_cluster(world.cluster)
    assert cluster is not None
    eventually(lambda: cluster.cache(world.case.admin.kind).get(world.namespace, "mixed") is not None)
    path, value = world.case.change
    first = world.client.post(
        world.url("change/", "mixed"), {**_edit_data(world, "mixed", **{path: value}), "step": "save"}
    )
    assert first.status_code == 302
    world.write_status("mixed", world.case.settled, now=True)  # the operator answers
    eventually(lambda: bool(_recorded(world.namespace, "mixed")), message="the condition changes were never recorded")
    labelled = _edit_data(world, "mixed", **{"metadata.labels": {"owner": "us"}})
    assert world.client.post(world.url("change/", "mixed"), {**labelled, "step": "save"}).status_code == 302

    rows = _rows(world.html(_history(world, "mixed")))
    recorded = _recorded(world.namespace, "mixed")
    assert [r["item"] for r in rows] == ["audit"] + ["condition"] * len(recorded) + ["audit"]
    assert any(r["current"] == "true" for r in rows[1:-1])  # what became its state is marked
    entries = list(AuditEntry.objects.filter(namespace=world.namespace, name="mixed").order_by("time"))
    assert all(entries[0].time < t.observed_at < entries[1].time for t in recorded)


@pytest.fixture
def console(settings: Any, sandbox: Any, recording: None, admin_client: Client) -> Client:
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.kubeconfig)}]
    return admin_client


def _state(obj: EMQX) -> str:
    conditions = obj.status.conditions if obj.status else None
    return next((c.type for c in conditions or [] if c.status == "True"), "")


def _reconcile_until(sim: Simulator, emqxes: ResourceClient[EMQX], name: str, done: Callable[[EMQX], bool]) -> None:
    """One reconcile at a time (the simulated pods take their pace), until ``done``."""

    def step() -> bool:
        sim.reconcile_object("EMQX", emqxes.namespace or "", name)
        return done(emqxes.get(name))

    eventually(step, 60, message=f"{name} never got there")


@pytest.mark.django_db(transaction=True)
def test_an_image_change_is_followed_by_progressing_then_ready_with_its_diff(
    console: Client, clientset: Clientset, namespace: str
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(factories.emqx("imaged", namespace=namespace, core_replicas=1))
    cluster = clusters.get_cluster("default")
    assert cluster is not None and cluster.cache("EMQX").wait_for_sync(30)
    sim = Simulator(clientset, pace=0.05, namespace=namespace)
    _reconcile_until(sim, emqxes, "imaged", lambda o: _state(o) == "Ready")
    # Kubernetes keeps condition times in whole seconds, and the same condition set twice in one
    # second is one change: the rollout below starts in a later second than the creation's.
    created = max(c.last_transition_time for c in emqxes.get("imaged").status.conditions or [])  # type: ignore[union-attr]
    eventually(lambda: dt.datetime.now(dt.UTC).replace(microsecond=0) > created)

    page = console.get(f"/clusters/default/emqx/{namespace}/imaged/change/").content.decode()
    data = {**form_data(page, "emqx-form"), IMAGE: "emqx/emqx:5.8.7", "step": "save"}
    assert console.post(f"/clusters/default/emqx/{namespace}/imaged/change/", data).status_code == 302
    _reconcile_until(sim, emqxes, "imaged", lambda o: _state(o) == "Ready" and o.metadata.generation == 2)
    eventually(lambda: any(t.condition_type == "Ready" and t.generation == 2 for t in _recorded(namespace, "imaged")))

    rows = _rows(console.get(f"/clusters/default/emqx/{namespace}/imaged/history/").content.decode())
    edit = next(i for i, r in enumerate(rows) if r["item"] == "audit")
    assert rows[edit]["action"] == "update" and "<td>admin</td>" in rows[edit]["html"]
    assert '<span class="diff-del">-  image: emqx/emqx:5.8.6</span>' in rows[edit]["html"]
    assert '<span class="diff-add">+  image: emqx/emqx:5.8.7</span>' in rows[edit]["html"]
    after = [r["condition"] for r in reversed(rows[:edit]) if r["current"] == "true"]  # oldest first
    assert after[0] == "CoreNodesProgressing" and after[-1] == "Ready", after
    before = [r["condition"] for r in reversed(rows[edit + 1 :]) if r["current"] == "true"]
    assert before[0] == "Initialized" and before[-1] == "Ready", before  # the creation, under the edit


# ----- secrets ----------------------------------------------------------------------------------


def test_secrets_in_a_diff_are_redacted(admin: Client, clientset: Clientset, namespace: str) -> None:
    secret, new_secret = "s3cret-value-1", "s3cret-value-2"
    config = f"dashboard.default_password = {secret}\nlog.level = info\n"
    _make(
        clientset, namespace, spec={"bootstrapAPIKeys": [{"key": "ci", "secret": secret}], "config": {"data": config}}
    )
    data, doc = _opened(admin, namespace)
    doc["spec"]["bootstrapAPIKeys"][0]["secret"] = new_secret
    doc["spec"]["config"]["data"] = config.replace(secret, new_secret)
    assert admin.post(_url(namespace), {**data, "yaml": _dump(doc), "step": "save"}).status_code == 302

    html = admin.get(f"/clusters/default/emqx/{namespace}/broker/history/").content.decode()
    diff = _rows(html)[0]["html"]
    assert diff.count(CHANGED.replace("<", "&lt;").replace(">", "&gt;")) == 2  # that they changed, not to what
    assert secret not in html and new_secret not in html


# ----- Recent actions on the dashboards ----------------------------------------------------------------


def _entry(user: User | None, namespace: str, name: str, **extra: Any) -> AuditEntry:
    return AuditEntry.objects.create(
        user=user,
        username=user.username if user else "gone",
        cluster="default",
        namespace=namespace,
        kind="EMQX",
        name=name,
        action=extra.pop("action", "update"),
        outcome=extra.pop("outcome", AuditEntry.Outcome.SUCCESS),
        **extra,
    )


def _panel(client: Client, url: str = "/dashboard/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode().split('id="recent-actions"')[1].split('<div class="module"')[0]


def test_recent_actions_show_your_own_and_to_admins_everyones_in_their_namespaces(
    client: Client, console_cluster: object
) -> None:
    ns = "t-recent-actions"
    viewer = User.objects.create_user("vera")
    RoleGrant.objects.create(user=viewer, role="operator", namespace=ns)
    colleague = User.objects.create_user("colin")
    for i in range(12):
        _entry(viewer, ns, f"mine-{i}")
    _entry(colleague, ns, "theirs")
    _entry(colleague, "elsewhere", "far-away", outcome=AuditEntry.Outcome.FAILURE)

    client.force_login(viewer)
    panel = _panel(client)
    mine = panel.split('id="my-actions"')[1].split("</table>")[0]
    assert re.findall(r"/(mine-\d+)</a>", mine) == [f"mine-{i}" for i in range(11, 1, -1)]  # the ten newest
    assert f'href="/clusters/default/emqx/{ns}/mine-11/history/"' in mine
    assert "theirs" not in panel and 'id="others-actions"' not in panel  # an operator sees only their own

    admin = User.objects.create_user("ada-ns")
    RoleGrant.objects.create(user=admin, role="admin", namespace=ns)
    client.force_login(admin)
    panel = _panel(client)
    assert 'id="no-actions"' in panel  # none of their own
    others = panel.split('id="others-actions"')[1]
    assert "<td>colin</td>" in others and f"{ns}/theirs" in others and "far-away" not in others
    assert f"{ns}/mine-11" in others and "mine-1<" not in others  # everyone's ten newest

    root = User.objects.create_superuser("root", password=None)
    client.force_login(root)
    assert "elsewhere/far-away" in _panel(client).split('id="others-actions"')[1]
    assert "far-away" in _panel(client, "/clusters/default/").split('id="others-actions"')[1]


def test_the_dashboards_poll_reads_no_audit_entry(admin: Client) -> None:
    _entry(User.objects.get(username="admin"), "t-polls", "changed")
    assert "changed" in _panel(admin)
    for poll in ("/dashboard/_dashboard", "/clusters/default/_dashboard"):
        with CaptureQueriesContext(connection) as queries:
            html = admin.get(poll).content.decode()
        assert "recent-actions" not in html
        assert not [q["sql"] for q in queries.captured_queries if "console_auditentry" in q["sql"]], poll
