"""Watch: typed events, resuming from a resourceVersion, relisting on 410 Gone, bookmarks,
timeouts and stopping, against the sandbox API server's real watch cache.

410 is made deterministic by resuming from resourceVersion "1": the API server's watch
cache starts far above it, so it answers "too old resource version" (an ERROR event with
code 410), exactly as it does for a resourceVersion that compaction removed.
"""

from __future__ import annotations

import threading
import time

from emqx.client import Clientset, EventType, ResourceClient, Watch, WatchEvent
from emqx.models import apps_v2beta1
from tests.factories import emqx, unique_name


def _take(watch: Watch, count: int) -> list[WatchEvent]:
    events = []
    for event in watch:
        if event.type is EventType.BOOKMARK:
            continue
        events.append(event)
        if len(events) == count:
            break
    return events


def _summary(events: list[WatchEvent]) -> list[tuple[str, str]]:
    return [(str(e.type), e.object.metadata.name) for e in events]


def test_watch_from_a_lists_resource_version_sees_added_modified_deleted(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    start = client.list().metadata.resource_version
    created = client.create(emqx(name="w"))
    client.patch("w", {"spec": {"image": "emqx/emqx:5.9.0"}})
    client.delete("w")

    with client.watch(resource_version=start, timeout_seconds=20) as watch:
        events = _take(watch, 3)
    assert _summary(events) == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]
    assert all(isinstance(e.object, apps_v2beta1.EMQX) for e in events)
    assert events[1].object.spec.image == "emqx/emqx:5.9.0"
    assert events[0].object.metadata.uid == created.metadata.uid
    assert not any(e.synthetic for e in events)


def test_watch_without_resource_version_starts_with_the_current_objects(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    client.create(emqx(name="there-1"))
    client.create(emqx(name="there-2"))
    with client.watch(timeout_seconds=20) as watch:
        events = iter(watch)
        initial = [next(events), next(events)]
        client.create(emqx(name="later"))
        live = next(e for e in events if e.type is not EventType.BOOKMARK)
    assert _summary(initial) == [("ADDED", "there-1"), ("ADDED", "there-2")]
    assert all(e.synthetic for e in initial)
    assert _summary([live]) == [("ADDED", "later")]
    assert not live.synthetic


def test_a_watch_resumes_from_the_last_resource_version_it_saw(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    start = client.list().metadata.resource_version
    client.create(emqx(name="first"))
    with client.watch(resource_version=start, timeout_seconds=20) as watch:
        assert _summary(_take(watch, 1)) == [("ADDED", "first")]
        resume_from = watch.resource_version
    client.create(emqx(name="second"))
    with client.watch(resource_version=resume_from, timeout_seconds=20) as resumed:
        assert _summary(_take(resumed, 1)) == [("ADDED", "second")]  # "first" is not replayed


def test_on_410_gone_the_watch_relists_and_emits_what_changed(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    for name in ("kept", "changed", "removed"):
        client.create(emqx(name=name))
    known = client.list().items  # what a cache had before it lost the watch

    client.patch("changed", {"spec": {"image": "emqx/emqx:5.9.0"}})
    client.delete("removed")
    client.create(emqx(name="new"))

    with client.watch(resource_version="1", known=known, timeout_seconds=30) as watch:
        events = iter(watch)
        relisted = [next(events) for _ in range(3)]
        assert watch.relists == 1
        # ...and then it goes on watching from the relist's resourceVersion.
        client.create(emqx(name="after-relist"))
        live = next(e for e in events if e.type is not EventType.BOOKMARK)

    assert sorted(_summary(relisted)) == [("ADDED", "new"), ("DELETED", "removed"), ("MODIFIED", "changed")]
    assert all(e.synthetic for e in relisted)
    modified = next(e for e in relisted if e.type is EventType.MODIFIED)
    assert modified.object.spec.image == "emqx/emqx:5.9.0"
    assert _summary([live]) == [("ADDED", "after-relist")]
    assert not live.synthetic


def test_a_relist_reports_an_object_recreated_under_the_same_name_as_deleted_and_added(
    cs: Clientset, namespace: str
) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    old = client.create(emqx(name="phoenix"))
    client.delete("phoenix")
    new = client.create(emqx(name="phoenix"))
    with client.watch(resource_version="1", known=[old], timeout_seconds=20) as watch:
        events = _take(watch, 2)
    assert _summary(events) == [("DELETED", "phoenix"), ("ADDED", "phoenix")]
    assert events[0].object.metadata.uid == old.metadata.uid
    assert events[1].object.metadata.uid == new.metadata.uid


def test_bookmarks_arrive_typed_and_advance_the_resource_version(cs: Clientset, namespace: str, sandbox) -> None:
    # The watch cache sends a bookmark 2 s before a watch request times out, once its
    # resourceVersion has moved past the watcher's: make it move with a write elsewhere.
    client = cs.apps_v2beta1.emqxes(namespace)
    start = client.list().metadata.resource_version
    elsewhere = f"{namespace[:50]}-bm"
    sandbox.create_namespace(elsewhere)
    writer = threading.Timer(1.0, lambda: cs.apps_v2beta1.emqxes(elsewhere).create(emqx()))
    writer.start()
    try:
        with client.watch(resource_version=start, timeout_seconds=6, request_timeout_seconds=5) as watch:
            bookmark = next(e for e in watch if e.type is EventType.BOOKMARK)
            assert watch.resource_version == bookmark.object.metadata.resource_version
    finally:
        writer.join()
    assert isinstance(bookmark.object, apps_v2beta1.EMQX)
    assert int(bookmark.object.metadata.resource_version) > int(start)


def test_a_watch_ends_after_its_timeout(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    began = time.monotonic()
    events = list(client.watch(resource_version=client.list().metadata.resource_version, timeout_seconds=2))
    elapsed = time.monotonic() - began
    assert [e for e in events if e.type is not EventType.BOOKMARK] == []
    assert 1.5 < elapsed < 10


def test_a_watch_reconnects_when_the_server_ends_a_request(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    start = client.list().metadata.resource_version
    # Each request lasts 1 s; the object appears after the first one ended.
    writer = threading.Timer(2.5, lambda: client.create(emqx(name="after-reconnect")))
    writer.start()
    try:
        with client.watch(resource_version=start, timeout_seconds=15, request_timeout_seconds=1) as watch:
            events = _take(watch, 1)
    finally:
        writer.join()
    assert _summary(events) == [("ADDED", "after-reconnect")]


def test_stop_from_another_thread_ends_a_blocked_watch(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    watch = client.watch(resource_version=client.list().metadata.resource_version)
    stopper = threading.Timer(1.0, watch.stop)
    stopper.start()
    began = time.monotonic()
    remaining = [e for e in watch if e.type is not EventType.BOOKMARK]
    stopper.join()
    assert remaining == []
    assert time.monotonic() - began < 10


def test_watch_with_a_label_selector_sees_only_matching_objects(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    start = client.list().metadata.resource_version
    client.create(emqx(name="ignored", labels={"watch": "no"}))
    client.create(emqx(name="seen", labels={"watch": "yes"}))
    with client.watch(resource_version=start, label_selector={"watch": "yes"}, timeout_seconds=20) as watch:
        assert _summary(_take(watch, 1)) == [("ADDED", "seen")]


def test_an_all_namespaces_watch_sees_every_namespace(cs: Clientset, namespace: str, sandbox) -> None:
    second = f"{namespace[:50]}-w2"
    sandbox.create_namespace(second)
    marker = unique_name("marker")
    all_client: ResourceClient[apps_v2beta1.EMQX] = cs.apps_v2beta1.emqxes(None)
    start = all_client.list(label_selector={"marker": marker}).metadata.resource_version
    cs.apps_v2beta1.emqxes(namespace).create(emqx(name="x1", labels={"marker": marker}))
    cs.apps_v2beta1.emqxes(second).create(emqx(name="x2", labels={"marker": marker}))
    with all_client.watch(resource_version=start, label_selector={"marker": marker}, timeout_seconds=20) as watch:
        events = _take(watch, 2)
    assert [(e.object.metadata.namespace, e.object.metadata.name) for e in events] == [
        (namespace, "x1"),
        (second, "x2"),
    ]
