"""EMQX (apps.emqx.io/v2beta1) pages: list, detail, and their live partials.

Reads come from the cluster's shared watch cache, so pages and polls cost the API server
nothing; a cluster that is down still shows its last known state under a banner. The list
also pages through the API server itself (limit/continue) while the cache is loading or
when asked to (console/listing.py).
"""

from __future__ import annotations

import datetime as dt

import yaml
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from console import listing
from console.clusters import Cluster
from console.emqx_summary import summarize
from console.forms.emqx_filter import EMQXFilterForm, filter_emqx
from console.permissions import require, require_cluster_read
from console.views._common import banner, cluster_view
from emqx.errors import EmqxClientError, Forbidden
from emqx.events import EventsClient
from emqx.models._base import Resource


def object_yaml(obj: Resource) -> str:
    """The object as YAML for a person (managedFields left out). libyaml's dumper gives the
    same text four times faster; only full pages need it, never the status polls."""
    data = obj.to_dict()
    data.get("metadata", {}).pop("managedFields", None)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False)


_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)

# htmx stops polling when a poll answers 286.
HTMX_STOP_POLLING = 286
# How long the list page waits for a starting cache before it reads page 1 from the API.
LIST_SYNC_WAIT_S = 1.0


def _list_context(request: HttpRequest, cluster: Cluster) -> dict[str, object]:
    """The list from the shared cache (the default: no API request), or one page from the API
    server while the cache loads, for a continue token, or on request (see console.listing)."""
    form = EMQXFilterForm(request.GET or None)
    if listing.wants_api(request.GET):
        # The cache is only the fallback here: do not wait for one that is still loading.
        return listing.api_context(request, cluster, form, cluster.peek("EMQX").informer)
    try:
        # A fleet whose first LIST takes longer than this gets page 1 from the API meanwhile.
        cache = cluster.emqx_cache(wait=LIST_SYNC_WAIT_S)
    except EmqxClientError as error:
        context = {"cluster": cluster, "form": form, "banner": banner(cluster, None, str(error)), "listing": None}
        return {**context, "query": request.GET.urlencode(), "source": "cache", "poll": True}
    state = cache.state()
    if listing.choose_source(request.GET, state) == "api":
        return listing.api_context(request, cluster, form, cache)
    items, namespaces = listing.visible_cached(request, cluster, cache)
    return {
        "cluster": cluster,
        "form": form,
        "banner": banner(cluster, state),
        "listing": filter_emqx(items, form) if state.synced else None,
        "namespaces": namespaces,
        "query": request.GET.urlencode(),
        "source": "cache",
        "poll": True,
        "api_query": listing.api_query(request.GET),
    }


@cluster_view
def emqx_list(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    return render(request, "console/emqx/list.html", _list_context(request, cluster))


@cluster_view
def emqx_rows(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """The list's table body alone, for the list page's poll (every 5 s while visible).

    No poll costs an API request. From the cache (the default) it reads memory. While the
    cache is still loading, the page showed page 1 from the API and keeps polling: each poll
    answers 204 (htmx leaves the table as it is) without listing again, and the cache's table
    (sortable, live) as soon as the cache has synced. API pages reached through "next" or asked
    for with ``source=api`` are not polled (the page leaves hx-trigger out): re-listing the API
    every 5 s would be a LIST per viewer forever. Asked for anyway, this view answers them
    as the page does, with one LIST."""
    if not listing.wants_api(request.GET):
        informer = cluster.peek("EMQX").informer
        if informer is not None and listing.choose_source(request.GET, informer.state()) == "api":
            return HttpResponse(status=204)
    return render(request, "console/emqx/_table.html", _list_context(request, cluster))


def _detail_context(request: HttpRequest, cluster: Cluster, namespace: str, name: str) -> dict[str, object]:
    require(request.user, "get", "EMQX", namespace, cluster.name)
    try:
        cache = cluster.emqx_cache()
    except EmqxClientError as error:
        return {"cluster": cluster, "banner": banner(cluster, None, str(error)), "emqx": None}
    require_cluster_read(request.user, cluster, cluster.clientset.apps_v2beta1.emqxes(namespace), namespace)
    state = cache.state()
    obj = cache.get(namespace, name)
    if obj is None and state.synced:
        raise Http404(f"No EMQX {namespace}/{name} in cluster {cluster.name}.")
    return {
        "cluster": cluster,
        "banner": banner(cluster, state),
        "namespace": namespace,
        "name": name,
        "obj": obj,
        "emqx": summarize(obj) if obj else None,
    }


@cluster_view
def emqx_detail(request: HttpRequest, cluster: Cluster, namespace: str, name: str) -> HttpResponse:
    context = _detail_context(request, cluster, namespace, name)
    obj = context.get("obj")
    context["yaml"] = object_yaml(obj) if isinstance(obj, Resource) else ""
    return render(request, "console/emqx/detail.html", context)


@cluster_view
def emqx_status(request: HttpRequest, cluster: Cluster, namespace: str, name: str) -> HttpResponse:
    """The live status panel alone. Answers 286 (htmx: stop polling) once the instance is
    Ready for its current spec; the page polls again after an edit."""
    context = _detail_context(request, cluster, namespace, name)
    response = render(request, "console/emqx/_status.html", context)
    summary = context.get("emqx")
    if summary is not None and summary.settled and context["banner"] is None:  # type: ignore[attr-defined]
        response.status_code = HTMX_STOP_POLLING
    return response


@cluster_view
def emqx_events(request: HttpRequest, cluster: Cluster, namespace: str, name: str) -> HttpResponse:
    """The instance's Kubernetes Events, newest first. Loaded once after the page (and on the
    Refresh button), as the user in impersonation mode: one API request per look, never per poll."""
    require(request.user, "get", "EMQX", namespace, cluster.name)
    obj = cluster.emqx_cache().get(namespace, name)
    if obj is None:
        raise Http404(f"No EMQX {namespace}/{name} in cluster {cluster.name}.")
    events, error = [], ""
    try:
        found = EventsClient(cluster.clientset_for(request.user).transport, namespace).list(involved_object=obj)
        events = sorted(found.items, key=lambda e: e.last_seen or _EPOCH, reverse=True)[:50]
    except Forbidden:
        error = "You may not read Events in this namespace."
    except EmqxClientError as failure:
        error = f"The Events could not be read: {failure}"
    context = {"cluster": cluster, "namespace": namespace, "name": name, "events": events, "error": error}
    return render(request, "console/emqx/_events.html", context)
