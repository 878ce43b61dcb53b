"""Read-only pages for the other kinds (EmqxBroker, EmqxEnterprise, Rebalance): list, detail,
live status, each from the cluster's shared watch cache, in whichever version it serves."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from console.clusters import Cluster
from console.permissions import require, require_cluster_read, visible_namespaces
from console.registry import KindAdmin
from console.views._common import banner, cluster_view
from console.views.emqx import HTMX_STOP_POLLING, object_yaml
from emqx.errors import EmqxClientError


def _list_context(request: HttpRequest, cluster: Cluster, admin: KindAdmin) -> dict[str, Any]:
    namespace = request.GET.get("namespace", "")
    context: dict[str, Any] = {"cluster": cluster, "admin": admin, "namespace": namespace, "rows": None}
    try:
        cache = cluster.cache(admin.kind)
    except EmqxClientError as error:
        context["banner"] = banner(cluster, None, str(error))
        return context
    state = cache.state()
    kind_client = cluster.clientset.for_kind(admin.kind, None)
    allowed = visible_namespaces(request.user, cluster, kind_client, cache.namespaces())
    items = [o for o in cache.list(namespace or None) if allowed is None or o.metadata.namespace in allowed]
    context.update(
        banner=banner(cluster, state),
        rows=[admin.summarize(o) for o in items] if state.synced else None,
        namespaces=[ns for ns in cache.namespaces() if allowed is None or ns in allowed],
        query=request.GET.urlencode(),
    )
    return context


@cluster_view
def resource_list(request: HttpRequest, cluster: Cluster, kind: KindAdmin) -> HttpResponse:
    return render(request, "console/resource/list.html", _list_context(request, cluster, kind))


@cluster_view
def resource_rows(request: HttpRequest, cluster: Cluster, kind: KindAdmin) -> HttpResponse:
    return render(request, "console/resource/_table.html", _list_context(request, cluster, kind))


def _detail_context(
    request: HttpRequest, cluster: Cluster, admin: KindAdmin, namespace: str, name: str
) -> dict[str, Any]:
    require(request.user, "get", admin.kind, namespace, cluster.name)
    context: dict[str, Any] = {"cluster": cluster, "admin": admin, "namespace": namespace, "name": name, "obj": None}
    try:
        cache = cluster.cache(admin.kind)
    except EmqxClientError as error:
        context["banner"] = banner(cluster, None, str(error))
        return context
    require_cluster_read(request.user, cluster, cluster.clientset.for_kind(admin.kind, namespace), namespace)
    state = cache.state()
    obj = cache.get(namespace, name)
    if obj is None and state.synced:
        raise Http404(f"No {admin.kind} {namespace}/{name} in cluster {cluster.name}.")
    context.update(banner=banner(cluster, state), obj=obj, summary=obj and admin.summarize(obj))
    return context


@cluster_view
def resource_detail(request: HttpRequest, cluster: Cluster, kind: KindAdmin, namespace: str, name: str) -> HttpResponse:
    context = _detail_context(request, cluster, kind, namespace, name)
    context["yaml"] = object_yaml(context["obj"]) if context.get("obj") is not None else ""
    return render(request, "console/resource/detail.html", context)


@cluster_view
def resource_status(request: HttpRequest, cluster: Cluster, kind: KindAdmin, namespace: str, name: str) -> HttpResponse:
    context = _detail_context(request, cluster, kind, namespace, name)
    response = render(request, "console/resource/_status.html", context)
    summary = context.get("summary")
    if summary is not None and summary.settled and context.get("banner") is None:
        response.status_code = HTMX_STOP_POLLING
    return response
