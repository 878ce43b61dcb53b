"""Liveness and readiness for a load balancer or a kubelet: ``/healthz`` and ``/readyz``.

Both are django-health-check's view (``health_check.views.HealthCheckView``) with the console's checks,
answering with one status word and no login: ``ok`` (200) or ``unavailable`` (503). Which check failed,
and why, is written to the log (django-health-check logs every failure) and shown to staff only, since
it names clusters and errors that anonymous callers must not learn.

- ``/healthz``: the process answers; no check at all, so an outage of the database or of a cluster never
  gets a replica restarted by its liveness probe.
- ``/readyz``: the database answers (django-health-check's ``Database``) and :class:`ClusterCaches`:
  every configured cluster's watch cache of every registered kind has synced once, or is marked down; with a
  shared cache (console.sharedcache), synced and watched by the writer of now.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse
from health_check.base import HealthCheck  # type: ignore[import-untyped]
from health_check.checks import Database  # type: ignore[import-untyped]
from health_check.exceptions import ServiceUnavailable  # type: ignore[import-untyped]
from health_check.views import HealthCheckView  # type: ignore[import-untyped]

from console.clusters import cluster_names, get_cluster
from console.registry import site
from emqx.cache import Lister


def caches_loading() -> int:
    """How many (cluster, kind) caches are still loading: not yet synced once, and not marked down.

    Asking starts whatever cache does not exist yet, on a background thread (``Cluster.peek``), so a
    fresh replica begins its LISTs at its first readiness probe, never waits here, and never makes a
    request of its own. Marked down, and so not waited for: a cluster that does not answer, a kind it
    does not serve, a kubeconfig that cannot be used, a LIST the API server refuses. A cluster that is
    down never holds up the others (nor a replica's readiness)."""
    loading = 0
    for name in cluster_names():
        cluster = get_cluster(name)
        if cluster is None:  # the configuration changed between the two calls
            continue
        for kind in site.kinds:
            peek = cluster.peek(kind)
            if peek.error_kind:
                continue
            state = peek.state()
            if state is None or (not state.synced and not state.error_kind):
                loading += 1
            elif isinstance(peek.informer, Lister) and not (state.healthy or state.error_kind):
                # A shared cache's file may hold what a writer that has since exited synced: loaded only once
                # the writer of now has its watch up (console.sharedcache marks the old state unconfirmed).
                loading += 1
    return loading


@dataclasses.dataclass
class ClusterCaches(HealthCheck):  # type: ignore[misc]  # django-health-check has no types
    """django-health-check's check of the console's shared watch caches (see :func:`caches_loading`).
    Raises ``ServiceUnavailable`` while any is loading. Runs in a thread (it is synchronous) and takes
    microseconds: it reads in-memory state."""

    def run(self) -> None:
        loading = caches_loading()
        if loading:
            raise ServiceUnavailable(f"{loading} cluster cache(s) still loading")


class StatusWordView(HealthCheckView):  # type: ignore[misc]
    """django-health-check's view answering ``ok`` (200) or ``unavailable`` (503) as plain text. A
    logged-in staff member gets the library's full report (each check and its error) as JSON, with the
    same status code, to find out why."""

    checks: ClassVar[tuple[Any, ...]] = ()

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with self.get_executor() as executor:  # as the library's own get(), without its rendering
            self.results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        failed = any(result.error for result in self.results)
        status = 503 if failed else 200
        user = await request.auser()
        if user.is_active and user.is_staff:
            return self.render_to_response_json(status)  # type: ignore[no-any-return]
        return HttpResponse("unavailable\n" if failed else "ok\n", status=status, content_type="text/plain")


healthz = StatusWordView.as_view(checks=())
readyz = StatusWordView.as_view(checks=(Database, ClusterCaches))
