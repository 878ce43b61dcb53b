from __future__ import annotations

from django import template
from django.http import HttpRequest

from console import dashboard
from console.dashboard import Health
from console.emqx_summary import EmqxSummary
from console.timeline import RECORDER

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_query(context: template.Context, key: str) -> str:
    """The query string that sorts the list by ``key`` (descending if it already sorts by it),
    keeping the other filters and going back to the first page."""
    request: HttpRequest = context["request"]
    params = request.GET.copy()
    params.pop("page", None)
    params["sort"] = f"-{key}" if params.get("sort", "namespace") == key else key
    return params.urlencode()


@register.simple_tag(takes_context=True)
def page_query(context: template.Context, page: int) -> str:
    request: HttpRequest = context["request"]
    params = request.GET.copy()
    params["page"] = str(page)
    return params.urlencode()


@register.filter
def sort_mark(request: HttpRequest, key: str) -> str:
    current = request.GET.get("sort", "namespace")
    return " ▲" if current == key else " ▼" if current == f"-{key}" else ""


@register.simple_tag(takes_context=True)
def can(context: template.Context, verb: str, kind: str, namespace: str) -> bool:
    """``{% can "delete" "EMQX" namespace as allowed %}``: the same check the views make."""
    from console.permissions import can as _can

    cluster = context.get("cluster")
    return _can(context["request"].user, verb, kind, namespace, getattr(cluster, "name", ""))


@register.simple_tag(takes_context=True)
def page_query_format(context: template.Context, fmt: str) -> str:
    """The current filters with ``format=fmt`` (for export links)."""
    request: HttpRequest = context["request"]
    params = request.GET.copy()
    params.pop("page", None)
    params["format"] = fmt
    return params.urlencode()


@register.simple_tag(takes_context=True)
def can_somewhere(context: template.Context, verb: str, kind: str) -> bool:
    """``{% can_somewhere "create" "EMQX" as allowed %}``: in at least one namespace."""
    from console.permissions import can_somewhere as _can_somewhere

    cluster = context.get("cluster")
    return _can_somewhere(context["request"].user, verb, kind, getattr(cluster, "name", ""))


@register.simple_tag(takes_context=True)
def emqx_health(context: template.Context, summary: EmqxSummary) -> Health:
    """The dashboards' state of an EMQX on this page's cluster (ready, progressing, degraded,
    unknown), so the list and the detail page never disagree with the dashboard."""
    cluster = context["cluster"].name
    seen_ready = RECORDER.was_ready_at(cluster, summary.uid, summary.generation)
    return dashboard.emqx_health(summary, seen_ready=seen_ready)
