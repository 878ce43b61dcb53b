"""Object actions: the one-click day-2 changes of a detail page (``ResourceAdmin.object_actions``),
such as pausing an EMQX v3beta1. POST only; each attempt is audited, and the user is sent back to
the detail page, which watches the status again (``?saved=``) until the operator has answered."""

from __future__ import annotations

import time

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext

from console.audit import AuditUnavailable
from console.clusters import Cluster
from console.permissions import not_found
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
        raise not_found(
            gettext("%(kind)s has no action %(action)s."), kind=str(admin.verbose_name), action=action
        ) from None
    admin.require(request.user, "change", cluster.name, namespace)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    detail = reverse(admin.url_name("detail"), args=[cluster.name, namespace, name])
    try:
        client = cluster.client_for(request.user, admin.kind, namespace)
        before = client.get(name)
    except NotFound:
        raise not_found(
            gettext("No %(kind)s %(object)s in cluster %(cluster)s."),
            kind=admin.kind,
            object=f"{namespace}/{name}",
            cluster=cluster.name,
        ) from None
    except EmqxClientError as error:
        messages.error(request, gettext("%(action)s did nothing: %(error)s") % {"action": chosen.label, "error": error})
        return redirect(detail)
    if before.metadata.deletion_timestamp is not None or not chosen.applies(before, admin.summarize(before)):
        messages.warning(
            request,
            gettext("%(action)s does not apply to %(object)s as it is now; nothing changed.")
            % {"action": chosen.label, "object": f"{namespace}/{name}"},
        )
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
        messages.error(request, gettext("%(action)s did nothing. %(error)s") % {"action": chosen.label, "error": error})
        return redirect(detail)
    except EmqxClientError as error:
        if isinstance(error, Conflict):
            text = gettext("it changed at the same moment; look at it again and retry")
        elif isinstance(error, Forbidden):
            text = gettext("the cluster refused it: %(error)s") % {"error": error}
        else:
            text = str(error)
        messages.error(request, gettext("%(action)s did nothing: %(error)s") % {"action": chosen.label, "error": text})
        return redirect(detail)
    remember_write(cluster, admin, after)  # the next page shows the change, before its watch event
    messages.success(
        request, gettext("%(done)s: %(object)s.") % {"done": chosen.done, "object": f"{admin.kind} {namespace}/{name}"}
    )
    return redirect(f"{detail}?saved={int(time.time())}")
