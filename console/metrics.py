"""Prometheus metrics at ``/metrics``: django-prometheus's, and the console's own.

django-prometheus (its middleware, settings.MIDDLEWARE) gives request counts and latency by view
(``django_http_requests_latency_seconds_by_view_method``), responses by status, database and migration
metrics. The console adds, all prefixed ``emqx_console_``:

- per cluster and kind, read from the shared watch caches at scrape time (:class:`CacheCollector`):
  ``cache_objects``, ``cache_synced`` and ``cache_healthy`` (0/1), ``watch_restarts_total`` (the LIST+WATCH
  failed and was started again) and ``relists_total`` (a LIST of the whole kind after the first);
- ``api_requests_total{cluster, verb, code}``: every request to a cluster's API server (verb: the HTTP
  method, WATCH for a watch; code 0: no answer), from emqx.rest's observer hook;
- ``audit_entries_total{action, outcome}``: audit records written: ``attempted`` before each write
  (console.audit.begin), then ``success`` or ``failure`` after it (``finish``); attempted minus the other two are
  outcomes that could not be recorded;
- ``login_failures_total`` and ``lockouts_total``: from Django's ``user_login_failed`` signal and, when
  django-axes is installed, its ``user_locked_out``.

Metrics are per process: gunicorn's workers each keep their own caches and counters, and a scrape is
answered by one of them. The Helm chart therefore runs one worker per pod (threads for concurrency) and
scales with replicas, as each replica is then one scrape target.

Access: with ``CONSOLE_METRICS_TOKEN`` set, ``Authorization: Bearer <token>`` is required (401 without it).
Unset, the endpoint is open in development and answers 404 in production (``CONSOLE_ENV=production``):
metric labels name clusters, which anonymous callers must not learn.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView  # type: ignore[import-untyped]
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from console.clusters import Cluster, cluster_names, get_cluster
from console.models import AuditEntry
from emqx import rest

API_REQUESTS = Counter(
    "emqx_console_api_requests",
    "Requests to a cluster's Kubernetes API server, by verb (HTTP method; WATCH) and status code (0: no answer).",
    ["cluster", "verb", "code"],
)
AUDIT_ENTRIES = Counter(
    "emqx_console_audit_entries",
    "Audit records written, by action and outcome (attempted before the write; success or failure after it).",
    ["action", "outcome"],
)
LOGIN_FAILURES = Counter("emqx_console_login_failures", "Failed log-ins (any log-in form, the admin's included).")
LOCKOUTS = Counter("emqx_console_lockouts", "Log-ins refused because of too many failures (django-axes).")


def _informers(cluster: Cluster) -> dict[str, Any]:
    """The caches a cluster has started, by kind, without starting any (a scrape must not cause API requests).
    Reads Cluster's private table: clusters.py has no public accessor that never starts a cache."""
    table: dict[str, Any] = getattr(cluster, "_informers", {})
    return dict(table)


class CacheCollector(Collector):
    """The shared watch caches of this process, by cluster and kind, read when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        labels = ["cluster", "kind"]
        objects = GaugeMetricFamily("emqx_console_cache_objects", "Objects held in the watch cache.", labels=labels)
        synced = GaugeMetricFamily("emqx_console_cache_synced", "1 once the first LIST is in.", labels=labels)
        healthy = GaugeMetricFamily("emqx_console_cache_healthy", "1 while the watch is connected.", labels=labels)
        restarts = CounterMetricFamily(
            "emqx_console_watch_restarts", "Times the LIST+WATCH failed and was started again.", labels=labels
        )
        relists = CounterMetricFamily(
            "emqx_console_relists", "LISTs of the whole kind after the first one.", labels=labels
        )
        for name in cluster_names():
            cluster = get_cluster(name)
            if cluster is None:
                continue
            for kind, informer in sorted(_informers(cluster).items()):
                state = informer.state()
                values = [name, kind]
                objects.add_metric(values, len(informer))
                synced.add_metric(values, int(state.synced))
                healthy.add_metric(values, int(state.healthy))
                restarts.add_metric(values, state.restarts)
                relists.add_metric(values, state.relists)
        yield from (objects, synced, healthy, restarts, relists)


class _ServerNames:
    """API server URL -> the configured cluster's name, for labelling API requests. Rebuilt when a URL is
    unknown (a clientset built since); a server no configured cluster uses is labelled ``other``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}

    def __call__(self, server: str) -> str:
        name = self._names.get(server)
        if name is not None:
            return name
        names: dict[str, str] = {}
        for cluster_name in cluster_names():
            cluster = get_cluster(cluster_name)
            clientset = getattr(cluster, "_clientset", None)  # never build one here (see _informers)
            if clientset is not None:
                names.setdefault(clientset.server, cluster_name)
        with self._lock:
            self._names = names
        return names.get(server, "other")


_server_name = _ServerNames()


def _count_api_request(server: str, verb: str, code: int) -> None:
    API_REQUESTS.labels(cluster=_server_name(server), verb=verb, code=str(code)).inc()


_installed = False


def install() -> None:
    """Register the cache collector and the API observer, once per process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    REGISTRY.register(CacheCollector())
    rest.RESPONSE_OBSERVERS.append(_count_api_request)


install()


@receiver(post_save, sender=AuditEntry, dispatch_uid="console.metrics.audit")
def _count_audit_entry(sender: type[AuditEntry], instance: AuditEntry, **kwargs: Any) -> None:
    AUDIT_ENTRIES.labels(action=instance.action, outcome=instance.outcome).inc()


@receiver(user_login_failed, dispatch_uid="console.metrics.login_failed")
def _count_login_failure(sender: Any, **kwargs: Any) -> None:
    LOGIN_FAILURES.inc()


try:  # django-axes, when installed, says when it locks someone out
    from axes.signals import user_locked_out
except ImportError:  # pragma: no cover - without django-axes there are no lock-outs to count
    pass
else:

    @receiver(user_locked_out, dispatch_uid="console.metrics.locked_out")
    def _count_lockout(sender: Any, **kwargs: Any) -> None:
        LOCKOUTS.inc()


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus text exposition of this process's metrics (django-prometheus's export view), behind
    ``CONSOLE_METRICS_TOKEN`` (see the module's docstring): 401 with a wrong or missing token, 404 in
    production when no token is set."""
    token: str = getattr(settings, "CONSOLE_METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            response = HttpResponse("unauthorized\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif settings.PRODUCTION:
        raise Http404("metrics are off: set CONSOLE_METRICS_TOKEN")
    exported: HttpResponse = ExportToDjangoView(request)
    return exported
