"""Template helpers of the dashboards and the timeline: durations, and the header's
cluster switcher (every page; never starts or waits for a cluster's caches)."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import pgettext_lazy

from console.clusters import cluster_names, get_cluster
from console.svg import duration as _duration

register = template.Library()


# Pages that exist in every cluster: switching clusters keeps the page; any other page (one
# object's) switches to the other cluster's dashboard.
def _cluster_wide(url_name: str | None) -> bool:
    from console.registry import site

    return url_name == "dashboard" or any(url_name == a.url_name("list") for a in site)


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """``{{ delta|duration }}``: '3 min 20 s'."""
    return "" if value is None else _duration(value)


@register.filter
def since(value: dt.datetime | None, now: dt.datetime) -> str:
    """``{{ start|since:now }}``: how long ago, as a duration."""
    return "" if value is None else _duration(now - value)


@register.filter
def from_epoch(value: float | None) -> dt.datetime | None:
    """``{{ state.last_sync|from_epoch|date:"H:i:s" }}``: a time.time() value as a datetime (UTC)."""
    return None if value is None else dt.datetime.fromtimestamp(value, dt.UTC)


# What the header's cluster links say of each cluster's health (Cluster.health()), in the page's language.
HEALTH_LABELS = {
    "ok": pgettext_lazy("cluster health", "ok"),
    "connecting": pgettext_lazy("cluster health", "connecting"),
    "unreachable": pgettext_lazy("cluster health", "unreachable"),
}


@register.inclusion_tag("console/includes/_cluster_switcher.html", takes_context=True)
def cluster_switcher(context: template.Context) -> dict[str, Any]:
    match = getattr(context.get("request"), "resolver_match", None)
    url_name = match.url_name if match else None
    current = match.kwargs.get("cluster") if match else None
    clusters = []
    for name in cluster_names():
        cluster = get_cluster(name)
        url = reverse("dashboard", args=[name])
        if match and _cluster_wide(url_name) and current is not None:
            with contextlib.suppress(NoReverseMatch):
                url = reverse(url_name, kwargs={**match.kwargs, "cluster": name})
        health = cluster.health() if cluster else ""
        label = HEALTH_LABELS.get(health, health)
        clusters.append({"name": name, "url": url, "current": name == current, "health": health, "health_label": label})
    return {"clusters": clusters, "fleet": url_name in ("fleet_dashboard",), "several": len(clusters) > 1}
