"""One watch cache per pod, shared by its worker processes (issue 18: docs/benchmarks.md, "Choosing the store").

Without ``CONSOLE_SHARED_CACHE_DIR`` every process keeps its own caches in memory (emqx.cache.Informer with a
MemoryStore): one LIST and one WATCH per kind per cluster per *process*, and a parsed copy of the fleet in each.
With it (the image's gunicorn.conf.py sets it), the processes that share the directory share one cache:

* **one writer**: the process that holds an exclusive ``flock(2)`` on ``writer.lock`` runs an Informer per kind per
  configured cluster, all kinds the console registers, started as soon as it holds the lock (not on first use: the
  others read what it writes), into one SQLite file in WAL mode (emqx.store.SqliteStore, ``cache.sqlite3``), with
  each object's list summary stored beside it (pickled :class:`console.summaries.Summary`, computed once by the
  kind's admin). It also runs the condition timeline's listener (console.timeline), which needs the events.
* **every process reads** through emqx.cache.Lister (emqx.store.SqliteReader): pages, status polls, dashboards.
  A list page reads the stored summaries (:func:`summaries`), decoded once per change; a detail page parses the one
  object it shows.
* **failover**: every other process waits on the lock in a thread; when the writer's process ends (a worker
  restarted by gunicorn, killed), the kernel releases its lock and one of them becomes the writer, resuming each
  kind's watch from the resourceVersion the file holds (emqx.cache.Informer resumes from a synced store).

The file is a cache, never the truth (emqx.store: stamped, rebuilt on another schema). Pickles are read only from
this file, which the console creates in a directory of its own with mode 0700: no other user can write it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import pickle
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from console.summaries import not_understood_because
from emqx.cache import Informer, Lister
from emqx.errors import EmqxClientError
from emqx.store import SqliteStore, unconfirm

log = logging.getLogger(__name__)

FILE_NAME = "cache.sqlite3"
LOCK_NAME = "writer.lock"
RETRY_S = 10.0
"""How long the writer waits before trying again a kind it could not start (cluster unreachable during discovery,
kind not served, broken kubeconfig)."""


def directory() -> Path | None:
    """``CONSOLE_SHARED_CACHE_DIR`` as a path, or None when this process keeps its caches to itself."""
    configured = getattr(settings, "CONSOLE_SHARED_CACHE_DIR", None)
    return Path(configured) if configured else None


def encode_summary(summary: Any) -> bytes:
    """A :class:`console.summaries.Summary` as the store keeps it (pickle protocol 5)."""
    return pickle.dumps(summary, protocol=5)


def decode_summary(blob: bytes) -> Any:
    """The :class:`console.summaries.Summary` :func:`encode_summary` stored (a file of our own: see the module)."""
    return pickle.loads(blob)


class SharedCache:
    """This process's part in the pod's shared cache: a reader always, the writer while it holds the lock.

    ``path`` is the SQLite file; :attr:`writer` says whether this process writes it now. Created once per process
    (:func:`shared`); the election thread starts at once. Raises OSError when the directory cannot be created."""

    def __init__(self, root: Path) -> None:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.root = root
        self.path = root / FILE_NAME
        self.pid = os.getpid()
        self.writer = False
        self._informers: dict[tuple[str, str], Informer[Any]] = {}
        self._lock = threading.Lock()
        # One kind LISTs into the file at a time: a page of models each in flight is the writer's memory high-water
        # mark, which Python keeps (freed memory stays with the process), and under one GIL they would not be faster.
        self._list_gate = threading.Semaphore(1)
        self._failed: dict[tuple[str, str], float] = {}
        self._stop = threading.Event()
        self._lock_fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._thread = threading.Thread(target=self._elect, name="shared-cache-writer", daemon=True)
        self._thread.start()

    def lister(self, cluster: str, kind: str, model: type[Any]) -> Lister[Any]:
        """A reader of ``kind`` in ``cluster`` (the writer stores it under these names)."""
        return Lister(SqliteStore.reader(self.path, cluster, kind, model), name=f"{cluster}/{kind}")

    def informers(self) -> dict[tuple[str, str], Informer[Any]]:
        """The informers this process runs as the writer, by (cluster, kind); empty in the others."""
        with self._lock:
            return dict(self._informers)

    def _elect(self) -> None:
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)  # blocks while another process writes
        except OSError:
            log.exception("shared cache %s: cannot take the writer's lock; this process only reads", self.root)
            return
        if self._stop.is_set():
            return
        try:
            unconfirm(self.path)  # the previous writer's "healthy" is not this one's: readiness waits for the watches
        except sqlite3.Error:
            log.exception("shared cache %s: cannot mark the previous writer's state unconfirmed", self.root)
        self.writer = True
        log.info("shared cache %s: process %d is the writer", self.root, os.getpid())
        while not self._stop.is_set():
            self._start_missing()
            self._stop.wait(1.0)

    def _start_missing(self) -> None:
        from console.clusters import cluster_names, get_cluster
        from console.registry import site

        for name in cluster_names():
            cluster = get_cluster(name)
            if cluster is None:
                continue
            for admin in site:
                key = (name, admin.kind)
                if key in self._informers or time.monotonic() - self._failed.get(key, -RETRY_S) < RETRY_S:
                    continue
                if self._stop.is_set():
                    return
                try:
                    informer = self._start(cluster, admin)
                    with self._lock:
                        self._informers[key] = informer
                    self._failed.pop(key, None)
                except (EmqxClientError, OSError, sqlite3.Error) as error:
                    log.info("shared cache: cannot watch %s in %s yet: %s", admin.kind, name, error)
                    self._failed[key] = time.monotonic()
                except Exception:  # never let the writer's thread die: the pod would have no writer while it lives
                    log.exception("shared cache: cannot watch %s in %s", admin.kind, name)
                    self._failed[key] = time.monotonic()

    def _start(self, cluster: Any, admin: Any) -> Informer[Any]:
        from console.timeline import informer_created

        client = cluster.kind_client(admin.kind)

        def summarize(obj: Any) -> Any:
            try:
                return admin.summarize(obj)
            except Exception as error:  # one object's surprise must not hide it from every list: shown, not understood
                log.exception("shared cache: cannot summarize %s %s", admin.kind, obj.metadata.name)
                return not_understood_because(obj, f"the console could not read it: {error}")

        store = SqliteStore(
            self.path,
            cluster=cluster.name,
            kind=admin.kind,
            model=client.resource,
            digest=lambda obj: encode_summary(summarize(obj)),
            lru_size=0,  # nothing reads models from the writer's store: pages read through Listers
        )
        informer: Informer[Any] = Informer(
            client, name=f"{cluster.name}/{admin.kind}", store=store, list_gate=self._list_gate
        )
        informer_created(cluster.name, admin.kind, informer)
        return informer.start()

    def close(self) -> None:
        """Stop writing (tests, settings changes): the informers stop, the lock is let go."""
        self._stop.set()
        if self.writer and self._thread is not threading.current_thread():
            self._thread.join(10)  # it may be starting an informer: let it finish, then stop them all
        with self._lock:
            informers, self._informers = list(self._informers.values()), {}
        for informer in informers:
            informer.stop()
            informer.store.close()
        os.close(self._lock_fd)  # releases the lock (and ends a waiting flock with an error)


_shared: SharedCache | None = None
_unusable: Path | None = None
_shared_lock = threading.Lock()


def shared() -> SharedCache | None:
    """This process's :class:`SharedCache`, created on first use; None without ``CONSOLE_SHARED_CACHE_DIR``, or when
    its directory cannot be created or its lock file opened (logged once: the process keeps caches of its own).
    A process forked from one that had it (never gunicorn's workers: created on first use in each) gets its own."""
    global _shared, _unusable
    root = directory()
    if root is None or root == _unusable:
        return None
    with _shared_lock:
        if _shared is None or _shared.pid != os.getpid() or _shared.root != root:
            try:
                _shared = SharedCache(root)
            except OSError:
                # Pages keep working, each process with caches of its own; said once, in the log.
                log.exception("shared cache %s cannot be used; this process keeps its own caches", root)
                _unusable = root
                return None
        return _shared


def reset() -> None:
    """Let go of this process's shared cache (console.clusters.reset: after a settings change, between tests)."""
    global _shared, _unusable
    with _shared_lock:
        old, _shared, _unusable = _shared, None, None
    if old is not None and old.pid == os.getpid():
        old.close()


def summaries(cache: Any, admin: Any) -> list[Any]:
    """Every cached object's :class:`~console.summaries.Summary` of ``admin``'s kind, in (namespace, name) order:
    from the stored summaries of a shared cache (decoded once per change), or summarized here from an in-process
    cache's models (``admin.summarize`` is memoized per object)."""
    if isinstance(cache, Lister):
        return cache.digests(decode_summary, admin.summarize)
    return [admin.summarize(o) for o in cache.list()]
