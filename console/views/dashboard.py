"""The dashboards: one cluster's (``/clusters/<c>/``) and the fleet's (``/dashboard/``), each
with a ``_dashboard`` partial that the page polls every 5 s while the tab is visible, and under
it the user's Recent actions (Django admin's home page panel), read once per page load: the
polls never touch the database for it.

Everything comes from the shared watch caches (and the background Events poller), read
through :meth:`Cluster.peek`, which never waits: a cluster that is down or still connecting
is shown as such at once and slows no other. Only a full page load waits, at most
``CONSOLE_DASHBOARD_WARMUP_SECONDS`` and for all clusters together, for caches that are
still starting and have not failed yet; polls never wait.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from collections.abc import Hashable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext

from console import sharedcache
from console.cluster_events import EventsSnapshot
from console.clusters import CachePeek, Cluster, cluster_names, get_cluster
from console.dashboard import (
    ClusterBoard,
    Instance,
    KindCache,
    aggregate,
    classify_summary,
    cluster_status,
    count,
    counted_kinds,
    totals_at,
)
from console.forms.audit import sees_others_entries, visible_entries
from console.memo import Remembered
from console.models import AuditEntry
from console.permissions import readable_namespaces, visible_kind_namespaces
from console.registry import site
from console.svg import state_bars, version_bars
from console.timeline import RECORDER
from console.views._common import cluster_view

RECENT_EVENTS = 10
RECENT_ACTIONS = 10


def _pending(peek: CachePeek) -> bool:
    """Still starting, and not known to have failed: worth a short wait on a page load."""
    if peek.error_kind:
        return False
    state = peek.state()
    return state is None or (not state.synced and not state.error_kind)


def _peek_all(clusters: list[Cluster], wait: float) -> dict[tuple[str, str], CachePeek]:
    by_name = {c.name: c for c in clusters}
    peeks = {(c.name, k): c.peek(k) for c in clusters for k in counted_kinds()}
    deadline = time.monotonic() + wait
    while True:
        pending = [key for key, p in peeks.items() if _pending(p)]
        if not pending or time.monotonic() >= deadline:
            return peeks
        time.sleep(0.05)
        for name, kind in pending:
            peeks[(name, kind)] = by_name[name].peek(kind)


def _kind_cache(peek: CachePeek) -> KindCache:
    state = peek.state()
    if state is None:
        return KindCache(error_kind=peek.error_kind, error=peek.error)
    return KindCache(
        synced=state.synced,
        healthy=state.healthy,
        error_kind=state.error_kind,
        error=state.error,
        last_sync=state.last_sync,
    )


def _board(request: HttpRequest, cluster: Cluster, peeks: dict[tuple[str, str], CachePeek]) -> ClusterBoard:
    """One cluster's board: the instances the user may see, by their console roles and, in
    impersonation mode, by the cluster's RBAC as the user (console.permissions.visible_namespaces:
    a LIST as the user per kind and namespace, remembered for 30 s), as on the kind's own pages.
    The permissions are asked on every request; what they select is remembered (:data:`FLEET`)."""
    caches = {kind: _kind_cache(peeks[(cluster.name, kind)]) for kind in counted_kinds()}
    status, detail = cluster_status(caches)
    board = ClusterBoard(cluster.name, status, detail, caches, operator_line=cluster.operator_line())
    parts: list[Hashable] = []
    for kind in counted_kinds():
        informer = peeks[(cluster.name, kind)].informer
        if informer is None or not caches[kind].synced:
            continue
        key, instances, namespaces = _classified(cluster.name, kind, informer)
        allowed = visible_kind_namespaces(request.user, cluster, kind, namespaces)
        board.instances += instances if allowed is None else [i for i in instances if i.namespace in allowed]
        parts.append((kind, key, allowed))
    board.key = (cluster.name, tuple(parts))
    return board


FLEET: Remembered[Any] = Remembered(64)
"""What the dashboards computed from the caches, by what it was computed from (the caches' identities and
generations, the condition timeline's memory version, the namespaces the user may see, the kinds counted): a
fleet view is one key per cluster and one for the fleet; users who see different namespaces have keys of their
own; each value holds references to the instances it lists."""


# (cluster, kind, language) -> ((the informer's serial, its generation, the recorder's memory version, the
# language), instances, their namespaces): a poll that finds nothing changed reuses the classification of the
# previous one. The language is part of it: an instance's reason ("node … not running") is translated text.
_memo: dict[tuple[str, str, str], tuple[tuple[int, int, int, str], list[Instance], list[str]]] = {}
_memo_lock = threading.Lock()


def _classified(cluster: str, kind: str, informer: Any) -> tuple[tuple[int, int, int, str], list[Instance], list[str]]:
    """(the key of this classification, the cache's instances classified, their namespaces sorted), in the
    active language (the instances' reasons are translated)."""
    language = translation.get_language() or ""
    key = (informer.serial, informer.state().generation, RECORDER.memory_version, language)
    with _memo_lock:
        cached = _memo.get((cluster, kind, language))
    if cached is not None and cached[0] == key:
        return cached
    seen_ready = RECORDER.was_ready_at
    instances = [
        classify_summary(cluster, kind, s, seen_ready=seen_ready(cluster, s.uid, s.generation or None))
        for s in sharedcache.summaries(informer, site.for_kind(kind))
    ]
    entry = (key, instances, sorted({i.namespace for i in instances}))
    with _memo_lock:
        _memo[(cluster, kind, language)] = entry
    return entry


def _events(request: HttpRequest, clusters: list[Cluster]) -> tuple[list[dict[str, Any]], list[str]]:
    """The newest Warning Events the user may see, across ``clusters``, and the clusters
    whose Events are not current (the poller's last LIST failed)."""
    rows: list[dict[str, Any]] = []
    stale: list[str] = []
    for cluster in clusters:
        snapshot: EventsSnapshot = cluster.warning_events().snapshot()
        if snapshot.error:
            stale.append(cluster.name)
        namespaces_of: dict[str, set[str]] = {}
        for event in snapshot.events:
            ref = event.involved_object
            namespaces_of.setdefault(ref.kind or "", set()).add(ref.namespace or "")
        allowed_by_kind = {
            kind: visible_kind_namespaces(request.user, cluster, kind, sorted(namespaces))
            if site.get(kind) is not None
            else readable_namespaces(request.user, cluster.name)
            for kind, namespaces in namespaces_of.items()
        }
        for event in snapshot.events:
            ref = event.involved_object
            allowed = allowed_by_kind[ref.kind or ""]
            if allowed is not None and ref.namespace not in allowed:
                continue
            rows.append({"cluster": cluster.name, "event": event, "ref": ref, "admin": site.get(ref.kind or "")})
    rows.sort(key=lambda r: r["event"].last_seen or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)
    return rows[:RECENT_EVENTS], stale


def _context(request: HttpRequest, clusters: list[Cluster], *, wait: float, scope: Cluster | None) -> dict[str, Any]:
    now = timezone.now()
    threshold = dt.timedelta(seconds=settings.CONSOLE_NOT_READY_THRESHOLD_SECONDS)
    peeks = _peek_all(clusters, wait)
    boards = [_board(request, c, peeks) for c in clusters]
    for board in boards:
        kinds = tuple(board.served_kinds)
        counts = FLEET.get(("board", board.key, kinds), functools.partial(count, board.instances, kinds=kinds))
        board.totals = totals_at(counts, now=now, threshold=threshold)
    if scope is None:  # the fleet: clusters that answer now; the others are listed apart
        served = tuple(k for k in counted_kinds() if any(k in b.served_kinds for b in boards))
        answering = [b for b in boards if b.counted]
        counts = FLEET.get(
            ("fleet", tuple(b.key for b in answering), served),
            lambda: count([i for b in answering for i in b.instances], kinds=served),
        )
        totals = totals_at(counts, now=now, threshold=threshold)
    else:  # one cluster: its numbers, the last known ones under a banner if it went away
        totals = boards[0].totals or aggregate([], now=now, threshold=threshold)
    events, events_stale = _events(request, clusters)
    return {
        "cluster": scope,
        "banner": _banner(boards[0]) if scope is not None else None,
        "boards": boards,
        "down": [b for b in boards if not b.counted],
        "totals": totals,
        "state_chart": state_bars(totals),
        "version_chart": version_bars(totals.versions),
        "threshold": threshold,
        "events": events,
        "events_stale": events_stale,
        "now": now,
    }


def _banner(board: ClusterBoard) -> dict[str, Any] | None:
    """The page banner of one cluster's dashboard when the cluster is not answering."""
    if board.status in ("ok", "connecting"):
        return None
    since = board.stale_since
    return {
        "level": "error",
        "title": gettext("Cluster %(cluster)s is unreachable") % {"cluster": board.name}
        if board.status == "unreachable"
        else gettext("Cluster %(cluster)s cannot be read") % {"cluster": board.name},
        "detail": board.detail,
        "stale": since is not None,
        "since": time.strftime("%H:%M:%S UTC", time.gmtime(since)) if since else "",
    }


def recent_actions(request: HttpRequest, clusters: list[Cluster]) -> dict[str, Any]:
    """The Recent actions panel (Django admin's "My actions" on its index page), on ``clusters``:
    ``my_actions``, the user's own last RECENT_ACTIONS audit entries; ``others_actions``, for those
    who may see other people's entries (console.forms.audit.visible_entries: superusers, and
    Admins in the namespaces they administer), everyone's last RECENT_ACTIONS there, else None.
    Two queries, on a full page load only."""
    names, user = [c.name for c in clusters], request.user
    if not user.is_authenticated:  # the views require a log-in; this tells the type checker
        return {"my_actions": [], "others_actions": None}
    mine = AuditEntry.objects.filter(user=user, cluster__in=names)[:RECENT_ACTIONS]
    others = None
    if sees_others_entries(user):
        others = list(visible_entries(user).filter(cluster__in=names)[:RECENT_ACTIONS])
    return {"my_actions": list(mine), "others_actions": others}


@login_required
def fleet_dashboard(request: HttpRequest) -> HttpResponse:
    clusters = [c for c in (get_cluster(n) for n in cluster_names()) if c is not None]
    context = _context(request, clusters, wait=settings.CONSOLE_DASHBOARD_WARMUP_SECONDS, scope=None)
    return render(request, "console/dashboard/dashboard.html", {**context, **recent_actions(request, clusters)})


@login_required
def fleet_dashboard_partial(request: HttpRequest) -> HttpResponse:
    """The fleet dashboard's body alone, for its poll: never waits."""
    clusters = [c for c in (get_cluster(n) for n in cluster_names()) if c is not None]
    return render(request, "console/dashboard/_dashboard.html", _context(request, clusters, wait=0, scope=None))


@cluster_view
def dashboard(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    context = _context(request, [cluster], wait=settings.CONSOLE_DASHBOARD_WARMUP_SECONDS, scope=cluster)
    return render(request, "console/dashboard/dashboard.html", {**context, **recent_actions(request, [cluster])})


@cluster_view
def dashboard_partial(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """One cluster's dashboard body alone, for its poll: never waits."""
    return render(request, "console/dashboard/_dashboard.html", _context(request, [cluster], wait=0, scope=cluster))
