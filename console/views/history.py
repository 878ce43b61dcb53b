"""The History page of one object (Django admin's ``history_view``): its audit entries and its
recorded condition changes, newest first, paginated (console/history.py).

It reads the console's database, so it answers for an object that was deleted (it says so) and
while its cluster does not answer (under the banner). Who may read it: whoever may view the
kind in that namespace (404 otherwise, as every object page); in impersonation mode also the
cluster's RBAC, as for the condition timeline, since the history is the object's status over time.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from console.clusters import Cluster
from console.history import ObjectHistory
from console.impersonation import enabled as impersonation_enabled
from console.permissions import not_found, require_cluster_read
from console.registry import ResourceAdmin
from console.views._common import banner, cluster_view
from emqx.errors import EmqxClientError


def require_history_read(request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str) -> None:
    """Refuse a read of an object's recorded history: Http404 when the user may not view the kind
    in ``namespace`` (admin.require); in impersonation mode PermissionDenied when the cluster's
    RBAC forbids the read, or when the cluster cannot be asked (console.permissions.require_cluster_read).
    Without impersonation a cluster that does not answer refuses nothing: the history is in the
    console's database."""
    admin.require(request.user, "view", cluster.name, namespace)
    try:
        require_cluster_read(request.user, cluster, cluster.kind_client(admin.kind), namespace)
    except EmqxClientError:
        if impersonation_enabled():
            raise PermissionDenied(
                gettext("Cannot check what you may read in cluster %(cluster)s right now (it does not answer).")
                % {"cluster": cluster.name}
            ) from None


@cluster_view
def object_history(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, name: str
) -> HttpResponse:
    """Who changed the object through the console and when (with the diff), and how its status
    conditions moved, in one list newest first. 404 for a name the cluster does not have and
    the console never recorded anything about."""
    require_history_read(request, cluster, admin, namespace)
    found = ObjectHistory(cluster.name, admin.kind, namespace, name)
    context: dict[str, Any] = {"admin": admin, "cluster": cluster, "namespace": namespace, "name": name}
    obj, uid, gone = None, "", False
    try:
        cache = cluster.cache(admin.kind)
        state = cache.state()
        context["banner"] = banner(cluster, state, admin=admin)
        obj = cache.get(namespace, name)
        gone = obj is None and state.synced
    except EmqxClientError as error:
        context["banner"] = banner(cluster, None, error=error, admin=admin)
    if gone and not found.exists():
        raise not_found(
            gettext("No %(kind)s %(object)s in cluster %(cluster)s, and no history of one."),
            kind=admin.kind,
            object=f"{namespace}/{name}",
            cluster=cluster.name,
        )
    if obj is not None:
        uid = obj.metadata.uid or ""
    page = found.page(request.GET.get("page"))
    return render(
        request,
        admin.get_template_names("history"),
        {
            **context,
            "obj": obj,
            "uid": uid,
            "deleted": gone,
            "deletion": found.deletion() if gone else None,
            "page": page,
        },
    )
