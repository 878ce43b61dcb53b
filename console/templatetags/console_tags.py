from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from console.registry import Column, Health, site
from console.summaries import Summary
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


@register.filter
def sort_order(request: HttpRequest, key: str) -> str:
    """``aria-sort`` of the column ``key``'s header: 'ascending' or 'descending' when the list is
    sorted by it (the same ``sort`` parameter as :func:`sort_mark`), else ''."""
    current = request.GET.get("sort", "namespace")
    return "ascending" if current == key else "descending" if current == f"-{key}" else ""


@register.filter
def described(field: BoundField) -> SafeString:
    """``{{ field|described }}``: the field's widget tied to the texts about it (WCAG 2.1 1.3.1 and
    3.3.1): ``aria-describedby`` names its error list, rendered by the templates as
    ``<ul id="errors-<name>">``, and its help text, ``<div id="<auto_id>_helptext">`` as Django names
    it; Django itself adds ``aria-invalid="true"`` to a field with errors. Returns the same markup
    as ``{{ field }}`` otherwise."""
    ids = []
    if field.errors:
        ids.append(f"errors-{field.name}")
    if field.help_text and field.auto_id:
        ids.append(f"{field.auto_id}_helptext")
    html = field.as_widget(attrs={"aria-describedby": " ".join(ids)} if ids else None)
    if field.field.show_hidden_initial:
        html += field.as_hidden(only_initial=True)
    return html


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
def health(context: template.Context, summary: Summary) -> Health:
    """The dashboards' state of an object on this page's cluster (ready, progressing, degraded,
    unknown), by its admin, so the list and the detail page never disagree with the dashboard."""
    cluster = context["cluster"].name
    seen_ready = RECORDER.was_ready_at(cluster, summary.uid, summary.generation)
    return site.for_kind(summary.kind).health(summary, seen_ready=seen_ready)


@register.simple_tag
def cell(row: Summary, column: Column) -> Any:
    """One cell of the change list: ``{% cell row col %}``."""
    return column.value(row)


@register.simple_tag
def cell_title(row: Summary, column: Column) -> str:
    """The cell's tooltip attribute, if the column has one (`` title="…"``, escaped)."""
    if column.title is None:
        return ""
    return format_html(' title="{}"', column.title(row))


@register.simple_tag
def object_url(kind: str, cluster: str, namespace: str, name: str, page: str = "detail") -> str:
    """The detail page (or another of its object pages, ``page``: "history") of any registered
    kind's object, or '' for a kind without an admin."""
    admin = site.get(kind)
    if admin is None or not namespace or not name:
        return ""
    try:
        return reverse(admin.url_name(page), args=[cluster, namespace, name])
    except NoReverseMatch:
        return ""
