"""Object actions: the one-click day-2 changes of a detail page (``ResourceAdmin.object_actions``),
such as pausing an EMQX v3beta1. POST only; each attempt is audited, and the user is sent back to
the detail page, which watches the status again (``?saved=``) until the operator has answered."""

from __future__ import annotations

import time

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse

from console.audit import AuditUnavailable
from console.clusters import Cluster
from console.registry import ResourceAdmin
from console.views._common import cluster_view
from console.views.edit import remember_write
from emqx.client.resource import PatchType
from emqx.errors import Conflict, EmqxClientError, Forbidden, NotFound

__all__ = ["object_action"]


@cluster_view
def object_action(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, name: str, action: str
) -> HttpResponse:
    """Run the admin's object action ``action`` on one object (POST; 405 otherwise, once the user's
    permissions are known). 404 for an unknown action or object, or a namespace the user may not
    view; 403 without the change permission; a failed write is a message on the detail page."""
    try:
        chosen = admin.get_action(action)
    except KeyError:
        raise Http404(f"{admin.verbose_name} has no action {action!r}.") from None
    admin.require(request.user, "change", cluster.name, namespace)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    detail = reverse(admin.url_name("detail"), args=[cluster.name, namespace, name])
    try:
        client = cluster.client_for(request.user, admin.kind, namespace)
        before = client.get(name)
    except NotFound:
        raise Http404(f"No {admin.kind} {namespace}/{name} in cluster {cluster.name}.") from None
    except EmqxClientError as error:
        messages.error(request, f"{chosen.label} did nothing: {error}")
        return redirect(detail)
    if before.metadata.deletion_timestamp is not None or not chosen.applies(before, admin.summarize(before)):
        messages.warning(request, f"{chosen.label} does not apply to {namespace}/{name} as it is now; nothing changed.")
        return redirect(detail)
    patch = chosen.patch(before)
    patch.setdefault("metadata", {})["resourceVersion"] = before.metadata.resource_version
    try:
        after = admin.audited_write(
            request,
            cluster.name,
            chosen.name,
            namespace,
            name,
            lambda: client.patch(name, patch, patch_type=PatchType.MERGE),
            before=before,
        )
    except AuditUnavailable as error:
        messages.error(request, f"{chosen.label} did nothing. {error}")
        return redirect(detail)
    except EmqxClientError as error:
        if isinstance(error, Conflict):
            text = "it changed at the same moment; look at it again and retry"
        elif isinstance(error, Forbidden):
            text = f"the cluster refused it: {error}"
        else:
            text = str(error)
        messages.error(request, f"{chosen.label} did nothing: {text}")
        return redirect(detail)
    remember_write(cluster, admin, after)  # the next page shows the change, before its watch event
    messages.success(request, f"{chosen.done}: {admin.kind} {namespace}/{name}.")
    return redirect(f"{detail}?saved={int(time.time())}")
