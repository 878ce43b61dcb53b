"""The upgrade-blockers page of one cluster (``/clusters/<c>/upgrade/``): what stops upgrading its
emqx-operator from 2.2 to 2.3 and what to do about each (the rules are in console.upgrade).

It only reads (GET and LIST, as the user in impersonation mode); a cluster that cannot be used
shows the usual banner instead of the report.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from console import upgrade
from console.clusters import Cluster
from console.views._common import banner, cluster_view
from emqx.errors import EmqxClientError


@require_safe
@cluster_view
def upgrade_blockers(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """The report, or the cluster's banner when it cannot be read. GET (and HEAD) only: 405
    otherwise; 404 for a user who may read nothing in the cluster."""
    readable = upgrade.require_view(request.user, cluster.name)
    context: dict[str, object] = {"cluster": cluster, "steps": upgrade.STEPS}
    try:
        context["report"] = upgrade.check(cluster.clientset_for(request.user), cluster=cluster.name, readable=readable)
    except EmqxClientError as error:
        context["banner"] = banner(cluster, None, error=error)
        context["problem"] = str(error)
    return render(request, "console/upgrade.html", context)
