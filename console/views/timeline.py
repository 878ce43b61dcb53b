"""An EMQX instance's condition timeline: the transitions this console recorded (see
console.timeline), as phases with their durations."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from console.clusters import Cluster
from console.models import ConditionTransition
from console.permissions import require
from console.svg import phase_strip
from console.timeline import history, recording_enabled
from console.views._common import banner, cluster_view
from emqx.errors import EmqxClientError


@cluster_view
def emqx_timeline(request: HttpRequest, cluster: Cluster, namespace: str, name: str) -> HttpResponse:
    require(request.user, "get", "EMQX", namespace, cluster.name)
    recorded = ConditionTransition.objects.filter(cluster=cluster.name, kind="EMQX", namespace=namespace, name=name)
    page_banner, uid = None, ""
    try:
        cache = cluster.emqx_cache()
        state = cache.state()
        obj = cache.get(namespace, name)
        page_banner = banner(cluster, state)
        if obj is not None:
            uid = obj.metadata.uid or ""
        elif state.synced:
            raise Http404(f"No EMQX {namespace}/{name} in cluster {cluster.name}.")
    except EmqxClientError as error:
        page_banner = banner(cluster, None, str(error))
    if not uid:  # the cluster cannot tell: the instance recorded last under this name
        uid = recorded.order_by("-at", "-id").values_list("uid", flat=True).first() or ""
    transitions = list(recorded.filter(uid=uid))
    found, now = history(transitions), timezone.now()
    return render(
        request,
        "console/emqx/timeline.html",
        {
            "cluster": cluster,
            "banner": page_banner,
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
