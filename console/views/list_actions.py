"""The change list's actions (console/actions.py), as Django admin runs them (``response_action``,
``delete_selected``): the list's action bar posts the action and the selection here; the answer is
a confirmation page listing every object the action will touch, with each one's resourceVersion
pinned (signed); confirming runs it object by object and sends the user to a result page that says
which succeeded and which failed and why, and follows the touched objects live until they settle.

The selection is re-read from the watch cache, narrowed to what the user may see: the rows ticked,
or with "all matching" every object the list's filters match, re-evaluated here. Objects the user
may not act on (the action's permission in their namespace) or the action does not apply to are
listed apart with why, and are not touched.
"""

from __future__ import annotations

import functools
import secrets
import time
from typing import Any

from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext
from django_htmx.http import HttpResponseStopPolling

from console import actions, listing
from console.actions import AdminAction, Outcome, Pinned
from console.clusters import Cluster
from console.forms.actions import ActionSelectionForm
from console.forms.base import production_reasons
from console.forms.filters import ObjectFilterForm, matching_objects
from console.permissions import not_found
from console.registry import ResourceAdmin
from console.summaries import Summary
from console.views._common import cluster_view
from console.views.objects import AFTER_SAVE_WATCH_S, LIST_SYNC_WAIT_S, settled
from emqx.cache import Cache
from emqx.errors import EmqxClientError
from emqx.models._base import Resource

__all__ = ["action_result", "changelist_action"]

_SALT = "console.actions.targets"
# How long a confirmation page may be confirmed (then the selection is made again).
CONFIRM_MAX_AGE_S = 60 * 60
# The session keeps this many results (the newest): each is small (a line per object).
RESULTS_KEPT = 20
_SESSION_KEY = "console.action_results"


def _list_url(cluster: Cluster, admin: ResourceAdmin, query: str) -> str:
    url = reverse(admin.url_name("list"), args=[cluster.name])
    return f"{url}?{query}" if query else url


def _render(
    request: HttpRequest, admin: ResourceAdmin, page: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(request, admin.get_template_names(page), {"admin": admin, **context}, status=status)


def _cached(request: HttpRequest, cluster: Cluster, admin: ResourceAdmin) -> tuple[Cache[Any], list[Summary]] | str:
    """The watch cache and the summaries of the objects of the kind the user may see; or why there are
    none to act on (the cluster cannot be used, or its cache is still loading)."""
    try:
        cache = cluster.cache(admin.kind, wait=LIST_SYNC_WAIT_S)
    except EmqxClientError as error:
        return gettext("Cluster %(cluster)s cannot be used right now (%(error)s); nothing was changed.") % {
            "cluster": cluster.name,
            "error": error,
        }
    if not cache.state().synced:
        return gettext("The console is still loading the %(kinds)s of cluster %(cluster)s; try again.") % {
            "kinds": admin.verbose_name_plural,
            "cluster": cluster.name,
        }
    return cache, listing.visible_cached(request, cluster, admin, cache)[0]


def _permitted(request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, action: AdminAction, ns: str) -> bool:
    return bool(getattr(admin, f"has_{action.permission}_permission")(request.user, cluster.name, ns))


class _Production:
    """Why an object needs its name typed (console.forms.base.production_reasons), reading each
    namespace's labels once per request."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.labels: dict[str, dict[str, str] | None] = {}

    def __call__(self, obj: Resource) -> list[str]:
        ns = obj.metadata.namespace or ""
        if ns not in self.labels:
            self.labels[ns] = self.cluster.namespace_labels(ns)
        return production_reasons(self.labels[ns], obj.metadata.labels or {})


def _sign(request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, action: AdminAction, objs: list[Any]) -> str:
    """The objects the confirmation page shows, pinned (uid, resourceVersion), signed and bound to
    the user, cluster, kind and action: the confirmation cannot be made to touch anything else."""
    pinned = [[o.metadata.namespace, o.metadata.name, o.metadata.uid, o.metadata.resource_version] for o in objs]
    return signing.dumps([request.user.pk, cluster.name, admin.kind, action.name, pinned], salt=_SALT, compress=True)


def _unsign(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, action: AdminAction, token: str
) -> list[Pinned] | None:
    """The pinned objects of a confirmation page; None when the token is not this console's for this
    user, cluster, kind and action, or is older than CONFIRM_MAX_AGE_S."""
    try:
        user, cluster_name, kind, name, pinned = signing.loads(token, salt=_SALT, max_age=CONFIRM_MAX_AGE_S)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if [user, cluster_name, kind, name] != [request.user.pk, cluster.name, admin.kind, action.name]:
        return None
    return [Pinned(*(str(part or "") for part in item)) for item in pinned]


def _confirmation(
    request: HttpRequest,
    cluster: Cluster,
    admin: ResourceAdmin,
    action: AdminAction,
    objs: list[Any],
    *,
    query: str,
    missing: int,
    action_form: Any = None,
    token: str = "",
    status: int = 200,
) -> HttpResponse:
    """The confirmation page: the objects the action will touch, then those it leaves out and why."""
    production = _Production(cluster)
    rows: list[dict[str, Any]] = []
    skipped: list[tuple[Any, str]] = []
    for obj in objs:
        summary = admin.summarize(obj)
        ns = obj.metadata.namespace or ""
        if not _permitted(request, cluster, admin, action, ns):
            if action.permission == "delete":
                why = gettext("you may not delete %(kinds)s in %(namespace)s")
            else:
                why = gettext("you may not change %(kinds)s in %(namespace)s")
            skipped.append((summary, why % {"kinds": admin.verbose_name_plural, "namespace": ns}))
        elif why := action.why_not(obj):
            skipped.append((summary, why))
        else:
            reasons = action.typed_name_reasons(obj, functools.partial(production, obj), None)
            typed = request.POST.get(f"confirm:{ns}/{summary.name}", "") if token else ""
            rows.append(
                {"obj": obj, "summary": summary, "now": action.now(obj, summary), "reasons": reasons, "typed": typed}
            )
    context = {
        "cluster": cluster,
        "action": action,
        "rows": rows,
        "skipped": skipped,
        "missing": missing,
        "action_form": action_form if action_form is not None else action.get_form(),
        "targets": token or _sign(request, cluster, admin, action, [r["obj"] for r in rows]),
        "changelist_query": query,
        "list_url": _list_url(cluster, admin, query),
        "typed_name": any(r["reasons"] for r in rows),
    }
    return _render(request, admin, "action_confirmation", context, status=status)


@cluster_view
def changelist_action(request: HttpRequest, cluster: Cluster, admin: ResourceAdmin) -> HttpResponse:
    """The list's action bar posts here (POST only: 405 otherwise). Without ``step=confirm``: the
    confirmation page. With it (and the page's signed ``targets``): run the action, remember the
    outcomes in the session and redirect to the result page. A selection that names nothing, an
    unknown action, or a confirmation that expired or was altered goes back to the list with a
    message; objects the user may not see are never named (as if they did not exist)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    offered = admin.get_actions(request.user, cluster.name)
    form = ActionSelectionForm(request.POST, actions=[(a.name, str(a.label)) for a in offered])
    query = str(request.POST.get("changelist_query", ""))[:4096]
    back = _list_url(cluster, admin, query)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.warning(request, str(error))
        return redirect(back)
    action = admin.get_list_action(form.cleaned_data["action"])
    if form.cleaned_data["step"] == "confirm":
        return _confirmed(request, cluster, admin, action, query)
    cached = _cached(request, cluster, admin)
    if isinstance(cached, str):
        messages.error(request, cached)
        return redirect(back)
    cache, visible = cached
    if form.cleaned_data["select_across"]:
        filters = ObjectFilterForm(QueryDict(query), admin=admin)
        keys = [(s.namespace, s.name) for s in matching_objects(visible, filters)]
    else:
        shown = {(s.namespace, s.name) for s in visible}
        keys = [key for key in form.cleaned_data["selected"] if key in shown]
    objs = [obj for key in keys if (obj := cache.get(*key)) is not None]
    missing = 0 if form.cleaned_data["select_across"] else len(form.cleaned_data["selected"]) - len(objs)
    if not objs:
        messages.warning(request, gettext("None of the selected objects is there any more; nothing was changed."))
        return redirect(back)
    return _confirmation(request, cluster, admin, action, objs, query=query, missing=missing)


def _confirmed(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, action: AdminAction, query: str
) -> HttpResponse:
    """Run the confirmed action on the pinned objects (or show the page again with the errors of the
    action's own form), then redirect to its result."""
    token = str(request.POST.get("targets", ""))
    targets = _unsign(request, cluster, admin, action, token)
    if targets is None:
        messages.error(request, gettext("This confirmation expired or was altered; nothing was changed. Select again."))
        return redirect(_list_url(cluster, admin, query))
    action_form = action.get_form(request.POST)
    if action_form is not None and not action_form.is_valid():
        cached = _cached(request, cluster, admin)
        objs: list[Resource] = []
        if not isinstance(cached, str):
            shown = {(s.namespace, s.name) for s in cached[1]}
            wanted = [(t.namespace, t.name) for t in targets if (t.namespace, t.name) in shown]
            objs = [obj for key in wanted if (obj := cached[0].get(*key)) is not None]
        return _confirmation(
            request, cluster, admin, action, objs, query=query, missing=0, action_form=action_form, token=token
        )
    values = dict(action_form.cleaned_data) if action_form is not None else {}
    typed = {(t.namespace, t.name): str(request.POST.get(f"confirm:{t.namespace}/{t.name}", "")) for t in targets}
    started = time.time()
    outcomes = actions.run(
        request, cluster, admin, action, targets, values, production=_Production(cluster), typed=typed
    )
    batch = secrets.token_urlsafe(12)
    results: dict[str, Any] = dict(request.session.get(_SESSION_KEY, {}))
    results[batch] = {
        "cluster": cluster.name,
        "slug": admin.slug,
        "action": action.name,
        "at": started,
        "query": query,
        "outcomes": [[o.namespace, o.name, o.ok, o.message, o.resource_version] for o in outcomes],
    }
    request.session[_SESSION_KEY] = dict(sorted(results.items(), key=lambda item: item[1]["at"])[-RESULTS_KEPT:])
    return redirect(reverse(admin.url_name("action_result"), args=[cluster.name, batch]))


def _result_rows(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, action: AdminAction, record: dict[str, Any]
) -> tuple[list[dict[str, Any]], bool]:
    """Each object of a result, with its current state from the cache, and whether every object the
    action succeeded on has settled (or is gone): then the page stops following them."""
    try:
        cache: Any = cluster.cache(admin.kind, wait=0)
    except EmqxClientError:
        cache = None
    since = record["at"] if action.changes_spec and time.time() - record["at"] < AFTER_SAVE_WATCH_S else None
    rows, all_settled = [], True
    for ns, name, ok, message, resource_version in record["outcomes"]:
        outcome = Outcome(ns, name, ok, message, resource_version)
        visible = admin.has_view_permission(request.user, cluster.name, ns)
        obj = cache.get(ns, name) if cache is not None and visible else None
        summary = admin.summarize(obj) if obj is not None else None
        if not ok or summary is None:
            done = True
        elif summary.deleting:
            done = True  # waits for finalizers: nothing this page can wait for
        else:
            caught_up = obj is not None and obj.metadata.resource_version != resource_version
            done = caught_up and settled(admin, summary, since)
        all_settled = all_settled and done
        rows.append({"outcome": outcome, "summary": summary, "settled": done, "visible": visible})
    return rows, all_settled


@cluster_view
def action_result(request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, batch: str) -> HttpResponse:
    """What an action did, object by object (succeeded, or failed and why), and the touched objects'
    states, polled every 2 s (htmx: the ``_action_result`` partial) until each has settled (286).
    404 for a result this user's session does not hold."""
    record = request.session.get(_SESSION_KEY, {}).get(batch)
    if not isinstance(record, dict) or (record.get("cluster"), record.get("slug")) != (cluster.name, admin.slug):
        raise not_found(gettext("No such action result (results are kept in your session only)."))
    try:
        action = admin.get_list_action(str(record.get("action")))
    except KeyError:
        raise not_found(gettext("No such action.")) from None
    rows, all_settled = _result_rows(request, cluster, admin, action, record)
    failed = sum(1 for r in rows if not r["outcome"].ok)
    context = {
        "admin": admin,
        "cluster": cluster,
        "action": action,
        "rows": rows,
        "succeeded": len(rows) - failed,
        "failed": failed,
        "all_settled": all_settled,
        "list_url": _list_url(cluster, admin, str(record.get("query", ""))),
        "namespaces": sorted({r["outcome"].namespace for r in rows}),
    }
    if getattr(request, "htmx", False):
        content = render_to_string(admin.get_template_names("_action_result"), context, request)
        return HttpResponseStopPolling(content) if all_settled else HttpResponse(content)
    return _render(request, admin, "action_result", context)
