"""emqx.store's SQLite file as other processes read it: issue 18's one writer per pod, every worker a reader.

The writer is an Informer over a SqliteStore, against the sandbox API server; the reader is another process
(a subprocess running SqliteStore.reader), so nothing is shared with the writer but the file.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import sqlite3
import subprocess
import sys
import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emqx.cache import Informer
from emqx.client.clientset import Clientset
from emqx.client.resource import _compact_managed_fields
from emqx.models.apps_v2beta1 import EMQX
from emqx.rest import decode_json
from emqx.store import SCHEMA_VERSION, Row, SqliteStore, SyncState, unconfirm
from tests import factories
from tests.support import eventually

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = "sandbox"

# The reader process: prints what it sees of one object, each time that changes (the name "shared").
READER = """
import json, sys, time
from emqx.models.apps_v2beta1 import EMQX
from emqx.store import SqliteStore

path, namespace = sys.argv[1:3]
reader = SqliteStore.reader(path, "sandbox", "EMQX", EMQX)
last_generation, seen = None, None
print(json.dumps("ready"), flush=True)
while True:
    generation = reader.generation()
    if generation != last_generation:
        last_generation = generation
        obj = reader.get(namespace, "shared")
        rows = reader.page(namespace)
        now = {
            "image": None if obj is None else obj.spec.image,
            "rows": [[r.name, r.columns.get("image")] for r in rows],
            "count": reader.counts("namespace").get(namespace, 0),
        }
        if now != seen:
            seen = now
            print(json.dumps(now), flush=True)
    time.sleep(0.001)
"""


def summary(obj: EMQX) -> dict[str, str]:
    """Summary columns as the console would give them (here: the image)."""
    return {"image": getattr(obj.spec, "image", None) or ""}


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


def _writer(clientset: Clientset, path: Path) -> tuple[Informer[EMQX], SqliteStore[EMQX]]:
    store = SqliteStore(path, cluster=CLUSTER, kind="EMQX", model=EMQX, columns=summary)
    return Informer(clientset.apps_v2beta1.emqxes(None), store=store).start(), store


class ReaderProcess:
    """The READER script in a process of its own; its reports in a queue."""

    def __init__(self, path: Path, namespace: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", READER, str(path), namespace],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.reports: queue.Queue[Any] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.reports.put(json.loads(line))

    def wait_for(self, expected: Any, timeout: float = 10.0) -> None:
        """Wait (generously) until the reader reports ``expected``; fails with what it did report."""
        seen = []
        try:
            while (report := self.reports.get(timeout=timeout)) != expected:
                seen.append(report)
        except queue.Empty:
            raise AssertionError(f"the reader never reported {expected!r}; it reported {seen!r}") from None

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def test_another_process_sees_a_create_a_change_and_a_delete_while_the_writer_runs(
    clientset: Clientset, namespace: str, store_path: Path
) -> None:
    informer, store = _writer(clientset, store_path)
    reader = ReaderProcess(store_path, namespace)
    try:
        assert informer.wait_for_sync(15)
        reader.wait_for("ready")
        reader.wait_for({"image": None, "rows": [], "count": 0})
        emqxes = clientset.apps_v2beta1.emqxes(namespace)

        emqxes.create(factories.emqx("shared", namespace=namespace))
        reader.wait_for({"image": factories.EMQX5_IMAGE, "rows": [["shared", factories.EMQX5_IMAGE]], "count": 1})

        emqxes.patch("shared", {"spec": {"image": "emqx/emqx:5.7.0"}})
        reader.wait_for({"image": "emqx/emqx:5.7.0", "rows": [["shared", "emqx/emqx:5.7.0"]], "count": 1})

        emqxes.delete("shared")
        reader.wait_for({"image": None, "rows": [], "count": 0})
    finally:
        reader.stop()
        informer.stop()
        store.close()


def _counts_agree_with_rows(store: SqliteStore[EMQX]) -> None:
    rows = store.page(limit=1_000_000)
    assert store.counts("namespace") == dict(Counter(r.namespace for r in rows))
    assert store.counts("image") == dict(Counter(r.columns["image"] for r in rows))


def test_counts_stay_right_after_a_410_relist(clientset: Clientset, namespace: str, store_path: Path) -> None:
    """A writer that resumes a file whose resourceVersion the API server no longer has (a pod restarted after
    etcd's compaction; here resourceVersion "1", which the server answers with 410 Gone as for a compacted one,
    as tests/emqx/test_client_watch.py does) relists, and the counts follow the difference."""
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    for name, image in (("kept", "emqx/emqx:5.7.0"), ("changed", "emqx/emqx:5.7.0"), ("removed", "emqx/emqx:5.8.0")):
        emqxes.create(factories.emqx(name, namespace=namespace, image=image))
    informer, store = _writer(clientset, store_path)
    assert informer.wait_for_sync(15)
    eventually(lambda: store.counts("namespace").get(namespace) == 3)
    informer.stop()
    store.close()

    emqxes.patch("changed", {"spec": {"image": "emqx/emqx:5.8.0"}})
    emqxes.delete("removed")
    emqxes.create(factories.emqx("new", namespace=namespace, image="emqx/emqx:5.7.0"))

    store = SqliteStore(store_path, cluster=CLUSTER, kind="EMQX", model=EMQX, columns=summary)
    saved = store.state()
    assert saved is not None and saved.synced
    store.set_state(dataclasses.replace(saved, resource_version="1"))
    resumed = Informer(clientset.apps_v2beta1.emqxes(None), store=store).start()
    try:
        assert resumed.state().synced, "the file's objects are served at once (maybe stale)"
        mine = {"kept": "emqx/emqx:5.7.0", "changed": "emqx/emqx:5.8.0", "new": "emqx/emqx:5.7.0"}
        eventually(lambda: {r.name: r.columns["image"] for r in store.page(namespace)} == mine)
        assert resumed.state().relists == saved.relists + 1
        assert store.counts("namespace")[namespace] == 3
        _counts_agree_with_rows(store)
        # ...and the watch goes on from the relist.
        emqxes.delete("kept")
        eventually(lambda: store.counts("namespace").get(namespace) == 2)
        _counts_agree_with_rows(store)
    finally:
        resumed.stop()
        store.close()


def test_a_file_stamped_with_another_schema_version_is_rebuilt_not_misread(store_path: Path) -> None:
    old = sqlite3.connect(store_path)
    old.executescript(
        "CREATE TABLE objects (cluster, kind, namespace, name, uid, resource_version, problems, summary);"
        "INSERT INTO objects VALUES ('sandbox', 'EMQX', 'ns', 'stale', 'u', '5', '', '{}');"
        f"PRAGMA user_version = {SCHEMA_VERSION + 1};"
    )
    old.close()
    reader = SqliteStore.reader(store_path, CLUSTER, "EMQX", EMQX)
    assert (len(reader), reader.page(), reader.state()) == (0, [], None), "another version reads as nothing"

    store = SqliteStore(store_path, cluster=CLUSTER, kind="EMQX", model=EMQX, columns=summary)
    try:
        assert len(store) == 0 and store.state() is None
        assert sqlite3.connect(store_path).execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        store.replace([factories.emqx("fresh", namespace="ns")], SyncState(synced=True, generation=1))
        assert [o.metadata.name for o in reader.list()] == ["fresh"], "the reader follows the rebuilt file"
        assert reader.generation() == 1
    finally:
        store.close()
        reader.close()


@pytest.fixture
def fleet(store_path: Path) -> Iterator[SqliteStore[EMQX]]:
    """A store of a few objects written directly (no API server): names, namespaces, labels and images."""
    store = SqliteStore(store_path, cluster=CLUSTER, kind="EMQX", model=EMQX, columns=summary)
    objects = [
        factories.emqx(name, namespace=ns, image=image, labels=labels)
        for ns, name, image, labels in (
            ("b", "emqx-02", "emqx/emqx:5.8.0", {"tier": "gold"}),
            ("a", "emqx-01", "emqx/emqx:5.7.0", {"tier": "gold", "env": "prod"}),
            ("a", "other", "emqx/emqx:5.8.0", {"tier": "gold"}),
            ("a", "emqx-03", "emqx/emqx:5.8.0", {"tier": "silver"}),
        )
    ]
    store.replace(objects, SyncState(synced=True, generation=1))
    yield store
    store.close()


def test_a_page_finds_by_name_prefix_and_labels_and_sorts_by_a_summary_column(
    fleet: SqliteStore[EMQX], store_path: Path
) -> None:
    reader = SqliteStore.reader(store_path, CLUSTER, "EMQX", EMQX)
    try:
        names = [(r.namespace, r.name) for r in reader.page()]
        assert names == [("a", "emqx-01"), ("a", "emqx-03"), ("a", "other"), ("b", "emqx-02")]
        assert [r.name for r in reader.page(name_prefix="emqx-", labels={"tier": "gold"})] == ["emqx-01", "emqx-02"]
        assert [r.name for r in reader.page("a", order=("-image", "name"))] == ["emqx-03", "other", "emqx-01"]
        assert [r.name for r in reader.page(offset=1, limit=2)] == ["emqx-03", "other"]
        assert reader.counts("image") == {"emqx/emqx:5.7.0": 1, "emqx/emqx:5.8.0": 3}
        assert reader.counts() == {"a": 3, "b": 1}
        with pytest.raises(ValueError, match="identifier"):
            reader.page(order=("image; DROP TABLE objects",))
    finally:
        reader.close()


def test_a_writer_taking_over_marks_the_previous_state_unconfirmed_keeping_what_it_holds(
    fleet: SqliteStore[EMQX], store_path: Path
) -> None:
    fleet.set_state(SyncState(synced=True, healthy=True, generation=2, resource_version="41"))
    assert unconfirm(store_path) == 1
    reader = SqliteStore.reader(store_path, CLUSTER, "EMQX", EMQX)
    try:
        state = reader.state()
        assert state is not None
        assert (state.synced, state.healthy, state.resource_version) == (True, False, "41")
        assert len(reader) == 4, "the objects stay: a new writer resumes from them"
    finally:
        reader.close()
    assert unconfirm(store_path.with_name("none.sqlite3")) == 0, "no file: nothing to mark"


def _columns(obj: EMQX) -> dict[str, str]:
    """Summary columns that differ between a fitting and a not-understood object."""
    return {"image": getattr(obj.spec, "image", None) or "", "understood": "no" if obj.problems else "yes"}


def _digest(obj: EMQX) -> bytes:
    """A digest of what a reader needs of an object (the console pickles its Summary; any bytes will do)."""
    return json.dumps([obj.metadata.resource_version, obj.problems, obj.to_dict()], sort_keys=True).encode()


def test_a_reader_gets_the_object_the_api_server_holds_whether_a_list_or_a_watch_event_stored_it(
    clientset: Clientset, namespace: str, store_path: Path
) -> None:
    """The writer stores the JSON its client decoded (a LIST page's item, a watch event's object) rather than the
    model serialized again: what another process reads back (the document, get(), digests, page()) must be the
    API server's object (with managedFields compact, as the cache keeps them), for an object that fits the model
    and one that does not (written through v2alpha1 without the image v2beta1 requires)."""
    beta, alpha = clientset.apps_v2beta1.emqxes(namespace), clientset.apps_v2alpha1.emqxes(namespace)

    def odd(name: str) -> dict[str, Any]:
        return {"apiVersion": "apps.emqx.io/v2alpha1", "kind": "EMQX", "metadata": {"name": name}, "spec": {}}

    beta.create(factories.emqx("listed", namespace=namespace))
    alpha.create(odd("odd-listed"))
    store = SqliteStore(store_path, cluster=CLUSTER, kind="EMQX", model=EMQX, columns=_columns, digest=_digest)
    informer = Informer(clientset.apps_v2beta1.emqxes(None), store=store).start()
    names = ["listed", "odd-listed", "odd-watched", "watched"]
    try:
        assert informer.wait_for_sync(15)  # the first two came in its first LIST
        beta.create(factories.emqx("watched", namespace=namespace))
        alpha.create(odd("odd-watched"))  # these two in watch events
        held = {}
        for name in names:
            raw = decode_json(clientset.transport.request("GET", beta._path(namespace=namespace, name=name)))
            held[name] = _compact_managed_fields(raw)
        reader = SqliteStore.reader(store_path, CLUSTER, "EMQX", EMQX, lru_size=0)
        eventually(
            lambda: (
                [reader.resource_version(namespace, n) for n in names]
                == [held[n]["metadata"]["resourceVersion"] for n in names]
            )
        )
        expected = {name: EMQX.read(document) for name, document in held.items()}
        assert [bool(expected[n].problems) for n in names] == [False, True, True, False]

        with sqlite3.connect(store_path) as db:
            stored = dict(
                db.execute(
                    "SELECT o.name, d.document FROM objects o JOIN documents d ON d.id = o.id WHERE o.namespace = ?",
                    (namespace,),
                ).fetchall()
            )
        assert {name: json.loads(zlib.decompress(blob)) for name, blob in stored.items()} == held
        for name in names:
            got = reader.get(namespace, name)
            assert got is not None
            assert (got.to_dict(), got.problems) == (expected[name].to_dict(), expected[name].problems)
        assert [(key, blob) for key, blob in reader.digests(bytes) if key[0] == namespace] == [
            ((namespace, name), _digest(expected[name])) for name in names
        ]
        assert reader.page(namespace) == [
            Row(
                namespace,
                name,
                expected[name].metadata.uid or "",
                expected[name].metadata.resource_version or "",
                "; ".join(expected[name].problems),
                _columns(expected[name]),
            )
            for name in names
        ]
    finally:
        informer.stop()
        store.close()
        for name in ("odd-listed", "odd-watched"):  # the sandbox is shared: leave no unreadable object behind
            alpha.delete(name)


def test_a_digest_that_fails_for_one_object_leaves_the_rest_of_the_kind_stored(store_path: Path) -> None:
    def digest(obj: EMQX) -> bytes:
        if obj.metadata.name == "odd":
            raise ValueError("a summarizer's bug")
        return (obj.metadata.name or "").encode()

    store = SqliteStore(store_path, cluster=CLUSTER, kind="EMQX", model=EMQX, digest=digest)
    reader = SqliteStore.reader(store_path, CLUSTER, "EMQX", EMQX)
    try:
        objects = [factories.emqx(name, namespace="ns") for name in ("a", "odd", "z")]
        store.replace(objects, SyncState(synced=True, generation=1))
        assert [o.metadata.name for o in reader.list()] == ["a", "odd", "z"], "every object is stored"
        assert [d for _, d in reader.digests(bytes.decode)] == ["a", "z"], "the one without a digest is left out"
    finally:
        store.close()
        reader.close()
