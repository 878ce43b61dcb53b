"""A shared, in-process watch cache (client-go's informer + lister, in small).

One :class:`Informer` per kind per cluster LISTs once, then WATCHes, and keeps every object
of the kind in memory, parsed into models once per change. Readers (the console's pages and
status polls) take from the store and cause **no** API request, however many of them poll.

* The watch resumes from its last resourceVersion when the server ends it; on ``410 Gone``
  the client's :class:`~emqx.client.watch.Watch` relists and reports the difference.
* When the cluster cannot be reached the store keeps the last known state, ``healthy``
  turns False with the reason, and the informer retries with capped exponential backoff.
* ``generation`` grows by one on every change, so a reader can tell cheaply whether
  anything moved since it last looked; ``wait_for_change`` blocks until it does.
* Cached objects carry ``metadata.managedFields`` in a compact form: who wrote through which
  apiVersion, and the top-level parts each owns, but not which fields (read the live object
  for those): ResourceClient.with_compact_managed_fields.
* The objects live in a :class:`~emqx.store.Store`: a dict in this process by default, or a SQLite file
  (:class:`~emqx.store.SqliteStore`) that other processes read; the informer keeps nothing per object
  itself. A store that already holds a synced kind (a file a previous writer left) is resumed from: the
  watch starts from its resourceVersion, and a ``410 Gone`` relists and applies the difference.
"""

from __future__ import annotations

import builtins
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from emqx.client.resource import ResourceClient
from emqx.client.watch import EventType, Watch
from emqx.errors import ApiError, ClusterUnreachable, EmqxClientError
from emqx.models._base import Resource
from emqx.store import MemoryStore, SqliteReader, Store, SyncState

__all__ = ["Cache", "CacheState", "Informer", "Lister"]

log = logging.getLogger(__name__)

T = TypeVar("T", bound=Resource)
D = TypeVar("D")
Key = tuple[str, str]  # (namespace, name)

_BACKOFF_START_S = 0.2
_SERIALS = itertools.count(1)
_BACKOFF_MAX_S = 5.0


@dataclass(frozen=True, slots=True)
class CacheState:
    """What a page needs to know about the cache behind it."""

    synced: bool
    """The first LIST has completed: the store holds the whole kind (maybe stale)."""
    healthy: bool
    """The watch is connected; False while the cluster is unreachable or refusing."""
    error: str
    """Why it is not healthy ('' when it is)."""
    error_kind: str
    """'unreachable', 'forbidden', 'unauthorized', 'error' or ''."""
    last_sync: float | None
    """time.time() of the last event or successful (re)connection."""
    generation: int
    restarts: int = 0
    """Times the LIST+WATCH failed (the cluster unreachable, an API error) and was started again."""
    relists: int = 0
    """LISTs of the whole kind after the first (a resourceVersion no longer good)."""


def _cache_state(saved: SyncState) -> CacheState:
    """What a page needs to know, from the state as a store keeps it (the watch's resourceVersion left out)."""
    return CacheState(
        synced=saved.synced,
        healthy=saved.healthy,
        error=saved.error,
        error_kind=saved.error_kind,
        last_sync=saved.last_sync,
        generation=saved.generation,
        restarts=saved.restarts,
        relists=saved.relists,
    )


def _error_kind(error: BaseException) -> str:
    from emqx.errors import Forbidden, NotFound, Unauthorized

    if isinstance(error, ClusterUnreachable):
        return "unreachable"
    if isinstance(error, Forbidden):
        return "forbidden"
    if isinstance(error, Unauthorized):
        return "unauthorized"
    if isinstance(error, NotFound):
        return "not-served"
    return "error"


class Informer(Generic[T]):
    """Keeps every object of one kind (all namespaces, or one) in memory, current.

    ``client`` is a resource client for all namespaces (``cs.apps_v2beta1.emqxes(None)``).
    ``store`` holds the objects (default: a new :class:`~emqx.store.MemoryStore`); the informer is
    its only writer. Call :meth:`start` once; readers use :meth:`list`, :meth:`get`, :meth:`state`.
    ``list_gate``: a semaphore the informers of one process share so that only so many LIST a whole kind into a
    store of their own at once (the writer of a shared cache: its memory's high-water mark is the pages in flight).
    """

    def __init__(
        self,
        client: ResourceClient[T],
        *,
        name: str = "",
        store: Store[T] | None = None,
        list_gate: threading.Semaphore | None = None,
    ) -> None:
        # managedFields without their field sets: those are a fifth of the cache's memory and
        # nothing reads them from it (client-go's informers drop managedFields whole).
        self._client = client.with_compact_managed_fields()
        self.name = name or f"{client.resource.kind}"
        self.serial = next(_SERIALS)
        """Unique in the process, never reused (unlike id()): with ``generation``, names a state of
        this store for readers that remember what they computed from it."""
        self._store: Store[T] = MemoryStore() if store is None else store
        self._list_gate = list_gate
        if not isinstance(self._store, MemoryStore):
            # A store that writes documents writes the ones the client decoded instead of serializing each
            # model again; it keeps no model, so nothing holds them past the page or the event.
            self._client = self._client.with_source_documents()
        self._lock = threading.Condition()
        self._generation = 0
        self._synced = False
        self._healthy = False
        self._error = ""
        self._error_kind = ""
        self._last_sync: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch: Watch[T] | None = None
        self._resource_version: str | None = None
        self._listeners: list[Callable[[EventType, T], None]] = []
        self._restarts = 0
        self._relists = 0
        saved = self._store.state()
        if saved is not None and saved.synced and saved.resource_version:
            # The store holds the whole kind as of that resourceVersion: serve it (maybe stale) and resume.
            self._synced = True
            self._resource_version = saved.resource_version
            self._generation = saved.generation
            self._restarts, self._relists, self._last_sync = saved.restarts, saved.relists, saved.last_sync

    # ----- lifecycle -------------------------------------------------------------------

    def start(self) -> Informer[T]:
        """Start the background LIST+WATCH thread (idempotent)."""
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name=f"informer-{self.name}", daemon=True)
                thread.start()
                self._thread = thread  # published started: stop() may join it from another thread
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        watch = self._watch
        if watch is not None:
            watch.stop()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def wait_for_sync(self, timeout: float) -> bool:
        """Block until the first LIST is in (or ``timeout``); True when synced."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self._synced:
                left = deadline - time.monotonic()
                if left <= 0 or not self._lock.wait(left):
                    return self._synced
            return True

    def wait_for_change(self, generation: int, timeout: float) -> int:
        """Block until the store's generation differs from ``generation`` (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._generation == generation:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            return self._generation

    def add_listener(self, listener: Callable[[EventType, T], None]) -> None:
        """Call ``listener(event_type, obj)`` on the informer's thread after each change."""
        self._listeners.append(listener)

    # ----- reading ---------------------------------------------------------------------

    def state(self) -> CacheState:
        with self._lock:
            return _cache_state(self._sync_state())

    def list(self, namespace: str | None = None) -> list[T]:
        """The cached objects (of one namespace, or all), sorted by namespace and name."""
        return self._store.list(namespace)

    def get(self, namespace: str, name: str) -> T | None:
        return self._store.get(namespace, name)

    @property
    def store(self) -> Store[T]:
        """Where the objects are kept (:mod:`emqx.store`)."""
        return self._store

    def invalid(self) -> dict[Key, str]:
        """Objects the server holds that do not fit the model (written by a newer operator, or
        through another version), by (namespace, name), with the reasons. They stay in the store
        as not-understood objects (``obj.problems``; emqx.models.Resource.read): visible,
        readable as YAML, editable and deletable."""
        return self._store.invalid()

    def _on_invalid(self, raw: Mapping[str, Any], error: Exception) -> None:
        meta = raw.get("metadata")
        if not isinstance(meta, Mapping):
            meta = {}
        log.warning("informer %s: %s/%s: %s", self.name, meta.get("namespace") or "", meta.get("name") or "", error)

    def namespaces(self) -> builtins.list[str]:
        return self._store.namespaces()

    def __len__(self) -> int:
        return len(self._store)

    # ----- writing (the informer's thread, or a writer that knows better) --------------

    def observe(self, obj: T) -> None:
        """Record an object the caller just wrote and got back from the server, so the
        writer's next read sees its own write even before the watch event arrives.
        Ignored when the cache already holds a newer resourceVersion."""
        with self._lock:
            current = self._store.resource_version(obj.metadata.namespace or "", obj.metadata.name or "")
            if current is not None and _newer_or_same(current, obj.metadata.resource_version):
                return
            self._commit(lambda state: self._store.apply(EventType.MODIFIED, obj, state))

    def forget(self, namespace: str, name: str) -> None:
        """Drop an object the caller just deleted."""
        with self._lock:
            self._commit(lambda state: self._store.delete(namespace, name, state))

    def _sync_state(self, generation: int | None = None) -> SyncState:
        """The state as the store records it (call with the lock held)."""
        return SyncState(
            synced=self._synced,
            healthy=self._healthy,
            error=self._error,
            error_kind=self._error_kind,
            last_sync=self._last_sync,
            generation=self._generation if generation is None else generation,
            restarts=self._restarts,
            relists=self._relists,
            resource_version=self._resource_version,
        )

    def _commit(self, write: Callable[[SyncState], object]) -> None:
        """Write a change to the store with the next generation, then publish it (call with the lock
        held). ``write`` returns False when it changed nothing: the generation stays."""
        state = self._sync_state(self._generation + 1)
        if write(state) is False:
            return
        self._generation = state.generation
        self._lock.notify_all()

    def _bump(self) -> None:
        """A change of state only (health): recorded in the store with the new generation."""
        self._commit(self._store.set_state)

    def _count_restart(self) -> None:
        with self._lock:
            self._restarts += 1
            self._store.set_state(self._sync_state())

    def _apply(self, kind: EventType, obj: T, resource_version: str | None) -> None:
        with self._lock:
            self._last_sync = time.time()
            self._resource_version = resource_version
            self._commit(lambda state: self._store.apply(kind, obj, state))
        for listener in self._listeners:
            try:
                listener(kind, obj)
            except Exception:  # a listener's bug must not stop the cache
                log.exception("informer %s: listener failed", self.name)

    def _set_health(self, healthy: bool, error: BaseException | None = None) -> None:
        with self._lock:
            changed = self._healthy != healthy
            self._healthy = healthy
            self._error = "" if error is None else str(error)
            self._error_kind = "" if error is None else _error_kind(error)
            if healthy:
                self._last_sync = time.time()
            if changed:
                self._bump()

    def _replace(self, items: Iterable[T], resource_version: str | None) -> None:
        """A whole LIST into the store, as one change. ``items`` may be fetched as it is consumed (pages): a failure
        on the way leaves the store and the informer as they were, and raises."""
        with self._lock:
            before = (self._resource_version, self._synced, self._last_sync)
            self._resource_version = resource_version
            self._synced = True
            self._last_sync = time.time()
            try:
                self._commit(lambda state: self._store.replace(items, state))
            except BaseException:
                self._resource_version, self._synced, self._last_sync = before
                raise

    def _list_into_store(self) -> None:
        """LIST the whole kind into the store, as one change. A store of its own (a file) takes it page by page:
        one page of models in memory at a time, and none kept once stored (a method of its own, so that no page
        outlives it in the watch loop's frame). With a ``list_gate``, the first page is one object, asked for
        outside the gate (a cluster that does not answer never holds it), the rest within it."""
        if isinstance(self._store, MemoryStore):
            everything = self._client.list_all(on_invalid=self._on_invalid)
            self._replace(everything.items, everything.metadata.resource_version)
            return
        gated = self._list_gate is not None
        pages = self._client.list_pages(on_invalid=self._on_invalid, first_page_size=1 if gated else None)
        first = next(pages)
        resource_version = first.metadata.resource_version

        def items() -> Iterator[T]:
            nonlocal first
            yield from first.items
            del first
            for page in pages:
                yield from page.items

        if self._list_gate is None:
            self._replace(items(), resource_version)
            return
        with self._list_gate:
            self._replace(items(), resource_version)

    def _run(self) -> None:
        backoff = _BACKOFF_START_S
        while not self._stop.is_set():
            try:
                if self._resource_version is None:
                    with self._lock:
                        if self._synced:
                            self._relists += 1
                    self._list_into_store()
                elif not self._healthy:
                    # Resuming after a failure: a watch request says nothing until an event
                    # comes, so ask one small question first rather than claim health blindly.
                    self._client.list(limit=1)
                self._set_health(True)
                backoff = _BACKOFF_START_S
                # Only what the watch needs to diff a relist after 410 Gone (identity and resourceVersion).
                known = self._store.known()
                watch = self._client.watch(
                    resource_version=self._resource_version, known=known, on_invalid=self._on_invalid
                )
                self._watch = watch
                if self._stop.is_set():
                    watch.stop()
                relists = watch.relists
                for event in watch:
                    if event.type is EventType.BOOKMARK:
                        self._resource_version = watch.resource_version
                        continue
                    if watch.relists != relists:  # a 410 Gone: the watch LISTed the kind again
                        with self._lock:
                            self._relists += watch.relists - relists
                        relists = watch.relists
                    self._apply(event.type, event.object, watch.resource_version)
                    if not self._healthy:
                        self._set_health(True)
            except (ApiError, ClusterUnreachable, EmqxClientError) as error:
                if self._stop.is_set():
                    break
                log.info("informer %s: %s; retrying in %.1f s", self.name, error, backoff)
                self._set_health(False, error)
                self._count_restart()
                if not isinstance(error, ClusterUnreachable):
                    # Anything but a transport failure may mean our resourceVersion is no
                    # good any more: start again from a fresh LIST.
                    self._resource_version = None
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)
            except Exception as error:  # never let the cache thread die silently
                log.exception("informer %s: unexpected failure", self.name)
                self._set_health(False, error)
                self._count_restart()
                self._resource_version = None
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)
            finally:
                self._watch = None


def _newer_or_same(a: str | None, b: str | None) -> bool:
    """Whether resourceVersion ``a`` is newer than or the same as ``b``. resourceVersions are opaque
    strings, but etcd's are integers; compare as such when both are."""
    if a and b and a.isdigit() and b.isdigit():
        return int(a) >= int(b)
    return False


# ----- reading another process's informer -------------------------------------------------------------------

READ_YOUR_WRITES_WAIT_S = 2.0
"""How long :meth:`Lister.observe` waits for the writer's watch to store a write the caller just made (the watch
event arrives in milliseconds when the cluster is well); after that the write is shown from this process's memory."""
OVERLAY_KEEP_S = 30.0
"""How long a write the store has not caught up with is shown from this process's memory, at most."""
FILE_POLL_S = 0.05
"""How often one thread per file asks SQLite whether another connection committed (``PRAGMA data_version``)."""


class _FileChanges:
    """One thread per SQLite file in this process that wakes the waiters of :meth:`Lister.wait_for_change` when
    another connection commits to it: one cheap ``PRAGMA data_version`` every :data:`FILE_POLL_S`."""

    _watches: dict[Path, _FileChanges] = {}
    _registry_lock = threading.Lock()

    def __init__(self, reader: SqliteReader[Any]) -> None:
        self.changed = threading.Condition()
        self.count = 0
        self._reader = reader
        threading.Thread(target=self._run, name=f"file-changes-{reader.path.name}", daemon=True).start()

    @classmethod
    def of(cls, path: Path, model: type[Any]) -> _FileChanges:
        key = path.resolve()
        with cls._registry_lock:
            watch = cls._watches.get(key)
            if watch is None:
                watch = cls._watches[key] = _FileChanges(SqliteReader(key, "", "", model))
            return watch

    def _run(self) -> None:
        last: tuple[int, int] | None = None
        while True:
            try:
                with self._reader._connection() as db:
                    version = (
                        None
                        if db is None
                        else (self._reader._local.inode, db.execute("PRAGMA data_version").fetchone()[0])
                    )
            except Exception:  # a file being rebuilt: ask again next time
                version = None
            if version != last:
                last = version
                with self.changed:
                    self.count += 1
                    self.changed.notify_all()
            time.sleep(FILE_POLL_S)


class Lister(Generic[T]):
    """An informer's store read from another process: the same reads as :class:`Informer` (``list``, ``get``,
    ``namespaces``, ``invalid``, ``state``, ``wait_for_sync``, ``wait_for_change``) over a
    :class:`~emqx.store.SqliteReader`, for the worker processes of a pod whose one writer runs the informers
    (client-go's lister, reading an indexer it does not fill). Never a request to the API server.

    ``state()`` is the writer's, as it wrote it in the file (``synced`` False and no error until a writer has
    written one). ``observe()``/``forget()`` give read-your-writes across processes: they wait up to
    :data:`READ_YOUR_WRITES_WAIT_S` for the writer's watch to store the change, then keep it in this process's
    memory until the store has it (at most :data:`OVERLAY_KEEP_S`). ``add_listener`` is refused: events are the
    writer's. ``digests(decode)``: the writer's per-object digests (:meth:`SqliteReader.digests`)."""

    def __init__(self, reader: SqliteReader[T], *, name: str = "") -> None:
        self._reader = reader
        self.name = name or f"{reader.cluster}/{reader.kind}"
        self.serial = next(_SERIALS)
        self._changes = _FileChanges.of(reader.path, reader._model)
        self._overlay_lock = threading.Lock()
        # (namespace, name) -> (the object, or None when deleted; its resourceVersion; monotonic time kept until)
        self._overlay: dict[Key, tuple[T | None, str | None, float]] = {}

    @property
    def store(self) -> SqliteReader[T]:
        return self._reader

    def start(self) -> Lister[T]:
        """Nothing to start: the writer runs the informer (kept for the Informer's interface)."""
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._reader.close()

    def add_listener(self, listener: Callable[[EventType, T], None]) -> None:
        """Raises TypeError: a lister sees no events (listen in the writer's process)."""
        raise TypeError(f"{self.name}: a Lister has no events; listen to the writer's Informer")

    def state(self) -> CacheState:
        return _cache_state(self._reader.current_state() or SyncState())

    def wait_for_change(self, generation: int, timeout: float) -> int:
        """Block until the writer's generation differs from ``generation`` (or ``timeout``); the generation."""
        deadline = time.monotonic() + timeout
        while (now := self.state().generation) == generation:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with self._changes.changed:
                self._changes.changed.wait(min(left, 1.0))
        return now

    def wait_for_sync(self, timeout: float) -> bool:
        """Block until the writer has stored its first LIST (or ``timeout``); True when synced."""
        deadline = time.monotonic() + timeout
        while not self.state().synced:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._changes.changed:
                self._changes.changed.wait(min(left, 1.0))
        return True

    # ----- reads, with this process's own writes the store has not caught up with ----------------

    def _pending(self) -> dict[Key, tuple[T | None, str | None, float]]:
        """The overlay, without what the store has caught up with or what has been kept too long."""
        with self._overlay_lock:
            if not self._overlay:
                return {}
            now = time.monotonic()
            for key, (obj, version, until) in list(self._overlay.items()):
                if now >= until or self._caught_up(key, obj, version):
                    del self._overlay[key]
            return dict(self._overlay)

    def _caught_up(self, key: Key, obj: T | None, version: str | None) -> bool:
        stored = self._reader.resource_version(*key)
        if obj is None:
            return stored is None or stored != version
        return stored is not None and (stored == version or _newer_or_same(stored, version))

    def get(self, namespace: str, name: str) -> T | None:
        pending = self._pending().get((namespace, name))
        if pending is not None:
            return pending[0]
        return self._reader.get(namespace, name)

    def list(self, namespace: str | None = None) -> builtins.list[T]:
        """Every object (of one namespace, or all), parsed (see :meth:`SqliteReader.list`: a list page reads
        :meth:`digests` instead), in (namespace, name) order."""
        items = self._reader.list(namespace)
        pending = self._pending()
        if not pending:
            return items
        merged = {(o.metadata.namespace or "", o.metadata.name or ""): o for o in items}
        for key, (obj, _, _) in pending.items():
            if namespace is not None and key[0] != namespace:
                continue
            if obj is None:
                merged.pop(key, None)
            else:
                merged[key] = obj
        return [merged[key] for key in sorted(merged)]

    def digests(self, decode: Callable[[bytes], D], digest: Callable[[T], D]) -> builtins.list[D]:
        """The writer's digests decoded (:meth:`SqliteReader.digests`), in (namespace, name) order, with this
        process's own pending writes as ``digest(obj)`` gives them (the same shape ``decode`` returns)."""
        items = self._reader.digests(decode)
        pending = self._pending()
        if not pending:
            return [d for _, d in items]
        merged = dict(items)
        for key, (obj, _, _) in pending.items():
            if obj is None:
                merged.pop(key, None)
            else:
                merged[key] = digest(obj)
        return [merged[key] for key in sorted(merged)]

    def namespaces(self) -> builtins.list[str]:
        pending = self._pending()
        found = set(self._reader.namespaces())
        found |= {key[0] for key, (obj, _, _) in pending.items() if obj is not None}
        return sorted(found)

    def invalid(self) -> dict[Key, str]:
        return self._reader.invalid()

    def __len__(self) -> int:
        return len(self._reader)

    # ----- read-your-writes ---------------------------------------------------------------------------

    def observe(self, obj: T) -> None:
        """The caller just wrote ``obj`` and got it back from the server: wait (up to
        :data:`READ_YOUR_WRITES_WAIT_S`) for the writer to store it, else show it from this process meanwhile."""
        key = (obj.metadata.namespace or "", obj.metadata.name or "")
        self._await(key, obj, obj.metadata.resource_version)

    def forget(self, namespace: str, name: str) -> None:
        """The caller just deleted the object: wait for the writer to drop it, else hide it here meanwhile."""
        with self._overlay_lock:
            self._overlay.pop((namespace, name), None)  # a write of ours the store never had is gone with it
        self._await((namespace, name), None, self._reader.resource_version(namespace, name))

    def _await(self, key: Key, obj: T | None, version: str | None) -> None:
        deadline = time.monotonic() + READ_YOUR_WRITES_WAIT_S
        while not self._caught_up(key, obj, version):
            left = deadline - time.monotonic()
            if left <= 0:
                with self._overlay_lock:
                    self._overlay[key] = (obj, version, time.monotonic() + OVERLAY_KEEP_S)
                return
            with self._changes.changed:
                self._changes.changed.wait(min(left, FILE_POLL_S * 2))


Cache = Informer[T] | Lister[T]
"""What a page reads a kind from: this process's :class:`Informer`, or a :class:`Lister` of another process's."""
