"""The read pages of every kind, given its admin: the change list and its ``_rows`` poll, the
detail page with its ``_status`` poll and ``_events`` panel, and the condition timeline.

Reads come from the cluster's shared watch cache, so pages and polls cost the API server
nothing; a cluster that is down still shows its last known state under a banner. The list
also pages through the API server itself (limit/continue) while the cache is loading or when
asked to (console/listing.py). Templates resolve most specific first (``admin.get_template_names``).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext
from django_htmx.http import HttpResponseStopPolling

from console import diffs, listing
from console.clusters import Cluster
from console.forms.filters import ObjectFilterForm, filter_objects
from console.models import ConditionTransition
from console.permissions import not_found, require_cluster_read
from console.registry import ResourceAdmin
from console.rendered import STATUS_PANELS, status_panel_key
from console.summaries import Summary
from console.svg import phase_strip
from console.timeline import RECORDER, history, recording_enabled
from console.views._common import banner, cluster_view
from console.views.history import require_history_read
from emqx.errors import EmqxClientError, Forbidden
from emqx.events import EventsClient
from emqx.models._base import Resource

_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)
# How long the list page waits for a starting cache before it reads page 1 from the API.
LIST_SYNC_WAIT_S = 1.0
# After a save, how long the detail page keeps watching for the operator's answer at most.
AFTER_SAVE_WATCH_S = 60


def _saved_at(request: HttpRequest) -> float | None:
    """When this user's save that led here happened (``?saved=<unix seconds>``), if recent."""
    try:
        saved = float(request.GET.get("saved", ""))
    except ValueError:
        return None
    return saved if 0 <= time.time() - saved < AFTER_SAVE_WATCH_S else None


def settled(admin: ResourceAdmin, summary: Summary | None, saved: float | None) -> bool:
    """Whether the status poll may stop: the object has settled (its admin says), and after a save,
    the operator has answered it: a condition was written since (lastTransitionTime or, in the
    2021 brokers, lastUpdateTime). A status that says which spec it is about (EMQX's
    observedGeneration) is its own proof; the others, v1beta1's among them, need the time."""
    if summary is None or not summary.settled:
        return False
    if saved is None or not admin.status_follows_spec:
        return True
    if summary.current is not None and summary.current.observed_generation is not None:
        return True  # summary.settled holds only when that generation is the object's
    times = [c.last_transition_time for c in summary.conditions if c.last_transition_time is not None]
    return bool(times) and max(times).timestamp() >= saved - 1  # conditions have whole seconds


def object_yaml(obj: Resource) -> str:
    """The object as YAML for a person (managedFields left out): only full pages need it, never
    the status polls."""
    return diffs.dump(diffs.without(obj.to_dict(), "managedFields"))


def _render(
    request: HttpRequest, admin: ResourceAdmin, page: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(request, admin.get_template_names(page), {"admin": admin, **context}, status=status)


# ----- the change list ------------------------------------------------------------------------


def _list_context(request: HttpRequest, cluster: Cluster, admin: ResourceAdmin) -> dict[str, object]:
    """The list from the shared cache (the default: no API request), or one page from the API
    server while the cache loads, for a continue token, or on request (see console.listing)."""
    form = ObjectFilterForm(request.GET or None, admin=admin)
    base = {"cluster": cluster, "admin": admin, "form": form, "query": request.GET.urlencode()}
    if listing.wants_api(request.GET):
        # The cache is only the fallback here: do not wait for one that is still loading.
        return {**base, **listing.api_context(request, cluster, form, cluster.peek(admin.kind).informer)}
    try:
        # A fleet whose first LIST takes longer than this gets page 1 from the API meanwhile.
        cache = cluster.cache(admin.kind, wait=LIST_SYNC_WAIT_S)
    except EmqxClientError as error:
        return {
            **base,
            "banner": banner(cluster, None, error=error, admin=admin),
            "listing": None,
            "source": "cache",
            "poll": True,
        }
    state = cache.state()
    if listing.choose_source(request.GET, state) == "api":
        return {**base, **listing.api_context(request, cluster, form, cache)}
    items, namespaces = listing.visible_cached(request, cluster, admin, cache)
    chosen = request.GET.get("namespace", "")
    if chosen and chosen not in namespaces and admin.has_view_permission(request.user, cluster.name, chosen):
        namespaces = sorted([*namespaces, chosen])  # the filter in force, even where the kind has nothing yet
    return {
        **base,
        "banner": banner(cluster, state, admin=admin),
        "listing": filter_objects(items, form) if state.synced else None,
        "namespaces": namespaces,
        "source": "cache",
        "poll": True,
        "api_query": listing.api_query(request.GET),
    }


def _with_actions(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, context: dict[str, Any]
) -> dict[str, Any]:
    """``context`` with the list actions the user may run (``actions``) and the namespaces whose rows
    they may select (``actionable``: where they may run one of them; console/views/list_actions.py)."""
    offered = admin.get_actions(request.user, cluster.name)
    hooks = [getattr(admin, f"has_{p}_permission") for p in {a.permission for a in offered}]
    namespaces = context.get("namespaces") or ()
    actionable = {ns for ns in namespaces if any(hook(request.user, cluster.name, ns) for hook in hooks)}
    return {**context, "actions": offered, "actionable": actionable}


@cluster_view
def object_list(request: HttpRequest, cluster: Cluster, admin: ResourceAdmin) -> HttpResponse:
    """The change list: search, label selector, sort, pages, live rows, actions on the selected rows."""
    return _render(
        request, admin, "list", _with_actions(request, cluster, admin, _list_context(request, cluster, admin))
    )


@cluster_view
def object_rows(request: HttpRequest, cluster: Cluster, admin: ResourceAdmin) -> HttpResponse:
    """The list's table body alone, for the list page's poll (every 5 s while visible).

    No poll costs an API request. From the cache (the default) it reads memory. While the
    cache is still loading, the page showed page 1 from the API and keeps polling: each poll
    answers 204 (htmx leaves the table as it is) without listing again, and the cache's table
    (sortable, live) as soon as the cache has synced. API pages reached through "next" or asked
    for with ``source=api`` are not polled (the page leaves hx-trigger out): re-listing the API
    every 5 s would be a LIST per viewer forever. Asked for anyway, this view answers them
    as the page does, with one LIST."""
    if not listing.wants_api(request.GET):
        informer = cluster.peek(admin.kind).informer
        if informer is not None and listing.choose_source(request.GET, informer.state()) == "api":
            return HttpResponse(status=204)
    return _render(
        request, admin, "_table", _with_actions(request, cluster, admin, _list_context(request, cluster, admin))
    )


# ----- one object ---------------------------------------------------------------------------------


def _detail_context(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, name: str
) -> dict[str, Any]:
    admin.require(request.user, "view", cluster.name, namespace)
    context: dict[str, Any] = {"cluster": cluster, "namespace": namespace, "name": name, "obj": None, "summary": None}
    try:
        cache = cluster.cache(admin.kind)
        require_cluster_read(request.user, cluster, cluster.kind_client(admin.kind), namespace)
    except EmqxClientError as error:
        return {**context, "banner": banner(cluster, None, error=error, admin=admin)}
    state = cache.state()
    obj = cache.get(namespace, name)
    if obj is None and state.synced:
        raise not_found(
            gettext("No %(kind)s %(object)s in cluster %(cluster)s."),
            kind=admin.kind,
            object=f"{namespace}/{name}",
            cluster=cluster.name,
        )
    summary = admin.summarize(obj) if obj is not None else None
    health = None
    if summary is not None:
        seen_ready = RECORDER.was_ready_at(cluster.name, summary.uid, summary.generation)
        health = admin.health(summary, seen_ready=seen_ready)
    saved = _saved_at(request)
    return {
        **context,
        "banner": banner(cluster, state, admin=admin),
        "obj": obj,
        "summary": summary,
        "health": health,
        "settled": settled(admin, summary, saved),
        "last_sync": state.last_sync,
        "saved": int(saved) if saved is not None else None,
    }


@cluster_view
def object_detail(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, name: str
) -> HttpResponse:
    """Summary, live status, Events and YAML of one object."""
    context = _detail_context(request, cluster, admin, namespace, name)
    obj = context.get("obj")
    context["yaml"] = object_yaml(obj) if isinstance(obj, Resource) else ""
    if isinstance(obj, Resource):
        context["object_actions"] = admin.actions_for(obj, context.get("summary"))
        if not obj.problems:  # a kind's extra panels read the spec, which is not understood here
            context.update(admin.get_detail_context(request, cluster, obj))
    return _render(request, admin, "detail", context)


def _status_gone(request: HttpRequest, admin: ResourceAdmin, why: str, namespace: str, name: str) -> HttpResponse:
    """The status panel of an object the poll can no longer show (``why``: 'deleted' or
    'withdrawn'), with polling stopped."""
    context = {"admin": admin, "why": why, "namespace": namespace, "name": name, "checked": timezone.now()}
    return HttpResponseStopPolling(render_to_string(admin.get_template_names("_status_gone"), context, request))


def _per_request(request: HttpRequest) -> tuple[object, object]:
    """What a render leaves on the request when it put something of this request's own in the HTML:
    the CSRF token (``get_token`` flags the cookie) and the CSP nonce (django-csp makes it on first use)."""
    return request.META.get("CSRF_COOKIE_NEEDS_UPDATE"), getattr(request, "_csp_nonce", None)


def _render_status_panel(request: HttpRequest, admin: ResourceAdmin, context: dict[str, Any]) -> tuple[str, bool]:
    """The status panel's HTML, and whether it may be served to other requests (console.rendered):
    not when the render asked for this request's CSRF token or CSP nonce."""
    before = _per_request(request)
    html = render_to_string(admin.get_template_names("_status"), {"admin": admin, **context}, request)
    return html, _per_request(request) == before


@cluster_view
def object_status(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, name: str
) -> HttpResponse:
    """The live status panel alone. Answers 286 (htmx: stop polling) once the object has
    settled (for EMQX: Ready for its current spec); the page polls again after an edit.

    To a poll (an htmx request) it also answers, with 286, when the object is gone or the user may
    no longer see it: the panel says which, and the page's Edit and Delete are withdrawn (an
    out-of-band delete of ``#object-tools``), instead of a 404 that htmx would leave unswapped
    under a "live" mark forever. A request that is not a poll gets the 404 as before.

    The panel's HTML is rendered once per state of what it shows and served from memory to the
    later polls of that state, by any viewer who may see the object (console.rendered); the user's
    permission is checked on every poll first."""
    poll = bool(getattr(request, "htmx", False))
    if poll and not admin.has_view_permission(request.user, cluster.name, namespace):
        return _status_gone(request, admin, "withdrawn", namespace, name)
    try:
        context = _detail_context(request, cluster, admin, namespace, name)
    except Http404:
        if not poll:
            raise
        return _status_gone(request, admin, "deleted", namespace, name)
    content, _ = STATUS_PANELS.get(
        status_panel_key(request, cluster, admin, namespace, name, context),
        lambda: _render_status_panel(request, admin, context),
        keep=lambda rendered: rendered[1],
    )
    if context.get("settled") and context["banner"] is None:
        return HttpResponseStopPolling(content)
    return HttpResponse(content)


@cluster_view
def object_events(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, name: str
) -> HttpResponse:
    """The object's Kubernetes Events, newest first. Loaded once after the page (and on the
    Refresh button), as the user in impersonation mode: one API request per look, never per poll."""
    admin.require(request.user, "view", cluster.name, namespace)
    context: dict[str, Any] = {"cluster": cluster, "namespace": namespace, "name": name, "events": [], "error": ""}
    try:
        # Whether it exists is a read too: in impersonation mode the cluster's RBAC decides (403).
        require_cluster_read(request.user, cluster, cluster.kind_client(admin.kind), namespace)
        obj = cluster.cache(admin.kind).get(namespace, name)
    except EmqxClientError as failure:
        return _render(
            request,
            admin,
            "_events",
            {**context, "error": gettext("The Events could not be read: %(error)s") % {"error": failure}},
        )
    if obj is None:
        raise not_found(
            gettext("No %(kind)s %(object)s in cluster %(cluster)s."),
            kind=admin.kind,
            object=f"{namespace}/{name}",
            cluster=cluster.name,
        )
    try:
        found = EventsClient(cluster.clientset_for(request.user).transport, namespace).list(involved_object=obj)
        context["events"] = sorted(found.items, key=lambda e: e.last_seen or _EPOCH, reverse=True)[:50]
    except Forbidden:
        context["error"] = gettext("You may not read Events in this namespace.")
    except EmqxClientError as failure:
        context["error"] = gettext("The Events could not be read: %(error)s") % {"error": failure}
    return _render(request, admin, "_events", context)


@cluster_view
def object_timeline(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, name: str
) -> HttpResponse:
    """The condition timeline: the transitions this console recorded (console.timeline), as
    phases with their durations."""
    # The timeline is the object's status over time: the cluster's RBAC decides it as it does the status.
    require_history_read(request, cluster, admin, namespace)
    recorded = ConditionTransition.objects.filter(cluster=cluster.name, kind=admin.kind, namespace=namespace, name=name)
    page_banner, uid = None, ""
    try:
        cache = cluster.cache(admin.kind)
        state = cache.state()
        obj = cache.get(namespace, name)
        page_banner = banner(cluster, state, admin=admin)
        if obj is not None:
            uid = obj.metadata.uid or ""
        elif state.synced:
            raise not_found(
                gettext("No %(kind)s %(object)s in cluster %(cluster)s."),
                kind=admin.kind,
                object=f"{namespace}/{name}",
                cluster=cluster.name,
            )
    except EmqxClientError as error:
        page_banner = banner(cluster, None, error=error, admin=admin)
    if not uid:  # the cluster cannot tell: the instance recorded last under this name
        uid = recorded.order_by("-at", "-id").values_list("uid", flat=True).first() or ""
    transitions = list(recorded.filter(uid=uid))
    found, now = history(transitions), timezone.now()
    return render(
        request,
        "console/timeline.html",
        {
            "admin": admin,
            "cluster": cluster,
            "banner": page_banner,
            "namespace": namespace,
            "name": name,
            "uid": uid,
            "history": found,
            "phases": found.newest_first(now),
            "strip": phase_strip(found.phases, now),
            "transitions": list(reversed(transitions)),
            "recording": recording_enabled(),
            "keep": settings.CONSOLE_TIMELINE_KEEP,
            "now": now,
        },
    )
