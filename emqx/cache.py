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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from emqx.client.resource import ResourceClient
from emqx.client.watch import EventType, Watch
from emqx.errors import ApiError, ClusterUnreachable, EmqxClientError
from emqx.models._base import Resource
from emqx.store import MemoryStore, Store, SyncState

__all__ = ["CacheState", "Informer"]

log = logging.getLogger(__name__)

T = TypeVar("T", bound=Resource)
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
    """

    def __init__(self, client: ResourceClient[T], *, name: str = "", store: Store[T] | None = None) -> None:
        # managedFields without their field sets: those are a fifth of the cache's memory and
        # nothing reads them from it (client-go's informers drop managedFields whole).
        self._client = client.with_compact_managed_fields()
        self.name = name or f"{client.resource.kind}"
        self.serial = next(_SERIALS)
        """Unique in the process, never reused (unlike id()): with ``generation``, names a state of
        this store for readers that remember what they computed from it."""
        self._store: Store[T] = MemoryStore() if store is None else store
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
            return CacheState(
                synced=self._synced,
                healthy=self._healthy,
                error=self._error,
                error_kind=self._error_kind,
                last_sync=self._last_sync,
                generation=self._generation,
                restarts=self._restarts,
                relists=self._relists,
            )

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

    def _replace(self, items: builtins.list[T], resource_version: str | None) -> None:
        with self._lock:
            self._resource_version = resource_version
            self._synced = True
            self._last_sync = time.time()
            self._commit(lambda state: self._store.replace(items, state))

    def _run(self) -> None:
        backoff = _BACKOFF_START_S
        while not self._stop.is_set():
            try:
                if self._resource_version is None:
                    with self._lock:
                        if self._synced:
                            self._relists += 1
                    everything = self._client.list_all(on_invalid=self._on_invalid)
                    self._replace(everything.items, everything.metadata.resource_version)
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
