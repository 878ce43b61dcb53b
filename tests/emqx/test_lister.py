"""emqx.cache.Lister: the reads of an Informer that runs elsewhere (the pod's writer), from the SQLite file it
writes; here the writer is an Informer over a SqliteStore in this process, against the sandbox API server, and
the Lister reads the file through a connection of its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emqx import cache
from emqx.cache import Informer, Lister
from emqx.client.clientset import Clientset
from emqx.models.apps_v2beta1 import EMQX
from emqx.store import SqliteStore, SyncState
from tests import factories
from tests.support import eventually

CLUSTER = "sandbox"


def _image(obj: Any) -> bytes:
    return f"{obj.metadata.namespace}/{obj.metadata.name}={getattr(obj.spec, 'image', None)}".encode()


@pytest.fixture
def pair(clientset: Clientset, tmp_path: Path) -> Iterator[tuple[Informer[EMQX], Lister[EMQX]]]:
    """A writer (informer over a SqliteStore that stores each object's image as its digest) and a Lister."""
    path = tmp_path / "cache.sqlite3"
    store = SqliteStore(path, cluster=CLUSTER, kind="EMQX", model=EMQX, digest=_image)
    informer = Informer(clientset.apps_v2beta1.emqxes(None), store=store)
    lister: Lister[EMQX] = Lister(SqliteStore.reader(path, CLUSTER, "EMQX", EMQX))
    yield informer, lister
    informer.stop()
    store.close()
    lister.stop()


def test_a_lister_sees_what_the_writer_stores_with_its_state(
    pair: tuple[Informer[EMQX], Lister[EMQX]], clientset: Clientset, namespace: str
) -> None:
    informer, lister = pair
    assert (lister.state().synced, lister.wait_for_sync(0.1)) == (False, False), "no writer has written yet"
    informer.start()
    assert lister.wait_for_sync(15)
    assert lister.state().healthy and lister.state().generation == informer.state().generation
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(factories.emqx("seen", namespace=namespace, image="emqx/emqx:5.8.5"))
    eventually(lambda: lister.get(namespace, "seen") is not None)
    assert [o.metadata.name for o in lister.list(namespace)] == ["seen"]
    assert namespace in lister.namespaces()
    emqxes.patch("seen", {"spec": {"image": "emqx/emqx:5.8.6"}})
    eventually(lambda: (lister.get(namespace, "seen") or EMQX()).spec.image == "emqx/emqx:5.8.6")  # type: ignore[union-attr]
    emqxes.delete("seen")
    eventually(lambda: lister.get(namespace, "seen") is None and lister.list(namespace) == [])


def test_wait_for_change_wakes_on_the_writers_next_change(
    pair: tuple[Informer[EMQX], Lister[EMQX]], clientset: Clientset, namespace: str
) -> None:
    informer, lister = pair
    informer.start()
    assert lister.wait_for_sync(15)
    before = lister.state().generation
    woke: list[int] = []
    waiter = threading.Thread(target=lambda: woke.append(lister.wait_for_change(before, 15)))
    waiter.start()
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("wakes", namespace=namespace))
    waiter.join(20)
    assert woke and woke[0] > before


def test_digests_are_decoded_once_per_change_of_their_object(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    store = SqliteStore(path, cluster=CLUSTER, kind="EMQX", model=EMQX, digest=_image)
    a, b = factories.emqx("a", namespace="ns", image="emqx/emqx:1"), factories.emqx("b", namespace="ns")
    a.metadata.resource_version, b.metadata.resource_version = "1", "2"
    store.replace([a, b], SyncState(synced=True, generation=1))
    lister: Lister[EMQX] = Lister(SqliteStore.reader(path, CLUSTER, "EMQX", EMQX))
    decoded: list[bytes] = []

    def decode(blob: bytes) -> Any:
        decoded.append(blob)
        return blob.decode()

    try:
        assert lister.digests(decode, _image) == ["ns/a=emqx/emqx:1", f"ns/b={factories.EMQX5_IMAGE}"]
        assert lister.digests(decode, _image) == ["ns/a=emqx/emqx:1", f"ns/b={factories.EMQX5_IMAGE}"]
        assert len(decoded) == 2, "nothing changed: nothing decoded again"
        changed = factories.emqx("a", namespace="ns", image="emqx/emqx:2")
        changed.metadata.resource_version = "3"
        from emqx.client.watch import EventType

        store.apply(EventType.MODIFIED, changed, SyncState(synced=True, generation=2))
        assert lister.digests(decode, _image)[0] == "ns/a=emqx/emqx:2"
        assert decoded[2:] == [b"ns/a=emqx/emqx:2"], "only the changed object's digest is decoded"
    finally:
        store.close()
        lister.stop()


def test_a_write_the_writer_has_not_stored_yet_is_read_back_from_this_process(
    pair: tuple[Informer[EMQX], Lister[EMQX]], clientset: Clientset, namespace: str, monkeypatch: Any
) -> None:
    """Read-your-writes when the writer's watch lags (here: stopped after its first LIST): the saved object
    shows at once, a deleted one is gone at once, until the store catches up or OVERLAY_KEEP_S passes."""
    informer, lister = pair
    informer.start()
    assert lister.wait_for_sync(15)
    informer.stop()
    monkeypatch.setattr(cache, "READ_YOUR_WRITES_WAIT_S", 0.2)
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    saved = emqxes.create(factories.emqx("mine", namespace=namespace, image="emqx/emqx:5.8.5"))
    lister.observe(saved)
    assert (lister.get(namespace, "mine") or EMQX()).metadata.resource_version == saved.metadata.resource_version
    assert [o.metadata.name for o in lister.list(namespace)] == ["mine"]
    assert f"{namespace}/mine=emqx/emqx:5.8.5".encode() in lister.digests(lambda b: b, _image)
    assert namespace in lister.namespaces()
    lister.forget(namespace, "mine")
    assert lister.get(namespace, "mine") is None and lister.list(namespace) == []
    monkeypatch.setattr(cache, "OVERLAY_KEEP_S", 0.0)
    lister.observe(saved)
    assert lister.get(namespace, "mine") is None, "kept no longer than OVERLAY_KEEP_S: the store's answer again"
