"""Compare with: one object against another of the same kind, in any configured cluster the user may
read it in (staging against production). Reads only, from the clusters' shared caches; a GET form, so
a comparison is a link that can be shared."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from console import copies, diffs
from console.clusters import Cluster, cluster_names, get_cluster
from console.forms.copies import CompareForm
from console.permissions import not_found, readable_namespaces, require_cluster_read, visible_namespaces
from console.registry import ResourceAdmin
from console.views._common import banner, cluster_view
from emqx.errors import EmqxClientError
from emqx.models._base import Resource

__all__ = ["object_compare"]


def readable_clusters(user: Any, admin: ResourceAdmin) -> list[str]:
    """The configured clusters where ``user`` may read ``admin``'s kind in some namespace."""
    return [name for name in cluster_names() if readable_namespaces(user, name) != frozenset()]


def _suggestions(user: Any, admin: ResourceAdmin, clusters: list[str]) -> tuple[list[str], list[str]]:
    """(namespaces, names) of the kind's objects the user may see, from each cluster's cache as it is
    now (never waiting: a cluster whose cache is not loaded yet suggests nothing)."""
    namespaces: set[str] = set()
    names: set[str] = set()
    for name in clusters:
        cluster = get_cluster(name)
        informer = cluster.peek(admin.kind).informer if cluster is not None else None
        if cluster is None or informer is None:
            continue
        try:
            allowed = visible_namespaces(user, cluster, cluster.kind_client(admin.kind), informer.namespaces())
        except EmqxClientError:
            continue
        for obj in informer.list():
            if allowed is None or obj.metadata.namespace in allowed:
                namespaces.add(obj.metadata.namespace or "")
                names.add(obj.metadata.name or "")
    return sorted(namespaces), sorted(names)


def _other(request: HttpRequest, admin: ResourceAdmin, form: CompareForm) -> tuple[Cluster | None, Any]:
    """The object the form names, or (None, why) when it is not there or not visible to the user
    (one answer for both: existence must not leak), or its cluster cannot be read."""
    data = form.cleaned_data
    cluster, namespace, name = get_cluster(data["cluster"]), data["namespace"], data["name"]
    missing = gettext("No %(kind)s %(object)s in cluster %(cluster)s that you may read.") % {
        "kind": admin.kind,
        "object": f"{namespace}/{name}",
        "cluster": data["cluster"],
    }
    if cluster is None or not admin.has_view_permission(request.user, cluster.name, namespace):
        return None, missing
    try:
        cache = cluster.cache(admin.kind)
        require_cluster_read(request.user, cluster, cluster.kind_client(admin.kind), namespace)
    except EmqxClientError as error:
        return None, gettext("Cluster %(cluster)s cannot be read: %(error)s") % {
            "cluster": cluster.name,
            "error": error,
        }
    obj = cache.get(namespace, name)
    if obj is None:
        if not cache.state().synced:
            return None, gettext("Cluster %(cluster)s is still loading; try again.") % {"cluster": cluster.name}
        return None, missing
    return cluster, obj


@cluster_view
def object_compare(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, name: str
) -> HttpResponse:
    """This object's spec, labels and annotations (console/copies.py, ``compared``) against another's of
    the same kind, as a unified diff and a table of the differing fields, secrets redacted
    (console/redaction.py). The other is chosen by cluster, namespace and name (``?cluster=&namespace=&name=``).
    Read permission on both sides: 404 for this object as for its detail page, and 404 (the form saying
    so) for another that is not there or not visible."""
    admin.require(request.user, "view", cluster.name, namespace)
    context: dict[str, Any] = {"admin": admin, "cluster": cluster, "namespace": namespace, "name": name}
    template = admin.get_template_names("compare")
    try:
        cache = cluster.cache(admin.kind)
        require_cluster_read(request.user, cluster, cluster.kind_client(admin.kind), namespace)
    except EmqxClientError as error:
        return render(request, template, {**context, "banner": banner(cluster, None, error=error, admin=admin)})
    obj = cache.get(namespace, name)
    if obj is None and cache.state().synced:
        raise not_found(
            gettext("No %(kind)s %(object)s in cluster %(cluster)s."),
            kind=admin.kind,
            object=f"{namespace}/{name}",
            cluster=cluster.name,
        )
    clusters = readable_clusters(request.user, admin)
    others = [c for c in clusters if c != cluster.name]
    initial = {"cluster": others[0] if others else cluster.name, "namespace": namespace, "name": name}
    form = CompareForm(request.GET if "cluster" in request.GET else None, clusters=clusters, initial=initial)
    suggested_namespaces, suggested_names = _suggestions(request.user, admin, clusters)
    context.update(
        obj=obj, form=form, banner=banner(cluster, cache.state(), admin=admin),
        suggested_namespaces=suggested_namespaces, suggested_names=suggested_names,
    )  # fmt: skip
    if obj is None or not form.is_bound or not form.is_valid():
        return render(request, template, context)
    other_cluster, other = _other(request, admin, form)
    if other_cluster is None or not isinstance(other, Resource):
        form.add_error(None, str(other))
        return render(request, template, context, status=404)
    ours, theirs = copies.compared(obj.to_dict()), copies.compared(other.to_dict())
    context.update(
        other_cluster=other_cluster,
        other=other,
        diff=diffs.unified(ours, theirs),
        changes=diffs.changes(ours, theirs),
    )
    return render(request, template, context)
