"""Three ways to hold issue 18's fleet in a pod, measured on the same synthetic objects (no sandbox).

    make bench-store                                    # = .venv/bin/python -m bench.store_alternatives
    .venv/bin/python -m bench.store_alternatives --small 2000 --large 10000 --repeats 50

The fleet: ``--large`` EMQX (bench/fixtures.py's documents: the operator's full example with the status it writes,
with the API server's schema defaults and server metadata) over 10 clusters x 10 namespaces, one tenth as many
EmqxBroker and Rebalance, with varied names, labels (``tier``, ``environment``), EMQX versions, states
(Ready / Available / CoreNodesProgressing) and kind versions (one in five last written through v2alpha1). The
documents are generated once into ``--workdir`` (JSON lines) and each store is built from them in a fresh process
that decodes them line by line, as an informer decodes its LIST's items, so no process holds the input.

The stores:

(a) **today**: every object parsed into its pydantic model (``Resource.read`` after the compact managedFields:
    ResourceClient's decode path with_compact_managed_fields), in a dict per kind per cluster; the list page is
    console.forms.filters.filter_objects (with the admin's memoized summaries), the poll a dict lookup + summarize.
(b) **compact in-process**: per object one ``__slots__`` record of the summary columns (strings interned, identical
    label sets shared) and the document as zlib-compressed JSON; a sorted list per kind per cluster; facet counts
    by one pass per request and maintained on change; a model parsed only on demand, with an LRU of 256 parsed
    models keyed by resourceVersion for the objects being polled.
(c) **SQLite, WAL, one file**: one writer process (bulk insert of the initial list in one transaction per kind per
    cluster, then one transaction per watch event), N reader processes (query_only, 2 MiB page cache, no mmap):
    a table of summary columns + compressed JSON, a labels side table, indexes for the default sort (namespace,
    name) and name prefixes, facet counts both by one GROUP BY per request and from a count table the writer keeps
    in the same transaction as each change.

Each store is built at ``--small`` and ``--large`` EMQX: memory per 1,000 EMQX is the difference / the difference
in thousands (with their brokers and rebalances). Memory is VmRSS and USS (Private_Clean + Private_Dirty of
/proc/self/smaps_rollup) after gc.collect() and malloc_trim(0) (the freed parse garbage returned to the OS, which a
real writer would do after its first sync; the RSS before the trim is reported too). Times: p50 and p99 over
``--repeats`` runs of wall time (perf_counter) and the p50 of the thread's CPU time (thread_time), which the load of
a shared machine disturbs less. The list page here is its data only: the 50 rows and the sidebar's counts, not the
template render (the same 50 rows whatever the store). What a list page, search and poll read is one cluster's
EMQX (1,000 at the issue's size), as the console's pages do.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import gc
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
import zlib
from bisect import bisect_left, insort
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLUSTERS = [f"c{n:02d}" for n in range(10)]
PAGE = 50
LRU_SIZE = 256
FACET_COLUMNS = ("namespace", "state", "version", "kind_version")
LABEL_FACETS = ("environment", "tier")
"""The EMQX admin's list_filter and list_filter_labels (console/kinds/emqx.py): the sidebar's facets."""
NAME_QUERY = "emqx-012"
LABEL_QUERY = ("tier", "gold")
KINDS = {"EMQX": "apps_v2beta1", "EmqxBroker": "apps_v1beta4", "Rebalance": "apps_v2beta1"}


# ----- the fleet ---------------------------------------------------------------------------------------------


def fleet_file(workdir: Path, emqx: int) -> Path:
    """JSON lines ``[cluster, kind, document]`` for ``emqx`` EMQX (+ a tenth brokers, a tenth rebalances)."""
    path = workdir / f"fleet-{emqx}.jsonl"
    if path.exists():
        return path
    from bench.fixtures import VERSIONS, emqx_document, state_of, status_document
    from bench.models_parse import full_emqx
    from bench.scale import broker_document, rebalance_document
    from emqx.models.apps_v2beta1 import EMQX

    managed = full_emqx(0)["metadata"]["managedFields"]
    temp = path.with_suffix(".tmp")
    per_cluster = emqx // len(CLUSTERS)
    with temp.open("w") as out:
        for c, cluster in enumerate(CLUSTERS):
            for j in range(per_cluster):
                doc = emqx_document(j)
                doc["spec"]["image"] = f"emqx/emqx-enterprise:{VERSIONS[(j // 7) % len(VERSIONS)]}"
                doc["metadata"]["labels"]["environment"] = ("prod", "staging", "dev")[(j // 3) % 3]
                writer = "apps.emqx.io/v2alpha1" if j % 5 == 0 else "apps.emqx.io/v2beta1"
                doc["metadata"].update(
                    uid=f"0b6c1c55-4fd4-4a4c-{c:04d}-{j:012d}",
                    resourceVersion=str(1000 + j),
                    generation=2,
                    creationTimestamp=f"2026-{1 + j % 11:02d}-{1 + j % 27:02d}T00:00:00Z",
                    managedFields=[{**managed[0], "apiVersion": writer}, managed[1]],
                )
                doc["status"] = status_document(j, 2, state_of(j))
                # What the API server returns: every schema default applied.
                doc = EMQX.model_validate(doc).model_dump(mode="json", by_alias=True, exclude_none=True)
                out.write(json.dumps([cluster, "EMQX", doc], separators=(",", ":")) + "\n")
            for j in range(per_cluster // 10):
                for kind, document in (("EmqxBroker", broker_document(j)), ("Rebalance", rebalance_document(j))):
                    document["metadata"].update(
                        uid=f"7c9e1d22-{kind[:4].lower()}-{c:04d}-{j:012d}",
                        resourceVersion=str(500 + j),
                        generation=1,
                        creationTimestamp="2026-03-01T00:00:00Z",
                    )
                    out.write(json.dumps([cluster, kind, document], separators=(",", ":")) + "\n")
    temp.rename(path)
    return path


def read_fleet(path: Path) -> Iterator[tuple[str, str, bytes]]:
    """(cluster, kind, the object's JSON) per line, one at a time."""
    with path.open("rb") as lines:
        for line in lines:
            cluster, kind, doc = json.loads(line)
            yield cluster, kind, json.dumps(doc, separators=(",", ":")).encode()


def changed_document(doc: dict[str, Any], n: int) -> dict[str, Any]:
    """``doc`` as a watch MODIFIED event brings it: a new status (another state), a new resourceVersion."""
    from bench.fixtures import status_document

    index = int(doc["metadata"]["name"].split("-")[1])
    state = ("Available", "Ready", "CoreNodesProgressing")[n % 3]
    meta = {**doc["metadata"], "resourceVersion": str(10_000_000 + n)}
    return {**doc, "metadata": meta, "status": status_document(index, 2, state)}


# ----- measuring ---------------------------------------------------------------------------------------------


def memory() -> dict[str, float]:
    """VmRSS and USS (private pages) of this process in MiB, after a full collection and malloc_trim."""
    gc.collect()
    before = _rss()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    rollup = dict(
        (line.split(":")[0], int(line.split()[1]))
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]
        if line.split()[-1] == "kB"
    )
    uss = (rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)) / 1024
    return {"rss_untrimmed": before, "rss": _rss(), "uss": uss}


def _rss() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def timed(function: Callable[[], object], repeats: int, warmup: int = 3) -> dict[str, float]:
    """Wall p50/p99 and CPU (thread_time) p50 of ``function``, in ms."""
    for _ in range(warmup):
        function()
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.thread_time()
        function()
        cpu.append((time.thread_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    return {"p50": statistics.median(wall), "p99": _pct(wall, 99), "cpu": statistics.median(cpu), "n": repeats}


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


# ----- what every store does with one decoded object -----------------------------------------------------------


def model_of(kind: str, raw: dict[str, Any]) -> Any:
    """The model as today's cache holds it: ResourceClient._decode_object with compact managedFields."""
    import importlib

    from emqx.client.resource import _compact_managed_fields

    module = importlib.import_module(f"emqx.models.{KINDS[kind]}")
    return getattr(module, kind).read(_compact_managed_fields(raw))


def compact_json(raw: dict[str, Any]) -> bytes:
    from emqx.client.resource import _compact_managed_fields

    return json.dumps(_compact_managed_fields(raw), separators=(",", ":")).encode()


def summary_columns(kind: str, obj: Any) -> dict[str, Any]:
    """What the list page, its filters and the dashboard read of an object, from its admin's summary."""
    from console.registry import site

    s = site.for_kind(kind).summarize(obj)
    counts = dict((label.split()[0].lower(), str(c)) for label, c in s.counts)
    return {
        "namespace": s.namespace,
        "name": s.name,
        "uid": s.uid,
        "resource_version": s.resource_version,
        "state": s.state,
        "badge": s.badge,
        "version": s.version,
        "kind_version": s.kind_version,
        "created": s.created.timestamp() if s.created else 0.0,
        "core": counts.get("core", counts.get("nodes", "")),
        "replicants": counts.get("replicant", ""),
        "labels": s.labels,
    }


# ----- (a) today: pydantic models in a dict per worker ----------------------------------------------------------


class ModelStore:
    def __init__(self) -> None:
        self.caches: dict[tuple[str, str], dict[tuple[str, str], Any]] = collections.defaultdict(dict)

    def apply(self, cluster: str, kind: str, data: bytes) -> None:
        obj = model_of(kind, json.loads(data))
        self.caches[(cluster, kind)][(obj.metadata.namespace, obj.metadata.name)] = obj

    def listing(self, cluster: str, query: str) -> Any:
        from django.http import QueryDict

        from console.forms.filters import ObjectFilterForm, filter_objects
        from console.registry import site

        admin = site.for_kind("EMQX")
        items = list(self.caches[(cluster, "EMQX")].values())  # Informer.list: copy and sort each call
        items.sort(key=lambda o: (o.metadata.namespace or "", o.metadata.name or ""))
        listing = filter_objects(items, ObjectFilterForm(QueryDict(query), admin=admin))
        return list(listing.page), listing.facets

    def poll(self, cluster: str, namespace: str, name: str) -> Any:
        from console.registry import site

        obj = self.caches[(cluster, "EMQX")][(namespace, name)]
        return site.for_kind("EMQX").summarize(obj)


# ----- (b) compact in-process: summary records + compressed JSON -------------------------------------------------


class Record:
    __slots__ = (
        "badge",
        "blob",
        "core",
        "created",
        "kind_version",
        "labels",
        "name",
        "namespace",
        "replicants",
        "resource_version",
        "state",
        "uid",
        "version",
    )  # fmt: skip

    def __init__(self, columns: dict[str, Any], labels: dict[str, str], blob: bytes) -> None:
        for key in self.__slots__:
            if key == "blob":
                continue
            value = columns[key] if key != "labels" else labels
            setattr(self, key, sys.intern(value) if isinstance(value, str) and key not in ("uid",) else value)
        self.blob = blob

    def facet_values(self) -> tuple[str, ...]:
        return (
            self.namespace,
            self.state,
            self.version,
            self.kind_version,
            *(self.labels.get(k, "") for k in LABEL_FACETS),
        )


FACETS = (*FACET_COLUMNS, *(f"label.{k}" for k in LABEL_FACETS))


class CompactStore:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], dict[tuple[str, str], Record]] = collections.defaultdict(dict)
        self.order: dict[tuple[str, str], list[tuple[str, str]]] = collections.defaultdict(list)
        self.counts: dict[tuple[str, str], list[Counter[str]]] = collections.defaultdict(
            lambda: [Counter() for _ in FACETS]
        )
        self._labels: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        self.lru: OrderedDict[tuple[str, str, str, str], tuple[str, Any, Any]] = OrderedDict()
        self.namespaces: set[str] = set()

    def apply(self, cluster: str, kind: str, data: bytes) -> None:
        raw = json.loads(data)
        obj = model_of(kind, raw)
        columns = summary_columns(kind, obj)
        key = (columns["namespace"], columns["name"])
        labels = self._labels.setdefault(tuple(sorted(columns["labels"].items())), columns["labels"])
        record = Record(columns, labels, zlib.compress(compact_json(raw)))
        store, counts = self.records[(cluster, kind)], self.counts[(cluster, kind)]
        old = store.get(key)
        if old is None:
            insort(self.order[(cluster, kind)], key)
            self.namespaces.add(key[0])
        else:
            for counter, value in zip(counts, old.facet_values(), strict=True):
                counter[value] -= 1
        for counter, value in zip(counts, record.facet_values(), strict=True):
            counter[value] += 1
        store[key] = record

    def listing(self, cluster: str, q: str = "", labels: tuple[str, str] | None = None, prefix: bool = False) -> Any:
        store, order = self.records[(cluster, "EMQX")], self.order[(cluster, "EMQX")]
        if not q and labels is None:  # the default page: the maintained counts, the first 50 keys
            return [store[k] for k in order[:PAGE]], self.counts[(cluster, "EMQX")]
        if prefix:  # every namespace: one range of the sorted keys per namespace
            keys = []
            for namespace in sorted(self.namespaces):
                i = bisect_left(order, (namespace, q))
                while i < len(order) and order[i][0] == namespace and order[i][1].startswith(q):
                    keys.append(order[i])
                    i += 1
        else:
            keys = [k for k in order if q in k[1].lower()]
        rows = [store[k] for k in keys]
        if labels is not None:
            rows = [r for r in rows if r.labels.get(labels[0]) == labels[1]]
        counters = [Counter() for _ in FACETS]
        for r in rows:
            for counter, value in zip(counters, r.facet_values(), strict=True):
                counter[value] += 1
        return rows[:PAGE], counters

    def counted(self, cluster: str) -> Any:
        """The default page's counts by one pass over every record (what a request pays without a count table)."""
        counters = [Counter() for _ in FACETS]
        for r in self.records[(cluster, "EMQX")].values():
            for counter, value in zip(counters, r.facet_values(), strict=True):
                counter[value] += 1
        order = self.order[(cluster, "EMQX")]
        return [self.records[(cluster, "EMQX")][k] for k in order[:PAGE]], counters

    def poll(self, cluster: str, namespace: str, name: str, lru: bool = True) -> Any:
        record = self.records[(cluster, "EMQX")][(namespace, name)]
        key = (cluster, "EMQX", namespace, name)
        hit = self.lru.get(key) if lru else None
        if hit is not None and hit[0] == record.resource_version:
            self.lru.move_to_end(key)
            return hit[2]
        obj = model_of("EMQX", json.loads(zlib.decompress(record.blob)))
        from console.registry import site

        summary = site.for_kind("EMQX").summarize(obj)
        if lru:
            self.lru[key] = (record.resource_version, obj, summary)
            if len(self.lru) > LRU_SIZE:
                self.lru.popitem(last=False)
        return summary


# ----- (c) SQLite, WAL -------------------------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE objects (
    id INTEGER PRIMARY KEY,
    cluster TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    uid TEXT NOT NULL, resource_version TEXT NOT NULL, state TEXT NOT NULL, badge TEXT NOT NULL,
    version TEXT NOT NULL, kind_version TEXT NOT NULL, created REAL NOT NULL, core TEXT NOT NULL,
    replicants TEXT NOT NULL, written_at REAL NOT NULL,
    UNIQUE (cluster, kind, namespace, name)
);
-- The documents apart: a row of summary columns is ~150 bytes, a compressed EMQX ~1.6 KB; in one table, every
-- scan for the sidebar's counts would read the documents' pages too (measured: 3x slower, see docs/benchmarks.md).
CREATE TABLE documents (id INTEGER PRIMARY KEY, document BLOB NOT NULL);
CREATE INDEX objects_by_name ON objects (cluster, kind, name);
CREATE TABLE labels (object INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (object, key))
    WITHOUT ROWID;
CREATE INDEX labels_by_value ON labels (key, value, object);
CREATE TABLE facet_counts (
    cluster TEXT NOT NULL, kind TEXT NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (cluster, kind, facet, value)
) WITHOUT ROWID;
"""
COLUMNS = (
    "namespace", "name", "uid", "resource_version", "state", "badge", "version", "kind_version", "created",
    "core", "replicants",
)  # fmt: skip
UPSERT = (
    f"INSERT INTO objects (cluster, kind, {', '.join(COLUMNS)}, written_at)"
    f" VALUES (?, ?, {', '.join('?' for _ in COLUMNS)}, ?)"
    " ON CONFLICT (cluster, kind, namespace, name) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*COLUMNS[2:], "written_at"))
    + " RETURNING id"
)
COUNT_FACETS = """
INSERT INTO facet_counts SELECT cluster, kind, 'namespace', namespace, count(*) FROM objects
    WHERE cluster = :c AND kind = :k GROUP BY namespace
UNION ALL SELECT cluster, kind, 'state', state, count(*) FROM objects WHERE cluster = :c AND kind = :k GROUP BY state
UNION ALL SELECT cluster, kind, 'version', version, count(*) FROM objects
    WHERE cluster = :c AND kind = :k GROUP BY version
UNION ALL SELECT cluster, kind, 'kind_version', kind_version, count(*) FROM objects
    WHERE cluster = :c AND kind = :k GROUP BY kind_version
UNION ALL SELECT o.cluster, o.kind, 'label.' || :l1, coalesce(l.value, ''), count(*) FROM objects o
    LEFT JOIN labels l ON l.object = o.id AND l.key = :l1 WHERE o.cluster = :c AND o.kind = :k GROUP BY l.value
UNION ALL SELECT o.cluster, o.kind, 'label.' || :l2, coalesce(l.value, ''), count(*) FROM objects o
    LEFT JOIN labels l ON l.object = o.id AND l.key = :l2 WHERE o.cluster = :c AND o.kind = :k GROUP BY l.value
"""


def _facet_rows(columns: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f, str(columns[f])) for f in FACET_COLUMNS] + [
        (f"label.{k}", columns["labels"].get(k, "")) for k in LABEL_FACETS
    ]


class Writer:
    """The one process that writes: the initial LIST in one transaction per kind per cluster, then one
    transaction per watch event (row, labels and facet counts together)."""

    def __init__(self, path: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.executescript(SCHEMA)

    def _row(
        self, cluster: str, kind: str, data: bytes, received: float = 0.0
    ) -> tuple[dict[str, Any], tuple[Any, ...]]:
        raw = json.loads(data)
        columns = summary_columns(kind, model_of(kind, raw))
        values = (
            cluster, kind, *(columns[c] for c in COLUMNS), received, zlib.compress(compact_json(raw))
        )  # fmt: skip
        return columns, values

    def _upsert(self, values: tuple[Any, ...]) -> int:
        (object_id,) = self.db.execute(UPSERT, values[:-1]).fetchone()
        self.db.execute("INSERT OR REPLACE INTO documents VALUES (?, ?)", (object_id, values[-1]))
        return int(object_id)

    def initial(self, rows: Iterator[tuple[str, str, bytes]]) -> None:
        """Every kind of every cluster as its LIST brings it: one transaction per (cluster, kind)."""
        current: tuple[str, str] | None = None
        for cluster, kind, data in rows:
            if (cluster, kind) != current:
                if current is not None:
                    self._finish_list(*current)
                self.db.execute("BEGIN")
                self.db.execute("DELETE FROM facet_counts WHERE cluster = ? AND kind = ?", (cluster, kind))
                current = (cluster, kind)
            columns, values = self._row(cluster, kind, data)
            object_id = self._upsert(values)
            self.db.executemany(
                "INSERT OR REPLACE INTO labels VALUES (?, ?, ?)", [(object_id, *kv) for kv in columns["labels"].items()]
            )
        if current is not None:
            self._finish_list(*current)

    def _finish_list(self, cluster: str, kind: str) -> None:
        self.db.execute(COUNT_FACETS, {"c": cluster, "k": kind, "l1": LABEL_FACETS[0], "l2": LABEL_FACETS[1]})
        self.db.execute("COMMIT")

    def event(self, cluster: str, kind: str, data: bytes) -> None:
        """One watch event (ADDED or MODIFIED): the row, its labels and the facet counts in one transaction.
        ``written_at`` is the event's arrival (perf_counter: CLOCK_MONOTONIC, the same clock in every process)."""
        columns, values = self._row(cluster, kind, data, time.perf_counter())
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        old = db.execute(
            "SELECT id, namespace, state, version, kind_version FROM objects"
            " WHERE cluster = ? AND kind = ? AND namespace = ? AND name = ?",
            (cluster, kind, columns["namespace"], columns["name"]),
        ).fetchone()
        deltas: Counter[tuple[str, str]] = Counter()
        if old is not None:
            labels = dict(db.execute("SELECT key, value FROM labels WHERE object = ?", (old[0],)).fetchall())
            previous = dict(zip(("namespace", "state", "version", "kind_version"), old[1:], strict=True))
            for facet in _facet_rows({**previous, "labels": labels}):
                deltas[facet] -= 1
        for facet in _facet_rows(columns):
            deltas[facet] += 1
        object_id = self._upsert(values)
        db.execute("DELETE FROM labels WHERE object = ?", (object_id,))
        db.executemany("INSERT INTO labels VALUES (?, ?, ?)", [(object_id, *kv) for kv in columns["labels"].items()])
        db.executemany(
            "INSERT INTO facet_counts VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (cluster, kind, facet, value) DO UPDATE SET n = n + excluded.n",
            [(cluster, kind, f, v, d) for (f, v), d in deltas.items() if d],
        )
        db.execute("COMMIT")

    def relist(self, cluster: str, rows: list[tuple[str, str, bytes]]) -> None:
        """A relist after 410 Gone: the cluster's rows of a kind replaced in one transaction."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        kind = rows[0][1]
        db.execute(
            "DELETE FROM labels WHERE object IN (SELECT id FROM objects WHERE cluster = ? AND kind = ?)",
            (cluster, kind),
        )
        db.execute(
            "DELETE FROM documents WHERE id IN (SELECT id FROM objects WHERE cluster = ? AND kind = ?)", (cluster, kind)
        )
        db.execute("DELETE FROM objects WHERE cluster = ? AND kind = ?", (cluster, kind))
        db.execute("DELETE FROM facet_counts WHERE cluster = ? AND kind = ?", (cluster, kind))
        for _, _, data in rows:
            columns, values = self._row(cluster, kind, data)
            object_id = self._upsert(values)
            db.executemany(
                "INSERT INTO labels VALUES (?, ?, ?)", [(object_id, *kv) for kv in columns["labels"].items()]
            )
        db.execute(COUNT_FACETS, {"c": cluster, "k": kind, "l1": LABEL_FACETS[0], "l2": LABEL_FACETS[1]})
        db.execute("COMMIT")


class Reader:
    """A worker's read connection: query_only, SQLite's default 2 MiB page cache, no mmap."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA query_only = 1")
        self.db.execute("PRAGMA mmap_size = 0")
        self.lru: OrderedDict[tuple[str, str, str, str], tuple[str, Any, Any]] = OrderedDict()

    def _where(self, q: str, labels: tuple[str, str] | None, prefix: bool) -> tuple[str, list[Any]]:
        where, args = "o.cluster = ? AND o.kind = 'EMQX'", []
        if q and prefix:
            where += " AND o.name >= ? AND o.name < ?"
            args += [q, q + "\uffff"]
        elif q:
            where += " AND instr(lower(o.name), ?) > 0"
            args.append(q.lower())
        if labels is not None:
            # EXISTS per candidate row (the labels' primary key), not IN (SELECT ...): an IN list would hold the
            # matching labels of every cluster (measured 2x slower).
            where += " AND EXISTS (SELECT 1 FROM labels WHERE object = o.id AND key = ? AND value = ?)"
            args += list(labels)
        return where, args

    def listing(
        self, cluster: str, q: str = "", labels: tuple[str, str] | None = None, prefix: bool = False,
        maintained: bool = True,
    ) -> Any:  # fmt: skip
        """The first page (sorted by namespace, name) and the sidebar's counts: from the count table on the default
        page (``maintained``), else one GROUP BY of every facet's value together under the same filters, folded per
        facet in Python (few combinations: at most a few hundred rows; with a facet chosen, the same fold applies
        Django's semantics, each facet's counts under the OTHER choices, as console.forms.filters.count_facets does)."""
        db = self.db
        where, args = self._where(q, labels, prefix)
        db.execute("BEGIN")  # one snapshot for the page and its counts
        try:
            rows = db.execute(
                f"SELECT {', '.join('o.' + c for c in COLUMNS)} FROM objects o WHERE {where}"
                " ORDER BY o.namespace, o.name LIMIT ?",
                [cluster, *args, PAGE],
            ).fetchall()
            if maintained and not q and labels is None:
                counts = db.execute(
                    "SELECT facet, value, n FROM facet_counts WHERE cluster = ? AND kind = 'EMQX' AND n > 0", (cluster,)
                ).fetchall()
            else:  # one scan: the facets' value combinations under the filters, folded into counts here
                joins = "".join(
                    f" LEFT JOIN labels l{i} ON l{i}.object = o.id AND l{i}.key = '{key}'"
                    for i, key in enumerate(LABEL_FACETS)
                )
                facets = [f"o.{c}" for c in FACET_COLUMNS] + [
                    f"coalesce(l{i}.value, '')" for i in range(len(LABEL_FACETS))
                ]
                combos = db.execute(
                    f"SELECT {', '.join(facets)}, count(*) FROM objects o{joins} WHERE {where}"
                    f" GROUP BY {', '.join(str(n + 1) for n in range(len(facets)))}",
                    [cluster, *args],
                ).fetchall()
                counters: list[Counter[str]] = [Counter() for _ in FACETS]
                for *values, n in combos:
                    for counter, value in zip(counters, values, strict=True):
                        counter[value] += n
                counts = counters
        finally:
            db.execute("COMMIT")
        return rows, counts

    def poll(self, cluster: str, namespace: str, name: str, lru: bool = True) -> Any:
        """One object for the status panel: its resourceVersion, and the document only when the LRU's is older."""
        key = (cluster, "EMQX", namespace, name)
        hit = self.lru.get(key) if lru else None
        where = "cluster = ? AND kind = 'EMQX' AND namespace = ? AND name = ?"
        if hit is not None:
            (rv,) = self.db.execute(f"SELECT resource_version FROM objects WHERE {where}", key[:1] + key[2:]).fetchone()
            if rv == hit[0]:
                self.lru.move_to_end(key)
                return hit[2]
        rv, blob = self.db.execute(
            f"SELECT resource_version, document FROM objects JOIN documents USING (id) WHERE {where}", key[:1] + key[2:]
        ).fetchone()
        obj = model_of("EMQX", json.loads(zlib.decompress(blob)))
        from console.registry import site

        summary = site.for_kind("EMQX").summarize(obj)
        if lru:
            self.lru[key] = (rv, obj, summary)
            if len(self.lru) > LRU_SIZE:
                self.lru.popitem(last=False)
        return summary


# ----- the child processes ---------------------------------------------------------------------------------------

POLLED = ("c00", "bench-03", "emqx-0013")
"""The object the status poll reads and the watch events change (Ready at first)."""


def _polled_document(data: Path) -> dict[str, Any]:
    for cluster, kind, raw in read_fleet(data):
        doc = json.loads(raw)
        if (cluster, kind, doc["metadata"]["namespace"], doc["metadata"]["name"]) == (POLLED[0], "EMQX", *POLLED[1:]):
            return doc
    raise RuntimeError("the polled object is not in the fleet")


def _load(store: Any, data: Path) -> dict[str, float]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for cluster, kind, raw in read_fleet(data):
        store.apply(cluster, kind, raw)
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def child_inproc(args: argparse.Namespace, reply: Callable[[dict[str, Any]], None]) -> None:
    """(a) or (b) in one process: built from the fleet, then (with --timings) every read and write timed."""
    django_setup()
    model_of("EMQX", _polled_document(args.data))  # imports and pydantic's validators built before the baseline
    base = memory()
    store: Any = ModelStore() if args.store == "a" else CompactStore()
    load = _load(store, args.data)
    result: dict[str, Any] = {"base": base, "load": load, "loaded": memory()}
    if args.timings:
        n, repeats, cluster = 0, args.repeats, POLLED[0]
        result["listing"] = timed(lambda: store.listing(cluster, ""), repeats)
        if args.store == "a":
            result["name"] = timed(lambda: store.listing(cluster, f"q={NAME_QUERY}"), repeats)
            result["label"] = timed(lambda: store.listing(cluster, "labels=" + "=".join(LABEL_QUERY)), repeats)
            result["poll_hit"] = timed(lambda: store.poll(*POLLED), repeats * 10)
        else:
            result["listing_pass"] = timed(lambda: store.counted(cluster), repeats)
            result["name"] = timed(lambda: store.listing(cluster, NAME_QUERY), repeats)
            result["prefix"] = timed(lambda: store.listing(cluster, NAME_QUERY, prefix=True), repeats)
            result["label"] = timed(lambda: store.listing(cluster, labels=LABEL_QUERY), repeats)
            result["poll_hit"] = timed(lambda: store.poll(*POLLED), repeats * 10)
            result["poll_miss"] = timed(lambda: store.poll(*POLLED, lru=False), repeats * 2)
        polled = _polled_document(args.data)

        def write() -> None:
            nonlocal n
            n += 1
            store.apply(cluster, "EMQX", json.dumps(changed_document(polled, n)).encode())

        result["write"] = timed(write, repeats)
        if args.store == "b":  # what an LRU of LRU_SIZE parsed models (and their summaries) holds
            before = memory()
            names = [k for k in store.order[(cluster, "EMQX")]][:LRU_SIZE]
            for namespace, name in names:
                store.poll(cluster, namespace, name)
            result["lru_mib"] = memory()["rss"] - before["rss"]
    reply(result)


def child_writer(args: argparse.Namespace, reply: Callable[[dict[str, Any]], None]) -> None:
    django_setup()
    model_of("EMQX", _polled_document(args.data))
    base = memory()
    writer = Writer(args.db)
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    writer.initial(read_fleet(args.data))
    load = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    reply({"base": base, "load": load, "loaded": memory()})
    polled = _polled_document(args.data)
    relist = [(c, k, raw) for c, k, raw in read_fleet(args.data) if c == "c01" and k == "EMQX"]
    n = 0
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "events":
            took = []
            for _ in range(command["count"]):
                n += 1
                data = json.dumps(changed_document(polled, n)).encode()
                started, cpu = time.perf_counter(), time.thread_time()
                writer.event(POLLED[0], "EMQX", data)
                took.append(((time.perf_counter() - started) * 1000, (time.thread_time() - cpu) * 1000))
                time.sleep(command["interval"])
            wall = [t[0] for t in took]
            reply({"p50": statistics.median(wall), "p99": _pct(wall, 99), "cpu": statistics.median(t[1] for t in took)})
        elif command["cmd"] == "bulk":
            deadline, durations = time.perf_counter() + command["seconds"], []
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.relist("c01", relist)
                durations.append(time.perf_counter() - started)
            reply({"relists": len(durations), "rows": len(relist), "p50_s": statistics.median(durations)})
        elif command["cmd"] == "sizes":
            db = writer.db
            reply(
                {
                    "db_mib": Path(args.db).stat().st_size / 2**20,
                    "wal_mib": Path(f"{args.db}-wal").stat().st_size / 2**20,
                    "blob": db.execute(
                        "SELECT avg(length(document)) FROM objects JOIN documents USING (id) WHERE kind = 'EMQX'"
                    ).fetchone()[0],
                }
            )
        elif command["cmd"] == "mem":
            reply(memory())
        else:
            return


def child_reader(args: argparse.Namespace, reply: Callable[[dict[str, Any]], None]) -> None:
    django_setup()
    model_of("EMQX", _polled_document(args.data))
    base = memory()
    reader = Reader(args.db)
    reply({"base": base})
    cluster, repeats = POLLED[0], args.repeats
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "suite":
            reply(
                {
                    "listing": timed(lambda: reader.listing(cluster), repeats),
                    "listing_groupby": timed(lambda: reader.listing(cluster, maintained=False), repeats),
                    "name": timed(lambda: reader.listing(cluster, NAME_QUERY), repeats),
                    "prefix": timed(lambda: reader.listing(cluster, NAME_QUERY, prefix=True), repeats),
                    "label": timed(lambda: reader.listing(cluster, labels=LABEL_QUERY), repeats),
                    "poll_hit": timed(lambda: reader.poll(*POLLED), repeats * 10),
                    "poll_miss": timed(lambda: reader.poll(*POLLED, lru=False), repeats * 2),
                }
            )
        elif command["cmd"] == "warm":
            for _ in range(3):
                reader.listing(cluster)
                reader.listing(cluster, maintained=False)
                reader.listing(cluster, NAME_QUERY)
                reader.listing(cluster, labels=LABEL_QUERY)
                reader.poll(*POLLED)
            reply({})
        elif command["cmd"] == "watch":
            sql = "SELECT resource_version, written_at FROM objects WHERE cluster = ? AND kind = 'EMQX'"
            sql += " AND namespace = ? AND name = ?"
            last = reader.db.execute(sql, POLLED).fetchone()[0]
            reply({"watching": True})
            seen, deadline = [], time.perf_counter() + command["timeout"]
            while len(seen) < command["count"] and time.perf_counter() < deadline:
                rv, written_at = reader.db.execute(sql, POLLED).fetchone()
                if rv != last:
                    seen.append((time.perf_counter() - written_at) * 1000)
                    last = rv
                time.sleep(0.0005)
            reply({"seen": len(seen), "p50": statistics.median(seen), "p99": _pct(seen, 99), "max": max(seen)})
        elif command["cmd"] == "hammer":
            took, errors, deadline = [], 0, time.perf_counter() + command["seconds"]
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    reader.listing(cluster, maintained=False)
                    reader.poll(*POLLED, lru=False)
                except sqlite3.OperationalError:
                    errors += 1
                took.append((time.perf_counter() - started) * 1000)
            reply(
                {
                    "n": len(took),
                    "p50": statistics.median(took),
                    "p99": _pct(took, 99),
                    "max": max(took),
                    "errors": errors,
                }
            )
        elif command["cmd"] == "mem":
            reply(memory())
        else:
            return


class Child:
    """A child process of this script, spoken to in JSON lines."""

    def __init__(self, role: str, data: Path, db: Path, store: str = "", timings: bool = False, repeats: int = 0):
        argv = [sys.executable, "-m", "bench.store_alternatives", "--child", role, "--data", str(data), "--db", str(db)]
        argv += ["--store", store, "--repeats", str(repeats)] + (["--timings"] if timings else [])
        self.process = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.pid = self.process.pid

    def send(self, cmd: str, **options: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **options}) + "\n")
        self.process.stdin.flush()

    def recv(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"child {self.pid} ended: {self.process.wait()}")
        return json.loads(line)

    def ask(self, cmd: str, **options: Any) -> Any:
        self.send(cmd, **options)
        return self.recv()

    def close(self) -> None:
        if self.process.poll() is None:
            self.send("quit")
        self.process.wait(30)


# ----- the run and its table -------------------------------------------------------------------------------------


def ms(t: dict[str, float] | None, digits: int = 2) -> str:
    if not t:
        return "n/a"
    return f"{t['p50']:.{digits}f} / {t['p99']:.{digits}f} (CPU {t['cpu']:.{digits}f})"


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {
        "load_start": os.getloadavg(),
        "started": time.strftime("%d %B %Y, %H:%M UTC", time.gmtime()),
    }
    t0 = time.perf_counter()
    data = {size: fleet_file(workdir, size) for size in (args.small, args.large)}
    out["fleet_s"] = time.perf_counter() - t0
    db = workdir / "store.sqlite3"
    for store in ("a", "b"):
        for size in (args.small, args.large):
            print(f"({store}) {size:,} EMQX ...", file=sys.stderr, flush=True)
            child = Child("inproc", data[size], db, store, timings=size == args.large, repeats=args.repeats)
            out[f"{store}{size}"] = child.recv()
            child.close()
    # (c): the writer and its readers
    for size, readers in ((args.small, 2), (args.large, 4)):
        print(f"(c) {size:,} EMQX, writer + {readers} readers ...", file=sys.stderr, flush=True)
        writer = Child("writer", data[size], db, repeats=args.repeats)
        result: dict[str, Any] = {"writer": writer.recv()}
        pool = [Child("reader", data[size], db, repeats=args.repeats) for _ in range(readers)]
        result["reader_base"] = [r.recv() for r in pool]
        try:
            if size == args.large:
                result["suite"] = pool[0].ask("suite")
            for r in pool:
                r.ask("warm")
            result["readers"] = [r.ask("mem") for r in pool]
            result["writer_mem"] = writer.ask("mem")
            if size == args.large:
                pool[0].ask("watch", count=40, timeout=30)
                result["events"] = writer.ask("events", count=40, interval=0.05)
                result["fresh"] = pool[0].recv()
                result["hammer_idle"] = pool[0].ask("hammer", seconds=args.bulk_seconds)
                pool[0].send("hammer", seconds=args.bulk_seconds)
                writer.send("bulk", seconds=args.bulk_seconds)
                result["bulk"] = writer.recv()
                result["hammer_bulk"] = pool[0].recv()
                result["sizes"] = writer.ask("sizes")
        finally:
            for r in pool:
                r.close()
            writer.close()
        out[f"c{size}"] = result
    out["load_end"] = os.getloadavg()
    out["took_s"] = time.perf_counter() - t0
    return out


def table(r: dict[str, Any], small: int, large: int) -> str:
    per = (large - small) / 1000
    a, b, c = r[f"a{large}"], r[f"b{large}"], r[f"c{large}"]
    a0, b0, c0 = r[f"a{small}"], r[f"b{small}"], r[f"c{small}"]
    suite = c["suite"]

    def d(x: dict[str, Any], y: dict[str, Any], key: str = "rss") -> float:
        return (x[key] - y[key]) / per

    reader, reader0 = c["readers"][1], c0["readers"][1]
    writer, writer0 = c["writer_mem"], c0["writer_mem"]
    w_a, w_b = a["loaded"], b["loaded"]
    rows = [
        (
            "memory of one worker / reader process (RSS; USS)",
            f"{w_a['rss']:.0f}; {w_a['uss']:.0f} MiB",
            f"{w_b['rss']:.0f}; {w_b['uss']:.0f} MiB",
            f"reader {reader['rss']:.0f}; {reader['uss']:.0f} MiB (all {len(c['readers'])}: "
            + ", ".join(f"{m['rss']:.0f}" for m in c["readers"])
            + ")",
        ),
        (
            "  ... of which the store (above the process with Django and the models imported)",
            f"{w_a['rss'] - a['base']['rss']:.0f} MiB",
            f"{w_b['rss'] - b['base']['rss']:.0f} MiB",
            f"reader {reader['rss'] - c['reader_base'][1]['base']['rss']:.0f} MiB",
        ),
        (
            "memory of the writer process (RSS; USS; before malloc_trim)",
            "none",
            "none",
            f"{writer['rss']:.0f}; {writer['uss']:.0f} MiB ({writer['rss_untrimmed']:.0f} untrimmed)",
        ),
        (
            "console processes of a pod, 2 workers (RSS, each worker its own store; master not counted)",
            f"{2 * w_a['rss']:.0f} MiB",
            f"{2 * w_b['rss']:.0f} MiB",
            f"{writer['rss'] + sum(m['rss'] for m in c['readers'][:2]):.0f} MiB (writer + 2 readers)",
        ),
        (
            "  ... 4 workers",
            f"{4 * w_a['rss']:.0f} MiB",
            f"{4 * w_b['rss']:.0f} MiB",
            f"{writer['rss'] + sum(m['rss'] for m in c['readers'][:4]):.0f} MiB (writer + 4 readers)",
        ),
        (
            "memory per extra 1,000 EMQX, per worker (RSS; USS)",
            f"{d(w_a, a0['loaded']):.1f}; {d(w_a, a0['loaded'], 'uss'):.1f} MiB",
            f"{d(w_b, b0['loaded']):.1f}; {d(w_b, b0['loaded'], 'uss'):.1f} MiB",
            f"reader {d(reader, reader0):.1f}; {d(reader, reader0, 'uss'):.1f} MiB",
        ),
        (
            "memory per extra 1,000 EMQX, per pod of 4 workers (RSS)",
            f"{4 * d(w_a, a0['loaded']):.1f} MiB",
            f"{4 * d(w_b, b0['loaded']):.1f} MiB",
            f"{d(writer, writer0) + 4 * d(reader, reader0):.1f} MiB (writer {d(writer, writer0):.1f})",
        ),
        (
            "SQLite file (+ WAL) at the large size; EMQX document compressed",
            "",
            "",
            f"{c['sizes']['db_mib']:.1f} MiB (+ {c['sizes']['wal_mib']:.1f}); {c['sizes']['blob']:.0f} B per EMQX",
        ),
        (
            "initial sync of the whole fleet (wall; CPU)",
            f"{a['load']['wall_s']:.1f} s; {a['load']['cpu_s']:.1f} s",
            f"{b['load']['wall_s']:.1f} s; {b['load']['cpu_s']:.1f} s",
            f"{c['writer']['load']['wall_s']:.1f} s; {c['writer']['load']['cpu_s']:.1f} s (writer)",
        ),
        (
            "list page: first 50 of all namespaces + the sidebar's counts, counts kept on change",
            ms(a["listing"]) + " (filter_objects: counts per request)",
            ms(b["listing"]),
            ms(suite["listing"]),
        ),
        (
            "  ... counts per request (a pass / GROUP BY)",
            "(as above)",
            ms(b["listing_pass"]),
            ms(suite["listing_groupby"]),
        ),
        (
            f"search: name contains `{NAME_QUERY}` (the console's ?q=), with counts",
            ms(a["name"]),
            ms(b["name"]),
            ms(suite["name"]),
        ),
        (f"search: name prefix `{NAME_QUERY}` (index range), with counts", "n/a", ms(b["prefix"]), ms(suite["prefix"])),
        (
            f"search: label selector `{'='.join(LABEL_QUERY)}` (a third), with counts",
            ms(a["label"]),
            ms(b["label"]),
            ms(suite["label"]),
        ),
        (
            "status poll's read: unchanged object (dict / LRU hit by resourceVersion)",
            ms(a["poll_hit"], 3),
            ms(b["poll_hit"], 3),
            ms(suite["poll_hit"], 3),
        ),
        (
            "status poll's read: fetch + decompress + parse + summarize",
            "n/a",
            ms(b["poll_miss"]),
            ms(suite["poll_miss"]),
        ),
        ("write of one watch event (decode, parse, summarize, store)", ms(a["write"]), ms(b["write"]), ms(c["events"])),
        (
            "freshness: event arrives -> a reader's next query sees it",
            "= the write (same process)",
            "= the write (same process)",
            f"{c['fresh']['p50']:.2f} / {c['fresh']['p99']:.2f} ms ({c['fresh']['seen']} of 40 seen;"
            " the reader polls every 0.5 ms)",
        ),
        (
            f"a reader during a bulk write (relist of {c['bulk']['rows']:,} EMQX rows in one transaction, looped):"
            " list page + poll",
            "",
            "",
            f"idle {c['hammer_idle']['p50']:.1f} / {c['hammer_idle']['p99']:.1f} ms;"
            f" during {c['hammer_bulk']['p50']:.1f} / {c['hammer_bulk']['p99']:.1f} ms"
            f" (max {c['hammer_bulk']['max']:.0f}), {c['hammer_bulk']['errors']} errors; "
            f"{c['bulk']['relists']} relists, {c['bulk']['p50_s']:.2f} s each",
        ),
        (
            "LISTs and WATCHes per kind per cluster per pod",
            "1 each per worker",
            "1 each per worker",
            "1 each (the writer)",
        ),
    ]
    lines = [
        "| measure | (a) today: models per worker | (b) compact per worker | (c) SQLite WAL, 1 writer + N readers |"
    ]
    lines.append("|---|---|---|---|")
    lines += [f"| {' | '.join(row)} |" for row in rows]
    if "lru_mib" in b:
        lines.append(
            f"| (b)/(c) an LRU of {LRU_SIZE} parsed models + summaries | | {b['lru_mib']:.1f} MiB"
            " | (the same per reader) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=2000, help="EMQX of the smaller fleet (per-1,000 difference)")
    parser.add_argument("--large", type=int, default=10_000, help="EMQX of the issue's fleet")
    parser.add_argument("--repeats", type=int, default=50, help="timed runs of each read (polls: 10x)")
    parser.add_argument("--bulk-seconds", type=float, default=4.0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-store"))
    parser.add_argument("--table-only", action="store_true", help="print the table of the last run's result.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--timings", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        channel = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)  # anything else printed goes to stderr, not into the replies

        def reply(message: dict[str, Any]) -> None:
            channel.write(json.dumps(message) + "\n")

        {"inproc": child_inproc, "writer": child_writer, "reader": child_reader}[args.child](args, reply)
        return
    if args.table_only:
        result = json.loads((args.workdir / "result.json").read_text())
    else:
        result = run(args)
        (args.workdir / "result.json").write_text(json.dumps(result, indent=1))
    print(
        f"{result['started']}; python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs; "
        f"fleet {args.large:,} EMQX + {args.large // 10:,} EmqxBroker + {args.large // 10:,} Rebalance over "
        f"{len(CLUSTERS)} clusters (and {args.small:,} for the difference); load average "
        f"{' '.join(f'{x:.2f}' for x in result['load_start'])} -> {' '.join(f'{x:.2f}' for x in result['load_end'])}; "
        f"took {result['took_s']:.0f} s. Times: p50 / p99 (CPU p50), ms.\n"
    )
    print(table(result, args.small, args.large))


if __name__ == "__main__":
    main()
