"""The condition timeline: what the console records of each instance's conditions, and the
page that shows it as phases with their durations."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from console import clusters
from console.models import ConditionTransition
from console.timeline import RECORDER, history, recording_enabled
from emqx.client.clientset import Clientset
from emqx.client.resource import ResourceClient
from emqx.models.apps_v2beta1 import EMQX
from sandbox.operator import FAULT_ANNOTATION, Simulator
from tests import factories
from tests.support import eventually, write_emqx_status

# The recorder writes from its own thread: the test's transaction must not hold the database.
pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2026, 11, 20, 8, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def console(settings: Any, sandbox: Any, transactional_db: None, admin_client: Client) -> Iterator[Client]:
    """The console on the sandbox, recording (the in-memory test database turns it off by
    default), logged in as an admin; the recorder has written everything before the
    database is emptied after the test."""
    settings.CONSOLE_TIMELINE_RECORDING = True
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.kubeconfig)}]
    RECORDER.forget_all()
    yield admin_client
    clusters.reset()
    assert RECORDER.flush()


def _watching() -> None:
    """The console's EMQX cache runs (and with it the recorder's listener)."""
    cluster = clusters.get_cluster("default")
    assert cluster is not None
    assert cluster.cache("EMQX").state().synced


def _recorded(namespace: str, name: str) -> list[ConditionTransition]:
    assert RECORDER.flush()
    return list(ConditionTransition.objects.filter(namespace=namespace, name=name))


def _page(client: Client, namespace: str, name: str) -> str:
    assert RECORDER.flush()
    response = client.get(f"/clusters/default/emqx/{namespace}/{name}/timeline/")
    assert response.status_code == 200
    return response.content.decode()


def _phases_on_page(html: str) -> list[tuple[str, str, int]]:
    """(condition, step label, seconds) of each phase, oldest first."""
    rows = re.findall(r'<tr data-phase="(\w+)" data-label="([^"]*)" data-seconds="(\d+)"', html)
    return [(phase, label, int(seconds)) for phase, label, seconds in reversed(rows)]


def _head(obj: EMQX) -> str | None:
    conditions = obj.status.conditions if obj.status else None
    return next((c.type for c in conditions or [] if c.status == "True"), None)


def _step_until(sim: Simulator, client: ResourceClient[EMQX], name: str, done: Callable[[EMQX], bool]) -> None:
    """Reconcile one step at a time until ``done``; after each status write wait into the
    next second, so that every condition gets its own lastTransitionTime (whole seconds)."""
    for _ in range(40):
        if done(client.get(name)):
            return
        if sim.reconcile_object("EMQX", client.namespace or "", name):
            time.sleep(1.05)
    raise AssertionError(f"{name} never got there: {_head(client.get(name))}")


def test_it_records_a_lifecycle_driven_by_the_simulator_in_order_with_durations(
    console: Client, clientset: Clientset, namespace: str
) -> None:
    _watching()
    client = clientset.apps_v2beta1.emqxes(namespace)
    client.create(factories.emqx("life", namespace=namespace, core_replicas=1))
    sim = Simulator(clientset, pace=0.05, namespace=namespace)
    _step_until(sim, client, "life", lambda o: _head(o) == "Ready")
    client.patch("life", {"metadata": {"annotations": {FAULT_ANNOTATION: "core-node-down"}}})
    _step_until(sim, client, "life", lambda o: _head(o) == "CoreNodesProgressing")
    client.patch("life", {"metadata": {"annotations": {FAULT_ANNOTATION: None}}})
    _step_until(sim, client, "life", lambda o: _head(o) == "Ready")

    phases = _phases_on_page(_page(console, namespace, "life"))
    assert [p for p, _, _ in phases] == [
        "Initialized", "CoreNodesProgressing", "CoreNodesReady", "Available", "Ready",
        "CoreNodesProgressing", "CoreNodesReady", "Available", "Ready",
    ]  # fmt: skip
    assert [label for _, label, _ in phases] == [
        "created", "", "", "", "went Ready", "fell back", "", "", "went Ready",
    ]  # fmt: skip
    assert all(seconds >= 1 for _, _, seconds in phases[:-1])  # every step took at least the wait between writes
    recorded = history(_recorded(namespace, "life"))
    spans = [p.ended - p.started for p in recorded.phases[:-1] if p.ended]
    assert sum(spans, dt.timedelta()) == recorded.phases[-1].started - recorded.phases[0].started
    assert recorded.time_to_first_ready == recorded.phases[4].started - recorded.phases[0].started
    assert [p.removed for p in recorded.phases if p.label == "fell back"] == [("Ready", "Available", "CoreNodesReady")]


def test_the_page_shows_when_it_went_ready_when_it_fell_back_and_how_long_each_phase_took(
    console: Client, clientset: Clientset, namespace: str
) -> None:
    _watching()
    client = clientset.apps_v2beta1.emqxes(namespace)
    client.create(factories.emqx("timed", namespace=namespace))
    s = dt.timedelta(seconds=1)
    conditions: list[tuple[str, str, dt.datetime]] = []
    for newest in [("Initialized", "Initialized", T0), ("CoreNodesProgressing", "CreateNewStatefulSet", T0 + 5 * s),
                   ("CoreNodesReady", "CoreNodesReady", T0 + 65 * s), ("Available", "Available", T0 + 70 * s),
                   ("Ready", "Ready", T0 + 75 * s)]:  # fmt: skip
        conditions = [newest, *conditions]  # set one more, newest first
        write_emqx_status(client, "timed", conditions)
    # The core nodes dropped an hour later: the operator starts over, same generation.
    write_emqx_status(client, "timed", [("CoreNodesProgressing", "CoreNodesProgressing", T0 + 3600 * s),
                                        ("Initialized", "Initialized", T0)])  # fmt: skip
    eventually(lambda: len(_recorded(namespace, "timed")) == 9)

    html = _page(console, namespace, "timed")
    assert _phases_on_page(html)[:-1] == [
        ("Initialized", "created", 5),
        ("CoreNodesProgressing", "", 60),
        ("CoreNodesReady", "", 5),
        ("Available", "", 5),
        ("Ready", "went Ready", 3525),
    ]
    assert _phases_on_page(html)[-1][:2] == ("CoreNodesProgressing", "fell back")
    assert '<dd data-summary="time-to-ready">1 min 15 s</dd>' in html
    assert "1 time: 2026-11-20 09:00:00" in html
    assert "58 min 45 s" in html and "removed: Ready, Available, CoreNodesReady" in html
    assert "<svg" in html.split('id="timeline-summary"')[1]


def test_a_restart_records_nothing_twice_and_remembers_it_was_ready(
    console: Client, clientset: Clientset, namespace: str
) -> None:
    _watching()
    client = clientset.apps_v2beta1.emqxes(namespace)
    uid = client.create(factories.emqx("again", namespace=namespace)).metadata.uid or ""
    ready = [("Ready", "Ready", T0 + dt.timedelta(minutes=2)), ("Initialized", "Initialized", T0)]
    write_emqx_status(client, "again", ready)
    eventually(lambda: RECORDER.was_ready_at("default", uid, 1))
    fell_back = ("CoreNodesProgressing", "CoreNodesProgressing", T0 + dt.timedelta(hours=1))
    write_emqx_status(client, "again", [fell_back, ready[1]])
    eventually(lambda: len(_recorded(namespace, "again")) == 4)  # Initialized, Ready; Ready removed, CNP
    before = [(t.condition_type, t.change, t.at) for t in _recorded(namespace, "again")]

    clusters.reset()  # the console restarts: new caches, an empty memory
    RECORDER.forget_all()
    _watching()
    RECORDER.scan_now()
    eventually(lambda: RECORDER.flush() and RECORDER.was_ready_at("default", uid, 1))
    assert [(t.condition_type, t.change, t.at) for t in _recorded(namespace, "again")] == before


def test_it_keeps_a_bounded_number_of_transitions_per_instance(
    console: Client, clientset: Clientset, namespace: str, settings: Any
) -> None:
    settings.CONSOLE_TIMELINE_KEEP = 4
    _watching()
    client = clientset.apps_v2beta1.emqxes(namespace)
    client.create(factories.emqx("chatty", namespace=namespace))
    for minute in range(10):
        at = T0 + dt.timedelta(minutes=minute)
        write_emqx_status(client, "chatty", [("CoreNodesProgressing", "UpdateStatefulSet", at)])
    eventually(lambda: _recorded(namespace, "chatty")[-1].at == T0 + dt.timedelta(minutes=9))
    kept = _recorded(namespace, "chatty")
    assert [t.at for t in kept] == [T0 + dt.timedelta(minutes=m) for m in (6, 7, 8, 9)]


def test_an_instance_found_ready_shows_the_phases_its_conditions_still_tell(
    console: Client, clientset: Clientset, namespace: str
) -> None:
    client = clientset.apps_v2beta1.emqxes(namespace)
    client.create(factories.emqx("older", namespace=namespace))
    minute = dt.timedelta(minutes=1)
    write_emqx_status(client, "older", [("Ready", "Ready", T0 + 4 * minute),
                                        ("Available", "Available", T0 + 3 * minute),
                                        ("CoreNodesReady", "CoreNodesReady", T0 + 2 * minute),
                                        ("CoreNodesProgressing", "CreateNewStatefulSet", T0 + minute),
                                        ("Initialized", "Initialized", T0)])  # fmt: skip
    _watching()  # the console starts watching only now
    eventually(lambda: len(_recorded(namespace, "older")) == 5)
    html = _page(console, namespace, "older")
    assert [(p, s) for p, _, s in _phases_on_page(html)[:-1]] == [
        ("Initialized", 60), ("CoreNodesProgressing", 60), ("CoreNodesReady", 60), ("Available", 60),
    ]  # fmt: skip
    assert all(t.first_seen for t in _recorded(namespace, "older")) and "(found)" in html
    assert '<dd data-summary="time-to-ready">4 min</dd>' in html


def test_the_detail_page_links_to_the_timeline(console: Client, clientset: Clientset, namespace: str) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("linked", namespace=namespace))
    detail = f"/clusters/default/emqx/{namespace}/linked/"
    eventually(lambda: console.get(detail).status_code == 200)
    assert f'href="{detail}timeline/" id="timeline-link"' in console.get(detail).content.decode()
    assert "No condition changes recorded" in _page(console, namespace, "linked")


def test_the_page_says_it_shows_only_what_this_console_observed(
    console: Client, clientset: Clientset, namespace: str
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("told", namespace=namespace))
    eventually(lambda: console.get(f"/clusters/default/emqx/{namespace}/told/timeline/").status_code == 200)
    assert "what <strong>this console observed while it was running</strong>" in _page(console, namespace, "told")


def test_recording_is_off_by_default_on_an_in_memory_sqlite_database(settings: Any) -> None:
    settings.CONSOLE_TIMELINE_RECORDING = None
    assert recording_enabled() is False
    settings.CONSOLE_TIMELINE_RECORDING = True
    assert recording_enabled() is True


def test_a_brokers_timeline_shows_when_it_went_running(console: Client, clientset: Clientset, namespace: str) -> None:
    cluster = clusters.get_cluster("default")
    assert cluster is not None and cluster.cache("EmqxBroker").wait_for_sync(30)
    brokers = clientset.apps_v1beta4.emqx_brokers(namespace)
    brokers.create(factories.emqx_broker("legacy", namespace=namespace, replicas=1))
    sim = Simulator(clientset, pace=0.05, namespace=namespace)

    def running() -> bool:
        obj = brokers.get("legacy")
        first = obj.status.conditions[0] if obj.status and obj.status.conditions else None
        return first is not None and (first.type, first.status) == ("Running", "True")

    for _ in range(40):
        if running():
            break
        if sim.reconcile_object("EmqxBroker", namespace, "legacy"):
            time.sleep(1.05)
    assert running()
    detail = console.get(f"/clusters/default/emqxbrokers/{namespace}/legacy/").content.decode()
    url = f"/clusters/default/emqxbrokers/{namespace}/legacy/timeline/"
    assert f'href="{url}"' in detail
    eventually(lambda: any(t.condition_type == "Running" for t in _recorded(namespace, "legacy")))
    response = console.get(url)
    html = response.content.decode()
    assert response.status_code == 200 and "Condition timeline of EmqxBroker legacy" in html
    phases = _phases_on_page(html)
    assert phases[-1][:2] == ("Running", "went Ready")
    assert "EMQX brokers (v4)" in html  # the breadcrumbs lead back to the brokers, not to EMQX 5
    assert console.get(f"/clusters/default/emqxbrokers/{namespace}/nobody/timeline/").status_code == 404
    assert console.get(f"/clusters/default/rebalances/{namespace}/any/timeline/").status_code == 404


def test_a_v3beta1_lifecycle_is_recorded_by_its_own_rules_not_by_the_first_true_condition(
    settings: Any, sandbox_30: Any, transactional_db: None, admin_client: Client
) -> None:
    from emqx.models import apps_v3beta1

    settings.CONSOLE_TIMELINE_RECORDING = True
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox_30.kubeconfig)}]
    RECORDER.forget_all()
    namespace = f"t-timeline-v3-{int(time.time() * 1000) % 100000}"
    sandbox_30.create_namespace(namespace)
    try:
        _watching()
        with Clientset.from_kubeconfig(sandbox_30.kubeconfig) as cs:
            client = cs.apps_v3beta1.emqxes(namespace)
            doc = {"metadata": {"name": "next", "namespace": namespace}, "spec": {"image": "emqx/emqx:5.8.6"}}
            client.create(apps_v3beta1.EMQX.from_dict(doc))
            sim = Simulator(cs, pace=0.05, namespace=namespace)

            def ready(obj: Any) -> bool:
                conditions = (obj.status.conditions if obj.status else None) or []
                return any(c.type == "Ready" and c.status == "True" for c in conditions)

            _step_until(sim, client, "next", ready)
            client.patch("next", {"metadata": {"annotations": {FAULT_ANNOTATION: "core-node-down"}}})
            _step_until(sim, client, "next", lambda o: not ready(o))
            client.patch("next", {"metadata": {"annotations": {FAULT_ANNOTATION: None}}})
            _step_until(sim, client, "next", ready)

        current = [(t.condition_type, t.status) for t in _recorded(namespace, "next") if t.current]
        # Several conditions are True at once on 3.0 (EMQXAPIAvailable first of all): none of them is the
        # state unless the rules say so.
        assert ("EMQXAPIAvailable", "True") not in current
        assert current[0] == ("CoreNodesProgressing", "True")
        ready_turns = [c for c in current if c[0] == "Ready"]
        assert ready_turns[0] == ("Ready", "True") and ready_turns[-1] == ("Ready", "True")
        labels = [label for _, label, _ in _phases_on_page(_page(admin_client, namespace, "next"))]
        assert labels.count("went Ready") == 2 and "fell back" in labels
    finally:
        clusters.reset()
        assert RECORDER.flush()


def test_a_rollout_found_under_an_older_ready_status_is_not_a_fall_from_ready(
    settings: Any, sandbox_23: Any, transactional_db: None, admin_client: Client
) -> None:
    """Operator 2.3 writes no observedGeneration. An instance Ready at generation 1 whose spec was changed
    before this console first looked (generation 2) still shows the old Ready: that Ready says nothing
    about generation 2, so the rollout that follows is progressing, not degraded."""
    from emqx.models import apps_v2

    settings.CONSOLE_TIMELINE_RECORDING = True
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox_23.kubeconfig)}]
    RECORDER.forget_all()
    namespace = f"t-timeline-v2-{int(time.time() * 1000) % 100000}"
    sandbox_23.create_namespace(namespace)
    at = "2026-11-30T07:00:00Z"

    def status(*conditions: tuple[str, str, str]) -> dict[str, Any]:
        return {
            "conditions": [
                {"type": t, "status": s, "reason": r, "message": "", "lastTransitionTime": at} for t, s, r in conditions
            ]
        }

    try:
        with Clientset.from_kubeconfig(sandbox_23.kubeconfig) as cs:
            client = cs.apps_v2.emqxes(namespace)
            doc = {"metadata": {"name": "rolling", "namespace": namespace}, "spec": {"image": "emqx/emqx:5.8.6"}}
            created = client.create(apps_v2.EMQX.from_dict(doc))
            ready = status(
                ("Ready", "True", "Ready"), ("Available", "True", "Available"), ("Initialized", "True", "Initialized")
            )
            client.update_status(apps_v2.EMQX.from_dict({**created.to_dict(), "status": ready}))
            client.patch("rolling", {"spec": {"image": "emqx/emqx:5.8.7"}})  # generation 2, before the console looks
            _watching()
            page = f"/clusters/default/emqx/{namespace}/rolling/"
            eventually(lambda: "emqx/emqx:5.8.7" in admin_client.get(page).content.decode())
            assert RECORDER.flush()
            uid = client.get("rolling").metadata.uid or ""
            assert not RECORDER.was_ready_at("default", uid, 2)
            # The operator answers the new spec: model A rewrites its True conditions False and starts over.
            rolled = status(
                ("CoreNodesProgressing", "True", "CoreNodesProgressing"),
                ("Ready", "False", "CreateNewStatefulSet"),
                ("Available", "False", "CreateNewStatefulSet"),
                ("Initialized", "True", "Initialized"),
            )
            client.update_status(apps_v2.EMQX.from_dict({**client.get("rolling").to_dict(), "status": rolled}))
            eventually(lambda: "CoreNodesProgressing" in admin_client.get(page).content.decode())
            html = admin_client.get(page).content.decode()
            assert 'id="degraded"' not in html, re.findall(r'id="degraded">[^<]*', html)
            assert not RECORDER.was_ready_at("default", uid, 2)
    finally:
        clusters.reset()
        assert RECORDER.flush()


def test_a_timeline_read_never_fails_while_the_recorder_is_writing() -> None:
    """The recorder writes from the informer's thread; a page reading the timeline meanwhile waits
    for nothing and fails on nothing (WAL on a file database; no read locks on the test database's
    shared cache: console/settings.py), where it used to fail with "database table is locked"."""
    import threading

    from django.db import connection, transaction

    writing, read = threading.Event(), threading.Event()

    def recorder() -> None:
        try:
            with transaction.atomic():
                now = dt.datetime.now(dt.UTC)
                ConditionTransition.objects.create(
                    cluster="default",
                    kind="EMQX",
                    namespace="ns",
                    name="busy",
                    uid="busy-uid",
                    condition_type="Ready",
                    status="True",
                    change="set",
                    at=now,
                    observed_at=now,
                )
                writing.set()
                read.wait(10)  # the write stays open while the page reads
        finally:
            connection.close()

    thread = threading.Thread(target=recorder)
    thread.start()
    try:
        assert writing.wait(10)
        assert list(ConditionTransition.objects.filter(name="other")) == []  # no OperationalError
    finally:
        read.set()
        thread.join(10)
    assert ConditionTransition.objects.filter(name="busy").count() == 1
