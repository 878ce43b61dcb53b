"""Template context every page gets: the navigation between kinds and the audit trail."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from console import impersonation
from console.clusters import cluster_names
from console.registry import site


def navigation(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    current = (match.kwargs.get("cluster") if match else None) or cluster_names()[0]
    return {
        "nav_cluster": current,
        "nav_kinds": list(site),
        "nav_clusters": cluster_names(),
        "k8s_identity": impersonation.describe(request.user),
    }
