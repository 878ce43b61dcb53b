"""Template context every page gets: the navigation between kinds and the audit trail."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from console import impersonation
from console.clusters import cluster_names, get_cluster
from console.registry import ResourceAdmin, site
from emqx.discovery import GroupInfo, operator_line


def served_admins(info: GroupInfo | None) -> list[ResourceAdmin]:
    """The registered kinds a cluster serves in a version the console handles; every kind while
    the cluster has not been discovered yet."""
    if info is None:
        return list(site)
    return [a for a in site if a.kind in info.kinds and set(info.kinds[a.kind].versions) & set(a.versions)]


def navigation(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    current = (match.kwargs.get("cluster") if match else None) or cluster_names()[0]
    cluster = get_cluster(current)
    info = cluster.discovered() if cluster is not None else None
    line = operator_line(info) if info is not None else None
    return {
        "nav_cluster": current,
        "nav_kinds": served_admins(info),
        # The 2.2 -> 2.3 checks concern clusters not yet on 2.3 (or not discovered yet).
        "nav_upgrade_checks": line not in ("2.3", "3.0"),
        "nav_clusters": cluster_names(),
        "k8s_identity": impersonation.describe(request.user),
    }
