"""The Kubernetes clusters the console talks to, and their shared watch caches.

One :class:`Cluster` per configured cluster, built on first use and kept for the life of
the process: one clientset (one connection pool) and one informer per kind, so every page
and every status poll of every user reads the same in-memory store.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from emqx.cache import Cache, CacheState, Informer
from emqx.client.clientset import SUPPORTED_VERSIONS, Clientset
from emqx.client.resource import ResourceClient
from emqx.discovery import GroupInfo, operator_line
from emqx.errors import ClusterUnreachable, ConfigurationError, EmqxClientError, UnknownKind
from emqx.rest import Timeouts

log = logging.getLogger(__name__)

# A page must never hang on a dead cluster: connect fast, give up reads early.
CONSOLE_TIMEOUTS = Timeouts(connect=3.0, read=10.0, watch_margin=15.0, credentials=10.0)
FIELD_MANAGER = "emqx-console"
# How long a page waits for a cold cache before rendering what it has (with a banner).
FIRST_SYNC_WAIT_S = 5.0


@dataclass(frozen=True)
class ClusterConfig:
    name: str
    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool = False


def configured_clusters() -> list[ClusterConfig]:
    """From settings.CONSOLE_CLUSTERS (a list of dicts), else the single default cluster."""
    declared = getattr(settings, "CONSOLE_CLUSTERS", None)
    if declared:
        return [ClusterConfig(**c) for c in declared]
    return [
        ClusterConfig(
            name="default",
            kubeconfig=settings.CONSOLE_KUBECONFIG,
            context=settings.CONSOLE_KUBE_CONTEXT,
            in_cluster=settings.CONSOLE_IN_CLUSTER,
        )
    ]


class Cluster:
    """A configured cluster: its clientset and its informers, created lazily."""

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.name = config.name
        # Held only for a few lines, never across a network call or a subprocess.
        self._lock = threading.Lock()
        self._building = threading.Lock()
        self._clientset: Clientset | None = None
        self._informers: dict[str, Cache[Any]] = {}
        # Every informer this cluster creates passes through the table's setdefault() before it
        # starts: the one place to attach listeners (the condition timeline) without missing an event.
        self._informers = _InformerTable(self)
        self._starting: dict[str, threading.Thread] = {}
        self._start_failures: dict[str, tuple[float, str, str]] = {}
        self._warning_events: Any = None
        self._closed = False

    @property
    def clientset(self) -> Clientset:
        """Raises emqx.errors.ConfigurationError when the kubeconfig is missing or broken, or its
        credential plugin does not answer within CONSOLE_TIMEOUTS.credentials.

        Built under ``_building``, never under ``_lock``: loading a kubeconfig runs its credential
        plugin, and ``_lock`` is what every page's header takes (health(), peek()), so one
        cluster's slow plugin must not freeze the pages of the others or this one's header."""
        clientset = self._clientset
        if clientset is not None:
            return clientset
        with self._building:
            if self._clientset is None:
                if self.config.in_cluster:
                    built = Clientset.in_cluster(field_manager=FIELD_MANAGER, timeouts=CONSOLE_TIMEOUTS)
                else:
                    built = Clientset.from_kubeconfig(
                        self.config.kubeconfig,
                        context=self.config.context,
                        field_manager=FIELD_MANAGER,
                        timeouts=CONSOLE_TIMEOUTS,
                    )
                with self._lock:
                    self._clientset = built
            return self._clientset

    def clientset_for(self, user: Any) -> Clientset:
        """The clientset to act with for ``user``: the console's own identity, or in
        impersonation mode (CONSOLE_IMPERSONATE) the user's, so the cluster's RBAC applies."""
        from console import impersonation

        return impersonation.clientset_for(self.clientset, user)

    def cache(self, kind: str, wait: float = FIRST_SYNC_WAIT_S) -> Cache[Any]:
        """The shared cache of every ``kind`` object in the cluster, started on first use, in the
        best version that the cluster serves and the kind's admin handles (discovered once);
        waits up to ``wait`` seconds for its first LIST (pages that have nothing else to show).
        Raises UnknownKind when the cluster serves none of them, ClusterUnreachable or
        ConfigurationError when it cannot be asked."""
        with self._lock:
            informer = self._informers.get(kind)
        if informer is None:
            created = self._new_cache(kind)
            with self._lock:
                informer = self._informers.setdefault(kind, created)
            if informer is created:
                created.start()
        if wait > 0:
            informer.wait_for_sync(wait)
        return informer

    def _new_cache(self, kind: str) -> Cache[Any]:
        """An informer of this process's own, or with a shared cache (console.sharedcache) a reader of the
        pod's writer. Same errors as :meth:`kind_client`."""
        client = self.kind_client(kind)
        from console import sharedcache

        shared = sharedcache.shared()
        if shared is not None:
            return shared.lister(self.name, kind, client.resource)
        return Informer(client, name=f"{self.name}/{kind}")

    def kind_client(self, kind: str) -> ResourceClient[Any]:
        """The console's own client of ``kind`` in all namespaces, in the served version."""
        return self.clientset.for_kind(kind, None, version=self.served_version(kind))

    def discovered(self) -> GroupInfo | None:
        """What discovery already found of this cluster's apps.emqx.io group, or None: never a request,
        and never builds the clientset (a kubeconfig's credential plugin may be slow), so pages may
        ask it on every request (the navigation, the dashboards, a form)."""
        clientset = self._clientset
        return clientset.discovery.cached() if clientset is not None else None

    def operator_line(self) -> str | None:
        """The emqx-operator line of the cluster's CRDs ("2.3", "3.0" ...: emqx.discovery.operator_line),
        from :meth:`discovered`; None while not discovered yet."""
        info = self.discovered()
        return operator_line(info) if info is not None else None

    def served_version(self, kind: str) -> str:
        """The version the console uses for ``kind`` here: the best one the cluster serves of
        those its admin handles (discovery, asked once). Raises UnknownKind when there is none,
        ClusterUnreachable or ConfigurationError when the cluster cannot be asked."""
        from console.registry import site

        admin = site.get(kind)
        handled = admin.versions if admin is not None else SUPPORTED_VERSIONS.get(kind, ())
        best: str | None = self.clientset.discovery.best_version(kind, handled)
        if best is None:
            served = self.clientset.discovery.kind(kind).versions
            raise UnknownKind(
                f"cluster {self.name} serves {kind} in {', '.join(served) or 'no version'}; "
                f"the console handles {', '.join(handled) or 'none'}"
            )
        return best

    def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        """The labels of ``namespace`` (``{}`` for none), read live with the console's own
        credentials; None when they cannot be read (refused, unreachable): then a caller that
        guards production asks for the typed name, to be safe."""
        from urllib.parse import quote

        try:
            data = self.clientset.transport.request_json("GET", f"/api/v1/namespaces/{quote(namespace, safe='')}")
        except EmqxClientError:
            return None
        labels = (data.get("metadata") or {}).get("labels") if isinstance(data, dict) else None
        return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}

    def client_for(self, user: Any, kind: str, namespace: str | None) -> ResourceClient[Any]:
        """A client of ``kind`` in ``namespace`` (None: all) acting for ``user``: the console's
        identity, or the user's in impersonation mode. Same errors as :meth:`served_version`."""
        return self.clientset_for(user).for_kind(kind, namespace, version=self.served_version(kind))

    def close(self) -> None:
        self._closed = True
        if self._warning_events is not None:
            self._warning_events.stop()
        with self._lock:
            informers, self._informers = list(self._informers.values()), {}
            clientset, self._clientset = self._clientset, None
        for informer in informers:
            informer.stop()
        if clientset is not None:
            clientset.close()

    # ----- never waiting: for pages that show many clusters at once (the fleet dashboard) -----

    def peek(self, kind: str) -> CachePeek:
        """The shared cache of ``kind`` as it is right now, without waiting for anything.

        A cache not created yet is created on a background thread (creating one may need
        the network: discovery of the served version), and meanwhile the answer has no
        informer: the page shows the cluster as connecting. A failed creation (cluster
        unreachable during discovery, kind not served, broken kubeconfig) is remembered and
        retried after ``RESTART_AFTER_S``, never in the request."""
        with self._lock:
            informer = self._informers.get(kind)
            if informer is not None:
                return CachePeek(informer, believed=HEALTH.believed(informer))
            failure = self._start_failures.get(kind)
            starting = self._starting.get(kind)
            idle = (starting is None or not starting.is_alive()) and not self._closed
            if idle and (failure is None or time.monotonic() - failure[0] >= RESTART_AFTER_S):
                starting = threading.Thread(
                    target=self._start_cache, args=(kind,), name=f"start-{self.name}/{kind}", daemon=True
                )
                self._starting[kind] = starting
                starting.start()
        if failure is not None:
            return CachePeek(None, error=failure[2], error_kind=failure[1])
        return CachePeek(None)

    def _start_cache(self, kind: str) -> None:
        error: tuple[str, str] | None = None
        try:
            # Both create the informer, start it and wait for its first LIST here, on this
            # background thread; peek() hands the informer out as soon as it exists.
            self.cache(kind)
        except UnknownKind as exc:
            error = ("not-served", str(exc))
        except ConfigurationError as exc:
            error = ("configuration", str(exc))
        except ClusterUnreachable as exc:
            error = ("unreachable", str(exc))
        except EmqxClientError as exc:
            error = ("error", str(exc))
        except Exception as exc:  # never let the starter die silently
            log.exception("cluster %s: cannot start the %s cache", self.name, kind)
            error = ("error", str(exc))
        with self._lock:
            if error is None:
                self._start_failures.pop(kind, None)
            else:
                self._start_failures[kind] = (time.monotonic(), *error)

    def health(self) -> str:
        """'' (nothing started yet), 'ok', 'connecting' or 'unreachable', from the caches
        that already exist: starts nothing and waits for nothing (the header's switcher)."""
        with self._lock:
            states = [HEALTH.believed(i) for i in self._informers.values()]
            failures = [f[1] for f in self._start_failures.values()]
        # One kind failing (even timing out) while another's watch is healthy is that kind's problem.
        unreachable = any(s.error_kind == "unreachable" for s in states) or "unreachable" in failures
        if unreachable and not any(s.healthy for s in states):
            return "unreachable"
        if not states:
            return ""
        if all(s.synced or s.error_kind for s in states):
            return "ok"  # a kind with an error of its own says so on its pages
        return "connecting"

    def warning_events(self) -> Any:
        """The cluster's recent Warning Events about apps.emqx.io objects, polled in the
        background (see console.cluster_events); started on first use, never waits."""
        from console.cluster_events import WarningEvents

        with self._lock:
            if self._warning_events is None and not self._closed:
                self._warning_events = WarningEvents(self).start()
            return self._warning_events


# How long a failed creation of a cache (discovery, configuration) is remembered before peek() tries again.
RESTART_AFTER_S = 10.0


@dataclass(frozen=True)
class CachePeek:
    """A cache as :meth:`Cluster.peek` found it: the informer, or why there is none (yet)."""

    informer: Cache[Any] | None
    error: str = ""
    error_kind: str = ""
    """'not-served', 'configuration', 'unreachable', 'error', or '' (still starting)."""
    believed: CacheState | None = None

    def state(self) -> CacheState | None:
        """The informer's state as pages should believe it (see :class:`_HealthWatch`)."""
        return self.believed


# A cache that was in trouble counts as recovered after this long without trouble: longer
# than the connect timeout, the longest an informer reports itself healthy while retrying.
CONFIRM_RECOVERY_S = CONSOLE_TIMEOUTS.connect + 1.0


class _HealthWatch:
    """What the pages believe about each informer's health.

    emqx.cache.Informer marks itself healthy when it *starts* to reconnect, before the watch
    request is answered, so a dead cluster looks healthy for a moment on every retry (every
    0.2 s when it refuses connections; for the whole connect timeout when nothing answers).
    One thread per informer wakes on every change of its state (``wait_for_change``), so no
    trouble goes unseen; once an informer has been in trouble, it counts as healthy again
    only after ``CONFIRM_RECOVERY_S`` of uninterrupted health. Reads are in memory.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # id(informer) -> (last trouble (error_kind, error) or None, healthy since (monotonic) or None)
        self._records: dict[int, tuple[tuple[str, str] | None, float | None]] = {}

    def believed(self, informer: Cache[Any]) -> CacheState:
        state = informer.state()
        with self._lock:
            record = self._records.get(id(informer))
            if record is None:
                self._records[id(informer)] = self._next(None, state)
                threading.Thread(
                    target=self._follow, args=(weakref.ref(informer), id(informer)), name="health", daemon=True
                ).start()
                return state
            record = self._records[id(informer)] = self._next(record, state)
        trouble = record[0]
        if trouble is not None and state.healthy:
            return dataclasses.replace(state, healthy=False, error_kind=trouble[0], error=trouble[1])
        return state

    @staticmethod
    def _next(
        record: tuple[tuple[str, str] | None, float | None] | None, state: CacheState
    ) -> tuple[tuple[str, str] | None, float | None]:
        trouble, healthy_since = record or (None, None)
        now = time.monotonic()
        if not state.healthy and state.error_kind:
            return (state.error_kind, state.error), None
        if state.healthy:
            healthy_since = healthy_since or now
            if trouble is not None and now - healthy_since >= CONFIRM_RECOVERY_S:
                trouble = None
        return trouble, healthy_since

    def _follow(self, ref: weakref.ref[Cache[Any]], key: int) -> None:
        generation = -1
        while (informer := ref()) is not None:
            generation = informer.wait_for_change(generation, 1.0)
            state = informer.state()
            del informer
            with self._lock:
                self._records[key] = self._next(self._records.get(key), state)
        with self._lock:
            self._records.pop(key, None)


HEALTH = _HealthWatch()


class _InformerTable(dict[str, Cache[Any]]):
    """A cluster's informers by kind. New ones arrive through setdefault() (under the
    cluster's lock, before they start), where the condition timeline attaches its listener."""

    def __init__(self, cluster: Cluster, hook: Callable[[str, str, Informer[Any]], None] | None = None) -> None:
        super().__init__()
        self._cluster_name = cluster.name
        self._hook = hook

    def setdefault(self, kind: str, informer: Cache[Any]) -> Cache[Any]:
        # A Lister reads another process's informer: the timeline listens in that process (console.sharedcache).
        if kind not in self and isinstance(informer, Informer):
            if self._hook is None:
                from console.timeline import informer_created

                self._hook = informer_created
            self._hook(self._cluster_name, kind, informer)
        return super().setdefault(kind, informer)


_clusters: dict[str, Cluster] = {}
_clusters_lock = threading.Lock()


def get_cluster(name: str) -> Cluster | None:
    """The configured cluster called ``name``, or None when there is no such cluster."""
    with _clusters_lock:
        if not _clusters:
            for config in configured_clusters():
                _clusters[config.name] = Cluster(config)
        return _clusters.get(name)


def cluster_names() -> list[str]:
    return [c.name for c in configured_clusters()]


def reset() -> None:
    """Forget every cluster (after a settings change, and between tests)."""
    from console import sharedcache

    with _clusters_lock:
        clusters = list(_clusters.values())
        _clusters.clear()
    sharedcache.reset()
    for cluster in clusters:
        cluster.close()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONSOLE_"):
        reset()


__all__ = ["Cluster", "ClusterConfig", "EmqxClientError", "cluster_names", "get_cluster", "reset"]
