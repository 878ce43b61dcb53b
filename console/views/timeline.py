"""An instance's condition timeline (EMQX, EmqxBroker, EmqxEnterprise): the transitions this
console recorded (see console.timeline), as phases with their durations."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from console.clusters import Cluster
from console.models import ConditionTransition
from console.permissions import require
from console.registry import KindAdmin
from console.svg import phase_strip
from console.timeline import TRACKED_KINDS, history, recording_enabled
from console.views._common import banner, cluster_view
from emqx.cache import Informer
from emqx.errors import EmqxClientError


def _timeline(
    request: HttpRequest, cluster: Cluster, kind: str, namespace: str, name: str, context: dict[str, Any]
) -> HttpResponse:
    require(request.user, "get", kind, namespace, cluster.name)
    recorded = ConditionTransition.objects.filter(cluster=cluster.name, kind=kind, namespace=namespace, name=name)
    page_banner, uid = None, ""
    try:
        cache: Informer[Any] = cluster.emqx_cache() if kind == "EMQX" else cluster.cache(kind)
        state = cache.state()
        obj = cache.get(namespace, name)
        page_banner = banner(cluster, state)
        if obj is not None:
            uid = obj.metadata.uid or ""
        elif state.synced:
            raise Http404(f"No {kind} {namespace}/{name} in cluster {cluster.name}.")
    except EmqxClientError as error:
        page_banner = banner(cluster, None, str(error))
    if not uid:  # the cluster cannot tell: the instance recorded last under this name
        uid = recorded.order_by("-at", "-id").values_list("uid", flat=True).first() or ""
    transitions = list(recorded.filter(uid=uid))
    found, now = history(transitions), timezone.now()
    return render(
        request,
        "console/timeline.html",
        {
            **context,
            "cluster": cluster,
            "banner": page_banner,
            "kind": kind,
            "namespace": namespace,
            "name": name,
            "uid": uid,
            "history": found,
            "phases": found.newest_first(now),
            "strip": phase_strip(found.phases, now),
            "transitions": list(reversed(transitions)),
            "recording": recording_enabled(),
            "keep": settings.CONSOLE_TIMELINE_KEEP,
            "now": now,
        },
    )


@cluster_view
def emqx_timeline(request: HttpRequest, cluster: Cluster, namespace: str, name: str) -> HttpResponse:
    return _timeline(request, cluster, "EMQX", namespace, name, {})


@cluster_view
def resource_timeline(
    request: HttpRequest, cluster: Cluster, kind: KindAdmin, namespace: str, name: str
) -> HttpResponse:
    """The 4.x brokers' timeline (Rebalance has phases, not conditions to follow: no timeline)."""
    if not kind.timeline or kind.kind not in TRACKED_KINDS:
        raise Http404(f"The console keeps no condition timeline of {kind.verbose_name_plural}.")
    return _timeline(request, cluster, kind.kind, namespace, name, {"admin": kind})
