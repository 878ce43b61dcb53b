"""Where an :class:`~emqx.cache.Informer` keeps its objects: in memory, or in a SQLite file other processes read.

Issue 18 (docs/benchmarks.md, "Choosing the store") chose one SQLite file in WAL mode per pod, written by one
watcher and read by every worker process. This module is that store's first layer, behind a small protocol:

* :class:`MemoryStore`: a dict of parsed models, as the Informer always kept them (the default).
* :class:`SqliteStore`: the writer. One row per object keyed (cluster, kind, namespace, name) with its
  resourceVersion, uid, why it is not understood (``''`` when it fits the model) and the caller's summary columns
  (``columns(obj) -> {name: value}``, stored as a small JSON object: ``emqx`` does not know the console's rules);
  the compact JSON document zlib-compressed in a table apart (so that scans for counts do not read it); a labels
  side table; a ``counts`` table of objects per namespace and per summary column value, kept in the same
  transaction as each change; the sync state (:class:`SyncState`) in a table, so that another process can read
  it. ``replace()`` writes a whole LIST in one transaction, ``apply()`` one watch event per transaction. Models are
  parsed on demand (``get``, ``list``), with a small LRU keyed by resourceVersion.
* :class:`SqliteReader` (``SqliteStore.reader(...)``): a read-only view of the same file for another process
  (``query_only``, one connection per thread) that answers the same reads, plus :meth:`SqliteReader.page` (rows
  of summary columns without parsing a model), :meth:`SqliteReader.counts` and a cheap
  :meth:`SqliteReader.generation` (``PRAGMA data_version``, then the state row only when the file changed).

The file is a cache, never the truth: it is stamped with ``PRAGMA user_version`` = :data:`SCHEMA_VERSION`; a writer
that finds another stamp deletes the file and starts it again (an empty store: the Informer LISTs), and a reader
that finds another stamp reads nothing (an empty, unsynced store) until the writer has rebuilt it. It is never
migrated in place. SQLite's rules followed here: https://www.sqlite.org/wal.html (one writer at a time, readers
never block it nor it them; ``synchronous=NORMAL`` is durable against a process crash in WAL mode, which is all a
cache needs) and https://www.sqlite.org/pragma.html#pragma_data_version (data_version changes when another
connection commits).
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import re
import sqlite3
import threading
import time
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import orjson

from emqx.client.resource import _compact_managed_fields
from emqx.client.watch import EventType
from emqx.models._base import ObjectMeta, Resource

__all__ = [
    "SCHEMA_VERSION",
    "MemoryStore",
    "Row",
    "SqliteReader",
    "SqliteStore",
    "Store",
    "SyncState",
    "unconfirm",
]

log = logging.getLogger(__name__)

T = TypeVar("T", bound=Resource)
Key = tuple[str, str]  # (namespace, name)
Columns = Callable[[Any], Mapping[str, str]]
"""The caller's summary of an object: ``{column: value}``, e.g. the console's state, version and kind_version."""
Digest = Callable[[Any], bytes]
"""The caller's digest of an object, as bytes (the console: its list summary, pickled), stored beside it so that a
reader in another process has what its pages show without parsing the document: :meth:`SqliteReader.digests`."""
D = TypeVar("D")

SCHEMA_VERSION = 2
"""``PRAGMA user_version`` of a file this module writes; a file with another is rebuilt, never read."""

LRU_SIZE = 256
"""Parsed models kept per store (a model of an EMQX is ~70 KB: docs/benchmarks.md)."""

ZLIB_LEVEL = 3
"""zlib's level for the stored documents: on the operator's example EMQX (7.0 KB of compact JSON) level 3 takes
54 µs and 1,689 bytes, the default (6) 78 µs and 1,586 bytes (bench/sync_cpu.py's fleet; docs/benchmarks.md). Any
level reads back alike: not part of the file's format."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True, slots=True)
class SyncState:
    """The informer's state as the store keeps it (emqx.cache.CacheState plus where the watch stands)."""

    synced: bool = False
    healthy: bool = False
    error: str = ""
    error_kind: str = ""
    last_sync: float | None = None
    """time.time() of the last event or successful (re)connection."""
    generation: int = 0
    restarts: int = 0
    relists: int = 0
    resource_version: str | None = None
    """The last resourceVersion the watch saw: where a new writer may resume from."""


@dataclass(frozen=True, slots=True)
class Row:
    """One object as a list page shows it, without its model: :meth:`SqliteReader.page`."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    problems: str
    """Why the object does not fit the model, ``'; '``-joined; ``''`` when it does."""
    columns: Mapping[str, str] = field(default_factory=dict)
    """The caller's summary columns (``SqliteStore(columns=...)``)."""


class Store(Protocol[T]):
    """What an Informer keeps its objects in. Writes come from one thread (the informer's, or a caller of
    ``observe``/``forget`` under the informer's lock); reads from any thread."""

    def get(self, namespace: str, name: str) -> T | None:
        """The object, or None."""
        ...

    def list(self, namespace: str | None = None) -> builtins.list[T]:
        """Every object (of one namespace, or all), sorted by (namespace, name)."""
        ...

    def namespaces(self) -> builtins.list[str]:
        """The namespaces that hold at least one object, sorted."""
        ...

    def invalid(self) -> dict[Key, str]:
        """Objects that do not fit the model, by (namespace, name), with the reasons ``'; '``-joined."""
        ...

    def resource_version(self, namespace: str, name: str) -> str | None:
        """The stored object's resourceVersion, or None when there is none."""
        ...

    def known(self) -> builtins.list[T]:
        """What a Watch needs to diff a relist after ``410 Gone``: one object per stored object carrying
        (at least) its namespace, name, uid and resourceVersion (emqx.client.watch.Watch)."""
        ...

    def __len__(self) -> int: ...

    def state(self) -> SyncState | None:
        """The last sync state written, or None when this store never had one."""
        ...

    def replace(self, items: Iterable[T], state: SyncState) -> None:
        """Everything at once (a LIST's items), with the state, as one change."""
        ...

    def apply(self, event: EventType, obj: T, state: SyncState) -> None:
        """One watch event (ADDED / MODIFIED: put; DELETED: remove), with the state, as one change."""
        ...

    def delete(self, namespace: str, name: str, state: SyncState) -> bool:
        """Remove one object; False when there was none (and nothing, not even the state, is written)."""
        ...

    def set_state(self, state: SyncState) -> None:
        """Record the sync state alone (health, restarts)."""
        ...

    def close(self) -> None:
        """Release what the store holds open (a connection); the objects stay where they are."""
        ...


def _key(obj: Resource) -> Key:
    return (obj.metadata.namespace or "", obj.metadata.name or "")


def stub(model: type[T], namespace: str, name: str, uid: str | None, resource_version: str | None) -> T:
    """An object of ``model`` carrying only its identity (not validated: the rest is unset), as a Watch needs for
    its ``known`` list and reports in a synthetic DELETED event."""
    meta = ObjectMeta(namespace=namespace or None, name=name, uid=uid or None, resourceVersion=resource_version)
    return model.model_construct(metadata=meta)


class MemoryStore(Generic[T]):
    """The objects as parsed models in a dict, in this process (what the Informer always did)."""

    def __init__(self) -> None:
        self._objects: dict[Key, T] = {}
        self._state: SyncState | None = None
        self._lock = threading.Lock()

    def get(self, namespace: str, name: str) -> T | None:
        return self._objects.get((namespace, name))

    def list(self, namespace: str | None = None) -> builtins.list[T]:
        with self._lock:
            items = [(k, o) for k, o in self._objects.items() if namespace is None or k[0] == namespace]
        items.sort(key=lambda item: item[0])
        return [o for _, o in items]

    def namespaces(self) -> builtins.list[str]:
        with self._lock:
            return sorted({ns for ns, _ in self._objects})

    def invalid(self) -> dict[Key, str]:
        with self._lock:
            return {key: "; ".join(obj.problems) for key, obj in self._objects.items() if obj.problems}

    def resource_version(self, namespace: str, name: str) -> str | None:
        obj = self._objects.get((namespace, name))
        return None if obj is None else obj.metadata.resource_version

    def known(self) -> builtins.list[T]:
        with self._lock:
            return list(self._objects.values())

    def __len__(self) -> int:
        return len(self._objects)

    def state(self) -> SyncState | None:
        return self._state

    def replace(self, items: Iterable[T], state: SyncState) -> None:
        objects = {_key(o): o for o in items}
        with self._lock:
            self._objects = objects
            self._state = state

    def apply(self, event: EventType, obj: T, state: SyncState) -> None:
        with self._lock:
            if event is EventType.DELETED:
                self._objects.pop(_key(obj), None)
            else:
                self._objects[_key(obj)] = obj
            self._state = state

    def delete(self, namespace: str, name: str, state: SyncState) -> bool:
        with self._lock:
            if self._objects.pop((namespace, name), None) is None:
                return False
            self._state = state
            return True

    def set_state(self, state: SyncState) -> None:
        self._state = state

    def close(self) -> None:
        pass


# ----- SQLite -------------------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE objects (
    id INTEGER PRIMARY KEY,
    cluster TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    uid TEXT NOT NULL, resource_version TEXT NOT NULL, problems TEXT NOT NULL, summary TEXT NOT NULL,
    UNIQUE (cluster, kind, namespace, name)
);
CREATE INDEX objects_by_name ON objects (cluster, kind, name);
-- The documents apart: a row is ~150 bytes, a compressed EMQX ~1.6 KB (docs/benchmarks.md, store (c)).
CREATE TABLE documents (id INTEGER PRIMARY KEY, document BLOB NOT NULL);
-- The caller's digest of each object (the console's list summary), apart too: read only for rows that changed.
CREATE TABLE digests (id INTEGER PRIMARY KEY, digest BLOB NOT NULL);
CREATE TABLE labels (object INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (object, key))
    WITHOUT ROWID;
CREATE INDEX labels_by_value ON labels (key, value, object);
CREATE TABLE counts (
    cluster TEXT NOT NULL, kind TEXT NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (cluster, kind, facet, value)
) WITHOUT ROWID;
CREATE TABLE sync_state (
    cluster TEXT NOT NULL, kind TEXT NOT NULL, synced INTEGER NOT NULL, healthy INTEGER NOT NULL,
    error TEXT NOT NULL, error_kind TEXT NOT NULL, last_sync REAL, generation INTEGER NOT NULL,
    restarts INTEGER NOT NULL, relists INTEGER NOT NULL, resource_version TEXT,
    pid INTEGER NOT NULL, written_at REAL NOT NULL,
    PRIMARY KEY (cluster, kind)
);
"""
_UPSERT = (
    "INSERT INTO objects (cluster, kind, namespace, name, uid, resource_version, problems, summary)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (cluster, kind, namespace, name) DO UPDATE SET uid = excluded.uid,"
    " resource_version = excluded.resource_version, problems = excluded.problems, summary = excluded.summary"
    " RETURNING id"
)
_STATE_COLUMNS = (
    "synced, healthy, error, error_kind, last_sync, generation, restarts, relists, resource_version"
)  # fmt: skip


def _dumps(document: Mapping[str, Any]) -> bytes:
    """``document`` as compact JSON (UTF-8): orjson's, a tenth of the json module's CPU on an EMQX; the json
    module's for what orjson refuses (an integer beyond 64 bits, which JSON allows and a CRD's ``int-or-string``
    could carry). Both read back to the same document with the json module, which the readers use (orjson would read
    such an integer as a float)."""
    try:
        return orjson.dumps(document)
    except orjson.JSONEncodeError:
        return json.dumps(document, separators=(",", ":")).encode()


def _facets(namespace: str, summary: Mapping[str, str]) -> list[tuple[str, str]]:
    """The counts an object adds to: its namespace and each of its summary columns' values."""
    return [("namespace", namespace), *((f"column.{k}", str(v)) for k, v in summary.items())]


def _check_identifier(name: str, what: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{what} must be a plain identifier (letters, digits, _), got {name!r}")
    return name


class _SqliteReads(Generic[T]):
    """The reads a writer and a reader share; ``_connection()`` gives the connection to use."""

    cluster: str
    kind: str
    _model: type[T]
    _lru: OrderedDict[Key, tuple[str, T]]
    _lru_lock: threading.Lock
    _lru_size: int

    def _connection(self) -> AbstractContextManager[sqlite3.Connection | None]:
        """The connection to read with (held for the block), or None when there is no readable file."""
        raise NotImplementedError

    # ----- parsing on demand ------------------------------------------------------------

    def _parse(self, key: Key, resource_version: str, blob: bytes) -> T:
        with self._lru_lock:
            hit = self._lru.get(key)
            if hit is not None and hit[0] == resource_version:
                self._lru.move_to_end(key)
                return hit[1]
        obj = self._model.read(json.loads(zlib.decompress(blob)))
        with self._lru_lock:
            self._lru[key] = (resource_version, obj)
            self._lru.move_to_end(key)
            while len(self._lru) > self._lru_size:
                self._lru.popitem(last=False)
        return obj

    # ----- the Store reads --------------------------------------------------------------

    def get(self, namespace: str, name: str) -> T | None:
        """The object parsed into its model (from the LRU when its resourceVersion has not changed), or None."""
        with self._connection() as db:
            if db is None:
                return None
            row = db.execute(
                "SELECT o.resource_version, d.document FROM objects o JOIN documents d ON d.id = o.id"
                " WHERE o.cluster = ? AND o.kind = ? AND o.namespace = ? AND o.name = ?",
                (self.cluster, self.kind, namespace, name),
            ).fetchone()
        if row is None:
            return None
        return self._parse((namespace, name), row[0], row[1])

    def list(self, namespace: str | None = None) -> builtins.list[T]:
        """Every object (of one namespace, or all) parsed, in (namespace, name) order. Parses what the LRU does
        not hold: prefer :meth:`SqliteReader.page` for a list page."""
        where, args = self._where(namespace)
        with self._connection() as db:
            if db is None:
                return []
            rows = db.execute(
                "SELECT o.namespace, o.name, o.resource_version, d.document FROM objects o"
                f" JOIN documents d ON d.id = o.id WHERE {where} ORDER BY o.namespace, o.name",
                args,
            ).fetchall()
        return [self._parse((ns, name), rv, blob) for ns, name, rv, blob in rows]

    def namespaces(self) -> builtins.list[str]:
        with self._connection() as db:
            if db is None:
                return []
            rows = db.execute(
                "SELECT DISTINCT namespace FROM objects WHERE cluster = ? AND kind = ? ORDER BY namespace",
                (self.cluster, self.kind),
            ).fetchall()
        return [ns for (ns,) in rows]

    def invalid(self) -> dict[Key, str]:
        with self._connection() as db:
            if db is None:
                return {}
            rows = db.execute(
                "SELECT namespace, name, problems FROM objects WHERE cluster = ? AND kind = ? AND problems != ''",
                (self.cluster, self.kind),
            ).fetchall()
        return {(ns, name): problems for ns, name, problems in rows}

    def resource_version(self, namespace: str, name: str) -> str | None:
        with self._connection() as db:
            if db is None:
                return None
            row = db.execute(
                "SELECT resource_version FROM objects WHERE cluster = ? AND kind = ? AND namespace = ? AND name = ?",
                (self.cluster, self.kind, namespace, name),
            ).fetchone()
        return None if row is None else str(row[0])

    def known(self) -> builtins.list[T]:
        """Identity stubs (namespace, name, uid, resourceVersion; see :func:`stub`), not parsed models."""
        with self._connection() as db:
            if db is None:
                return []
            rows = db.execute(
                "SELECT namespace, name, uid, resource_version FROM objects WHERE cluster = ? AND kind = ?",
                (self.cluster, self.kind),
            ).fetchall()
        return [stub(self._model, *row) for row in rows]

    def __len__(self) -> int:
        with self._connection() as db:
            if db is None:
                return 0
            (n,) = db.execute(
                "SELECT count(*) FROM objects WHERE cluster = ? AND kind = ?", (self.cluster, self.kind)
            ).fetchone()
        return int(n)

    def state(self) -> SyncState | None:
        with self._connection() as db:
            if db is None:
                return None
            return self._state(db)

    def _state(self, db: sqlite3.Connection) -> SyncState | None:
        row = db.execute(
            f"SELECT {_STATE_COLUMNS} FROM sync_state WHERE cluster = ? AND kind = ?", (self.cluster, self.kind)
        ).fetchone()
        if row is None:
            return None
        synced, healthy, error, error_kind, last_sync, generation, restarts, relists, resource_version = row
        return SyncState(
            synced=bool(synced),
            healthy=bool(healthy),
            error=error,
            error_kind=error_kind,
            last_sync=last_sync,
            generation=int(generation),
            restarts=int(restarts),
            relists=int(relists),
            resource_version=resource_version,
        )

    # ----- the list page's reads --------------------------------------------------------

    def _where(self, namespace: str | None) -> tuple[str, builtins.list[Any]]:
        if namespace is None:
            return "o.cluster = ? AND o.kind = ?", [self.cluster, self.kind]
        return "o.cluster = ? AND o.kind = ? AND o.namespace = ?", [self.cluster, self.kind, namespace]

    def page(
        self,
        namespace: str | None = None,
        *,
        name_prefix: str = "",
        labels: Mapping[str, str] | None = None,
        order: Sequence[str] = ("namespace", "name"),
        offset: int = 0,
        limit: int = 50,
    ) -> builtins.list[Row]:
        """One page of rows (summary columns, no model parsed): of one namespace or all, whose name starts with
        ``name_prefix`` and whose labels include every ``labels`` pair, sorted by ``order`` (``namespace``,
        ``name``, ``uid``, ``resource_version`` or a summary column; ``-`` first for descending; ties broken by
        namespace and name), ``limit`` rows from ``offset``. Raises ValueError for an order that is not an
        identifier or a negative offset or limit."""
        if offset < 0 or limit < 0:
            raise ValueError(f"offset and limit must not be negative, got {offset!r}, {limit!r}")
        where, args = self._where(namespace)
        if name_prefix:
            where += " AND o.name >= ? AND o.name < ?"
            args += [name_prefix, name_prefix + "\U0010ffff"]
        for key, value in (labels or {}).items():
            where += " AND EXISTS (SELECT 1 FROM labels l WHERE l.object = o.id AND l.key = ? AND l.value = ?)"
            args += [key, value]
        terms = []
        for term in (*order, "namespace", "name"):
            column = _check_identifier(term.removeprefix("-"), "an order")
            direction = " DESC" if term.startswith("-") else ""
            if column in ("namespace", "name", "uid", "resource_version"):
                terms.append(f"o.{column}{direction}")
            else:
                terms.append(f"json_extract(o.summary, '$.{column}'){direction}")
        with self._connection() as db:
            if db is None:
                return []
            rows = db.execute(
                "SELECT o.namespace, o.name, o.uid, o.resource_version, o.problems, o.summary FROM objects o"
                f" WHERE {where} ORDER BY {', '.join(terms)} LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [Row(ns, name, uid, rv, problems, json.loads(summary)) for ns, name, uid, rv, problems, summary in rows]

    def counts(self, column: str = "namespace") -> dict[str, int]:
        """How many objects there are per value of ``column`` (``namespace`` or a summary column), from the
        counts table the writer keeps in each change's transaction (no scan); values with none are left out."""
        facet = "namespace" if column == "namespace" else f"column.{column}"
        with self._connection() as db:
            if db is None:
                return {}
            rows = db.execute(
                "SELECT value, n FROM counts WHERE cluster = ? AND kind = ? AND facet = ? AND n > 0 ORDER BY value",
                (self.cluster, self.kind, facet),
            ).fetchall()
        return {value: int(n) for value, n in rows}


class SqliteStore(_SqliteReads[T]):
    """The writer of one kind of one cluster in a SQLite file (WAL, ``synchronous=NORMAL``).

    ``path``: the file (created, or rebuilt when stamped with another :data:`SCHEMA_VERSION`); the stores of a
    process that share a file (its kinds and clusters) share one connection (one page cache, one writer), opened
    by the first and closed with the last. ``model``: the kind's class, to parse documents back. ``columns``:
    the summary columns of an object (``{name: value}``: names are identifiers), stored with it and counted;
    None for none. ``digest``: the caller's bytes for an object (:data:`Digest`), stored with it; None for none.
    Raises sqlite3.Error when the file cannot be opened or written."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        cluster: str,
        kind: str,
        model: type[T],
        columns: Columns | None = None,
        digest: Digest | None = None,
        lru_size: int = LRU_SIZE,
    ) -> None:
        self.path = Path(path)
        self.cluster, self.kind, self._model, self._columns = cluster, kind, model, columns
        self._digest = digest
        self._lru, self._lru_lock, self._lru_size = OrderedDict(), threading.Lock(), lru_size
        self._shared = _Shared.open(self.path)
        self._lock = self._shared.lock
        self._db = self._shared.db
        self._closed = False

    @staticmethod
    def reader(
        path: str | os.PathLike[str], cluster: str, kind: str, model: type[T], *, lru_size: int = LRU_SIZE
    ) -> SqliteReader[T]:
        """A read-only view of the file for another process (or thread): see :class:`SqliteReader`."""
        return SqliteReader(path, cluster, kind, model, lru_size=lru_size)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection | None]:
        with self._lock:
            yield self._db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Let go of the shared connection (closed with the last store of the file; idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._shared.release()

    # ----- writing ----------------------------------------------------------------------

    def _summary(self, obj: T) -> dict[str, str]:
        if self._columns is None:
            return {}
        summary = {_check_identifier(str(k), "a summary column"): str(v) for k, v in self._columns(obj).items()}
        return summary

    def _put(self, db: sqlite3.Connection, obj: T, deltas: Counter[tuple[str, str]]) -> None:
        namespace, name = _key(obj)
        summary = self._summary(obj)
        self._forget_counts(db, namespace, name, deltas)
        # The document the client decoded when it kept it (obj.source: a LIST page, a watch event), else the model
        # serialized again (a write's answer through observe()): the same JSON, a third of the CPU.
        source = obj.source
        document = _dumps(_compact_managed_fields(obj.to_dict() if source is None else source))
        (object_id,) = db.execute(
            _UPSERT,
            (
                self.cluster,
                self.kind,
                namespace,
                name,
                obj.metadata.uid or "",
                obj.metadata.resource_version or "",
                "; ".join(obj.problems),
                json.dumps(summary, separators=(",", ":")),
            ),
        ).fetchone()
        db.execute("INSERT OR REPLACE INTO documents VALUES (?, ?)", (object_id, zlib.compress(document, ZLIB_LEVEL)))
        if self._digest is not None:
            try:
                digest = self._digest(obj)
            except Exception:  # the caller's bug with one object must not keep the whole kind out of the store
                log.exception("store %s/%s: no digest for %s/%s", self.cluster, self.kind, namespace, name)
                db.execute("DELETE FROM digests WHERE id = ?", (object_id,))
            else:
                db.execute("INSERT OR REPLACE INTO digests VALUES (?, ?)", (object_id, digest))
        db.execute("DELETE FROM labels WHERE object = ?", (object_id,))
        db.executemany(
            "INSERT INTO labels VALUES (?, ?, ?)", [(object_id, k, v) for k, v in (obj.metadata.labels or {}).items()]
        )
        for facet in _facets(namespace, summary):
            deltas[facet] += 1

    def _forget_counts(
        self, db: sqlite3.Connection, namespace: str, name: str, deltas: Counter[tuple[str, str]]
    ) -> int | None:
        """Take the stored object's contribution out of ``deltas``; its id, or None when there is none."""
        old = db.execute(
            "SELECT id, summary FROM objects WHERE cluster = ? AND kind = ? AND namespace = ? AND name = ?",
            (self.cluster, self.kind, namespace, name),
        ).fetchone()
        if old is None:
            return None
        for facet in _facets(namespace, json.loads(old[1])):
            deltas[facet] -= 1
        return int(old[0])

    def _remove(self, db: sqlite3.Connection, namespace: str, name: str, deltas: Counter[tuple[str, str]]) -> bool:
        object_id = self._forget_counts(db, namespace, name, deltas)
        if object_id is None:
            return False
        db.execute("DELETE FROM labels WHERE object = ?", (object_id,))
        db.execute("DELETE FROM documents WHERE id = ?", (object_id,))
        db.execute("DELETE FROM digests WHERE id = ?", (object_id,))
        db.execute("DELETE FROM objects WHERE id = ?", (object_id,))
        return True

    def _add_counts(self, db: sqlite3.Connection, deltas: Counter[tuple[str, str]]) -> None:
        db.executemany(
            "INSERT INTO counts VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (cluster, kind, facet, value) DO UPDATE SET n = n + excluded.n",
            [(self.cluster, self.kind, f, v, d) for (f, v), d in deltas.items() if d],
        )
        db.execute("DELETE FROM counts WHERE cluster = ? AND kind = ? AND n <= 0", (self.cluster, self.kind))

    def _write_state(self, db: sqlite3.Connection, state: SyncState) -> None:
        db.execute(
            f"INSERT OR REPLACE INTO sync_state (cluster, kind, {_STATE_COLUMNS}, pid, written_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.cluster,
                self.kind,
                int(state.synced),
                int(state.healthy),
                state.error,
                state.error_kind,
                state.last_sync,
                state.generation,
                state.restarts,
                state.relists,
                state.resource_version,
                os.getpid(),
                time.time(),
            ),
        )

    def replace(self, items: Iterable[T], state: SyncState) -> None:
        """A whole LIST in one transaction: the kind's rows, labels, documents and counts replaced."""
        with self._transaction() as db:
            scope = (self.cluster, self.kind)
            owned = "SELECT id FROM objects WHERE cluster = ? AND kind = ?"
            db.execute(f"DELETE FROM labels WHERE object IN ({owned})", scope)
            db.execute(f"DELETE FROM documents WHERE id IN ({owned})", scope)
            db.execute(f"DELETE FROM digests WHERE id IN ({owned})", scope)
            db.execute("DELETE FROM objects WHERE cluster = ? AND kind = ?", scope)
            db.execute("DELETE FROM counts WHERE cluster = ? AND kind = ?", scope)
            deltas: Counter[tuple[str, str]] = Counter()
            for obj in items:
                self._put(db, obj, deltas)
            self._add_counts(db, deltas)
            self._write_state(db, state)

    def apply(self, event: EventType, obj: T, state: SyncState) -> None:
        """One watch event in one transaction: the row, its labels, document and counts, and the state."""
        deltas: Counter[tuple[str, str]] = Counter()
        with self._transaction() as db:
            if event is EventType.DELETED:
                self._remove(db, *_key(obj), deltas)
            else:
                self._put(db, obj, deltas)
            self._add_counts(db, deltas)
            self._write_state(db, state)

    def delete(self, namespace: str, name: str, state: SyncState) -> bool:
        deltas: Counter[tuple[str, str]] = Counter()
        with self._transaction() as db:
            if not self._remove(db, namespace, name, deltas):
                return False
            self._add_counts(db, deltas)
            self._write_state(db, state)
        return True

    def set_state(self, state: SyncState) -> None:
        with self._transaction() as db:
            self._write_state(db, state)

    def generation(self) -> int:
        """The state row's generation (0 before any): the writer's own count of changes."""
        state = self.state()
        return 0 if state is None else state.generation


def unconfirm(path: str | os.PathLike[str]) -> int:
    """Mark every kind's sync state in the file at ``path`` not healthy (keeping what it holds and where its watch
    stood): what a writer taking over a file does before it resumes the watches, so that readers do not take a
    dead writer's last word for a live watch (each kind turns healthy again when its new watch connects). Returns
    how many kinds it marked; 0 when there is no file of this schema. Raises sqlite3.Error when the file cannot be
    written."""
    if not Path(path).exists():
        return 0
    db = _connect(Path(path))
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            return 0
        return int(db.execute("UPDATE sync_state SET healthy = 0 WHERE healthy != 0").rowcount)
    finally:
        db.close()


class _Shared:
    """The one writing connection of a process to a file, and the lock its stores take turns with."""

    _open: ClassVar[dict[Path, _Shared]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path, self.db, self.lock = path, _open_writer(path), threading.RLock()
        self.users = 0

    @classmethod
    def open(cls, path: Path) -> _Shared:
        key = path.resolve()
        with cls._registry_lock:
            shared = cls._open.get(key)
            if shared is None:
                shared = cls._open[key] = _Shared(key)
            shared.users += 1
            return shared

    def release(self) -> None:
        with _Shared._registry_lock:
            self.users -= 1
            if self.users > 0 or _Shared._open.get(self.path) is not self:
                return
            del _Shared._open[self.path]
        with self.lock:
            self.db.close()


def _open_writer(path: Path) -> sqlite3.Connection:
    """The file opened for writing in WAL mode, created with the schema, or deleted and created again when it
    carries another stamp (or is not a database)."""
    db = _connect(path)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError:  # not a database at all: a cache may be dropped
        version, tables = -1, -1
    if version == SCHEMA_VERSION:
        return db
    if version != 0 or tables != 0:
        db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        db = _connect(path)
    # IF NOT EXISTS throughout: another writer (a store of another kind) may be creating it at the same moment.
    schema = _SCHEMA.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS").replace(
        "CREATE INDEX", "CREATE INDEX IF NOT EXISTS"
    )
    db.executescript(f"BEGIN IMMEDIATE; {schema}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
    return db


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    return db


class SqliteReader(_SqliteReads[T]):
    """A read-only view of one kind of one cluster in a file a :class:`SqliteStore` writes, for any process.

    Each thread reads through one connection per file (``mode=ro``, ``query_only``, no mmap), shared by the readers
    of every kind and cluster in that file. A file that does not exist yet, or
    carries another :data:`SCHEMA_VERSION`, reads as an empty, unsynced store (``state()`` None) until a writer has
    (re)built it; a file the writer replaced (a new inode) is reopened on the next read."""

    def __init__(
        self, path: str | os.PathLike[str], cluster: str, kind: str, model: type[T], *, lru_size: int = LRU_SIZE
    ) -> None:
        self.path = Path(path)
        self.cluster, self.kind, self._model = cluster, kind, model
        self._lru, self._lru_lock, self._lru_size = OrderedDict(), threading.Lock(), lru_size
        self._resolved = self.path.resolve()
        self._local = threading.local()  # this reader's view through this thread's connection: inode, state
        # digests(): the decoded digests by key with their resourceVersion, and the list as of a generation.
        self._digest_lock = threading.Lock()
        self._decoded: dict[Key, tuple[str, Any]] = {}
        self._digest_list: tuple[int, int, builtins.list[Any]] | None = None  # (inode, generation, decoded)

    def _open(self) -> sqlite3.Connection | None:
        entry = _thread_connection(self._resolved)
        if entry is None:
            return None
        db, inode = entry
        local = self._local
        if getattr(local, "inode", None) != inode:
            local.inode, local.data_version, local.state = inode, None, None
        return db

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection | None]:
        db = self._open()
        try:
            if db is not None and db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                db = None  # being rebuilt: read nothing rather than misread
        except sqlite3.DatabaseError:
            db = None
        yield db

    def generation(self) -> int:
        """The writer's generation (grows by one on every change; 0 before any). Cheap when nothing changed:
        ``PRAGMA data_version`` only, the state row when another connection has committed since."""
        state = self.current_state()
        return 0 if state is None else state.generation

    def current_state(self) -> SyncState | None:
        """:meth:`state`, read again only when another connection has committed since this thread last asked
        (``PRAGMA data_version``): what a page may ask many times per request."""
        with self._connection() as db:
            if db is None:
                return None
            (data_version,) = db.execute("PRAGMA data_version").fetchone()
            local = self._local
            if data_version != local.data_version:
                local.data_version, local.state = data_version, self._state(db)
            state: SyncState | None = local.state
            return state

    def digests(self, decode: Callable[[bytes], D]) -> builtins.list[tuple[Key, D]]:
        """Every object's (namespace, name) and digest (``SqliteStore(digest=...)``) decoded, in (namespace, name)
        order; objects stored without one are left out. Decodes only what changed since the last call: the
        decoded digests are kept by (namespace, name) and resourceVersion (the same ``decode`` must be passed
        every time), and the whole list is returned again as long as the writer's generation has not moved.
        Memory: one decoded digest per object, in this reader."""
        generation = self.generation()
        with self._connection() as db:
            if db is None:
                return []
            inode = self._local.inode
            with self._digest_lock:
                remembered = self._digest_list
                if remembered is not None and remembered[:2] == (inode, generation):
                    return list(remembered[2])
            db.execute("BEGIN")  # the rows and their digests as of one moment
            try:
                rows = db.execute(
                    "SELECT o.id, o.namespace, o.name, o.resource_version FROM objects o"
                    " WHERE o.cluster = ? AND o.kind = ? ORDER BY o.namespace, o.name",
                    (self.cluster, self.kind),
                ).fetchall()
                with self._digest_lock:
                    known = self._decoded
                stale = [row[0] for row in rows if (hit := known.get((row[1], row[2]))) is None or hit[0] != row[3]]
                blobs: dict[int, bytes] = {}
                for start in range(0, len(stale), 500):
                    chunk = stale[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    blobs.update(db.execute(f"SELECT id, digest FROM digests WHERE id IN ({marks})", chunk).fetchall())
            finally:
                db.execute("COMMIT")
        decoded: dict[Key, tuple[str, Any]] = {}
        items: builtins.list[tuple[Key, D]] = []
        for object_id, namespace, name, resource_version in rows:
            key = (namespace, name)
            hit = known.get(key)
            if hit is None or hit[0] != resource_version:
                blob = blobs.get(object_id)
                if blob is None:
                    continue
                hit = (resource_version, decode(blob))
            decoded[key] = hit
            items.append((key, hit[1]))
        with self._digest_lock:
            self._decoded = decoded
            self._digest_list = (inode, generation, items)
        return list(items)

    def close(self) -> None:
        """Close this thread's connection to the file (other readers of it in this thread open it again when they
        next read; other threads' close with their threads)."""
        table: dict[Path, tuple[sqlite3.Connection, int]] | None = getattr(_THREAD_CONNECTIONS, "by_path", None)
        entry = table.pop(self._resolved, None) if table is not None else None
        if entry is not None:
            entry[0].close()


_THREAD_CONNECTIONS = threading.local()
"""Per thread, ``by_path``: {resolved path: (read-only connection, the file's inode)}. The readers of one file in one
thread (every kind of every cluster) share one connection: one page cache each, not one per kind."""
READER_CACHE_KIB = 1024
"""SQLite's own page cache per reading connection (``PRAGMA cache_size``); the OS caches the file too."""


def _thread_connection(path: Path) -> tuple[sqlite3.Connection, int] | None:
    """This thread's read-only connection to ``path`` and the file's inode, opened (again, when the writer replaced
    the file) on demand; None when there is no file or it cannot be opened."""
    try:
        inode = os.stat(path).st_ino
    except FileNotFoundError:
        return None
    table: dict[Path, tuple[sqlite3.Connection, int]] | None = getattr(_THREAD_CONNECTIONS, "by_path", None)
    if table is None:
        table = _THREAD_CONNECTIONS.by_path = {}
    entry = table.get(path)
    if entry is not None and entry[1] == inode:
        return entry
    if entry is not None:
        entry[0].close()
        del table[path]
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA query_only = 1")
        db.execute("PRAGMA mmap_size = 0")
        db.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
    except sqlite3.Error:
        return None
    table[path] = (db, inode)
    return table[path]
