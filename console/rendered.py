"""Remembered HTML of the status polls (issue 18: a poll's p50 at most 3 ms at 1, 10 and 100 viewers).

A detail page polls its status panel every 2 s while the object has not settled, and every viewer of
that object polls the same panel. Rendering it is most of a poll's CPU time (bench/poll_profile.py:
the template about 14 of 23 ms under cProfile), although between two changes of the object the HTML
is the same. So the panel is rendered once per state of what it shows, and that HTML is served to
every later poll of the same state, by every viewer.

The key (``status_panel_key``) holds everything the HTML depends on, or a viewer would see a wrong
page: the cluster, kind, namespace and name; the object's uid and resourceVersion (the API server
changes it on every write, status included); the banner (the cache's health and sync state) with the
time of its last sync; whether the poll has settled; whether the console saw the object Ready at its
generation (console.timeline.RECORDER: the "Degraded" note); the active language and time zone;
whether the request is an htmx poll (out-of-band swaps); the permissions the kind's panel shows
links by (``ResourceAdmin.status_panel_permissions``); and for each condition, the whole minutes
since its lastTransitionTime, which is what its "3 minutes ago" says (django.utils.timesince counts
whole minutes from that time), so that text still advances.

What is not in the key must not be in the HTML: nothing per request or per user (no CSRF token, no
CSP nonce: the panel has neither; a render that asked for the CSRF token is not remembered). Whether
the user may see the object at all is checked on every request before anything is served
(console.views.objects.object_status). The memory holds rendered HTML of objects, never sessions:
a bounded LRU per process (``STATUS_PANELS``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from typing import Any

from django.http import HttpRequest
from django.utils import timezone, translation

from console.clusters import Cluster
from console.memo import Remembered
from console.registry import ResourceAdmin

PANELS_KEPT = 256
"""How many status panels a process remembers (the least recently served go first). A panel is
0.5-2 KiB in the tests' objects (tests/console/test_status_poll_memo.py), a few KiB with a table of
nodes: 256 of them stay around 1 MiB, and cover every object being watched by someone at once in a
fleet of thousands (only objects that have not settled are polled)."""


STATUS_PANELS: Remembered[tuple[str, bool]] = Remembered(PANELS_KEPT)
"""The status panels of this process, each with whether it may be served to other requests
(console.views.objects.object_status)."""


def _minutes_since(when: dt.datetime | None, now: dt.datetime) -> int | None:
    """Whole minutes from ``when`` to ``now`` (what ``timesince`` shows changes only when this does;
    0 for a time in the future, as timesince says '0 minutes')."""
    if when is None:
        return None
    return max(0, int((now - when).total_seconds()) // 60)


def status_panel_key(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, name: str, context: dict[str, Any]
) -> Hashable | None:
    """The key under which the status panel rendered from ``context`` (console.views.objects'
    ``_detail_context``) may be remembered and served to other polls, or None when it must be
    rendered for this request alone (no object: the cluster does not answer, or the cache is
    still loading; both are cheap to render). See the module's docstring for what it holds."""
    obj = context.get("obj")
    summary = context.get("summary")
    if obj is None or summary is None:
        return None
    page_banner = context.get("banner")
    now = timezone.now()
    return (
        cluster.name,
        admin.slug,
        namespace,
        name,
        obj.metadata.uid,
        obj.metadata.resource_version,
        tuple(sorted(page_banner.items())) if page_banner else None,
        context.get("last_sync") if page_banner else None,
        bool(context.get("settled")),
        context.get("health"),
        translation.get_language(),
        timezone.get_current_timezone_name(),
        bool(getattr(request, "htmx", False)),
        tuple(
            getattr(admin, f"has_{verb}_permission")(request.user, cluster.name, namespace)
            for verb in admin.status_panel_permissions
        ),
        tuple(_minutes_since(c.last_transition_time, now) for c in summary.conditions),
    )
