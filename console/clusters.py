"""The Kubernetes clusters the console talks to, and their shared watch caches.

One :class:`Cluster` per configured cluster, built on first use and kept for the life of
the process: one clientset (one connection pool) and one informer per kind, so every page
and every status poll of every user reads the same in-memory store.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from emqx.cache import CacheState, Informer
from emqx.client.clientset import Clientset
from emqx.errors import EmqxClientError
from emqx.models.apps_v2beta1 import EMQX
from emqx.rest import Timeouts

# A page must never hang on a dead cluster: connect fast, give up reads early.
CONSOLE_TIMEOUTS = Timeouts(connect=3.0, read=10.0, watch_margin=15.0)
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
        self._lock = threading.Lock()
        self._clientset: Clientset | None = None
        self._informers: dict[str, Informer[Any]] = {}

    @property
    def clientset(self) -> Clientset:
        """Raises emqx.errors.ConfigurationError when the kubeconfig is missing or broken."""
        with self._lock:
            if self._clientset is None:
                if self.config.in_cluster:
                    self._clientset = Clientset.in_cluster(field_manager=FIELD_MANAGER, timeouts=CONSOLE_TIMEOUTS)
                else:
                    self._clientset = Clientset.from_kubeconfig(
                        self.config.kubeconfig,
                        context=self.config.context,
                        field_manager=FIELD_MANAGER,
                        timeouts=CONSOLE_TIMEOUTS,
                    )
            return self._clientset

    def emqx_cache(self) -> Informer[EMQX]:
        """The shared cache of every EMQX (v2beta1) in the cluster, started on first use."""
        with self._lock:
            informer = self._informers.get("EMQX")
        if informer is None:
            created: Informer[EMQX] = Informer(self.clientset.apps_v2beta1.emqxes(None), name=f"{self.name}/EMQX")
            with self._lock:
                informer = self._informers.setdefault("EMQX", created)
            if informer is created:
                created.start()
        informer.wait_for_sync(FIRST_SYNC_WAIT_S)
        return informer

    def emqx_state(self) -> CacheState:
        return self.emqx_cache().state()

    def close(self) -> None:
        with self._lock:
            informers, self._informers = list(self._informers.values()), {}
            clientset, self._clientset = self._clientset, None
        for informer in informers:
            informer.stop()
        if clientset is not None:
            clientset.close()


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
    with _clusters_lock:
        clusters = list(_clusters.values())
        _clusters.clear()
    for cluster in clusters:
        cluster.close()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONSOLE_"):
        reset()


__all__ = ["Cluster", "ClusterConfig", "EmqxClientError", "cluster_names", "get_cluster", "reset"]
