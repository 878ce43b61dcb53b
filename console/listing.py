"""The change list's second source: one page straight from the API server (``limit``/``continue``).

The list page (of any kind) reads the shared watch cache by default: it costs the API server nothing and
can sort and search the whole fleet. Three cases read a page from the API server instead:

* the cache has not finished its first LIST yet (console just started, big fleet) and the
  cluster answers: page 1 comes from the API rather than "Loading…";
* the request carries a ``continue`` token (the "next" link of an API page): the token is
  the API's, so following it keeps reading from the API to the end of the list, even after
  the cache has synced;
* ``source=api``: someone asked for the API server's live answer.

An API page is one LIST request as the user (their own identity in impersonation mode), in
the API's order: by storage key, ``namespace/name``. That is the cache's default sort
(namespace, then name), so page 1 looks the same, except where one namespace's name extends
another's with a character sorting before "/": the API puts ``ns-b/x`` before ``ns/x``.
The label selector goes to the API server, the namespace in the path; the name search and the
sidebar's choices (state, version, label facets) can only filter each page as it arrives, and
nothing is counted (the sidebar says so). The API has no "previous": pages go forward from the
first one, and a token expires with the snapshot it reads (etcd compaction, about 5 minutes).

Namespaces: a user who may read one namespace gets it listed (not the cluster, then
filtered); one who may read several lists the cluster and sees only theirs, so a page can
be short or empty, and the remaining count is not shown (it would count the others).

Continue tokens never reach the browser as the API server wrote them: a raw token is the next
storage key (``namespace/name``, base64), so it would name objects in namespaces the user may not
read, and a forged one would walk them. The "next" link carries the token sealed (:func:`seal`:
encrypted and authenticated with a key derived from SECRET_KEY, bound to the user, cluster, kind,
namespace and selector); anything else in ``continue`` is answered as an expired listing.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.fernet import Fernet, InvalidToken
from django.http import HttpRequest, QueryDict
from django.utils.crypto import salted_hmac

from console import impersonation, sharedcache
from console.clusters import Cluster
from console.forms.filters import PAGE_SIZE, ObjectFilterForm, facet_matcher, filter_objects, valid_fields
from console.permissions import readable_namespaces, visible_namespaces
from console.registry import ResourceAdmin
from console.summaries import Summary
from console.views._common import banner
from emqx.cache import Cache, CacheState
from emqx.errors import BadRequest, ClusterUnreachable, EmqxClientError, Forbidden, Gone, Status
from emqx.models._base import ListMeta

Source = Literal["cache", "api"]

# A sealed continue token is a few hundred characters; anything much longer is not one.
MAX_TOKEN_LENGTH = 8192
# How long a "next" link works: longer than the API's own token (about 5 minutes, etcd compaction).
SEALED_TOKEN_TTL_S = 30 * 60
# While the cache loads, the API is worth asking unless the cache already knows it will not help.
_API_HELPS_WHEN = frozenset({"", "forbidden", "error"})

EXPIRED = (
    "This listing expired on the API server (continue tokens last about 5 minutes); start again from the first page."
)


@dataclass(frozen=True)
class ApiPage:
    """One page of objects as the API server listed them."""

    items: list[Summary]
    continue_token: str
    """The token for the next page, sealed (:func:`seal`); '' on the last one."""
    remaining: int | None
    """``remainingItemCount`` when the API gives it (not with a label selector) and it counts
    only what this user may see; None otherwise."""
    number: int
    """1 for the first page, carried forward in the links (the API does not count pages)."""
    listed: int
    """How many the API returned that the user may see, before the name search."""
    source: Source = "api"

    @property
    def has_next(self) -> bool:
        return bool(self.continue_token)


def wants_api(params: Mapping[str, str]) -> bool:
    """The request itself asks for the API: a continue token, or ``source=api``."""
    return bool(params.get("continue")) or params.get("source") == "api"


def choose_source(params: Mapping[str, str], state: CacheState | None) -> Source:
    """Where the list page reads from: the API when the request asks for it (see
    :func:`wants_api`) or while the cache is still loading and the cluster answers;
    the cache otherwise (also when it cannot even be created: its banner says why).
    A cache that is down, refused or not serving EMQX keeps the cache source: the API would
    give the same answer, and a dead cluster would hold the page for the connect timeout."""
    if wants_api(params):
        return "api"
    if state is not None and not state.synced and state.error_kind in _API_HELPS_WHEN:
        return "api"
    return "cache"


def _fernet() -> Fernet:
    key = salted_hmac("console.listing.continue", "fernet-key", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _scope(request: HttpRequest, cluster: Cluster, form: ObjectFilterForm) -> list[str]:
    data = valid_fields(form)
    user = request.user
    return [
        str(user.pk if user.is_authenticated else ""),
        cluster.name,
        form.admin.kind,
        str(data.get("namespace") or ""),
        str(data.get("labels") or ""),
    ]


def seal(token: str, scope: list[str]) -> str:
    """The API's continue ``token`` as the browser may see it: encrypted and authenticated
    (Fernet, with a key derived from SECRET_KEY), bound to ``scope`` (user, cluster, kind,
    namespace, selector: :func:`_scope`). URL-safe text of a few hundred characters."""
    return _fernet().encrypt(json.dumps([token, scope]).encode()).decode()


def unseal(sealed: str, scope: list[str]) -> str | None:
    """The API's token inside ``sealed``; None when it was not sealed by this console for this
    same ``scope``, was altered, or is older than SEALED_TOKEN_TTL_S."""
    try:
        token, bound = json.loads(_fernet().decrypt(sealed.encode(), ttl=SEALED_TOKEN_TTL_S))
    except (InvalidToken, ValueError, TypeError):
        return None
    return token if bound == scope and isinstance(token, str) else None


def read_page(request: HttpRequest, cluster: Cluster, form: ObjectFilterForm, params: Mapping[str, str]) -> ApiPage:
    """One LIST (``limit=PAGE_SIZE``) as the user, narrowed to the namespaces they may read.
    Raises the client's errors (Gone, BadRequest, Forbidden, ClusterUnreachable ...); a
    ``continue`` that is not a token this console sealed for this listing raises BadRequest
    without any request (the page says the listing expired)."""
    data = valid_fields(form)
    chosen: str = data.get("namespace") or ""
    sealed = params.get("continue", "")
    number = (data.get("page") or 1) if sealed else 1
    if len(sealed) > MAX_TOKEN_LENGTH:  # not sent: answered as the API server would
        raise BadRequest(Status(code=400, reason="BadRequest", message="invalid continue token: too long"))
    scope = _scope(request, cluster, form)
    token = unseal(sealed, scope) if sealed else ""
    if token is None:
        raise BadRequest(Status(code=400, reason="BadRequest", message="invalid continue token"))
    allowed = readable_namespaces(request.user, cluster.name)
    if chosen and allowed is not None and chosen not in allowed:
        return ApiPage(items=[], continue_token="", remaining=None, number=number, listed=0)
    if not chosen and allowed is not None and len(allowed) <= 1:
        if not allowed:
            return ApiPage(items=[], continue_token="", remaining=None, number=number, listed=0)
        chosen = next(iter(allowed))  # one namespace: list it, not the cluster and then filter
    client = cluster.client_for(request.user, form.admin.kind, chosen or None)
    found = client.list(limit=PAGE_SIZE, continue_=token or None, label_selector=data.get("labels") or None)
    page = _page(
        request, cluster, form, found.items, found.metadata, data, number, narrowed=not chosen and bool(allowed)
    )
    return dataclasses.replace(page, continue_token=seal(page.continue_token, scope) if page.continue_token else "")


def _page(
    request: HttpRequest,
    cluster: Cluster,
    form: ObjectFilterForm,
    items: list[Any],
    meta: ListMeta,
    data: Mapping[str, Any],
    number: int,
    *,
    narrowed: bool,
) -> ApiPage:
    seen = sorted({o.metadata.namespace or "" for o in items})
    visible = visible_namespaces(request.user, cluster, cluster.kind_client(form.admin.kind), seen)
    mine = [o for o in items if visible is None or o.metadata.namespace in visible]
    query = (data.get("q") or "").lower()
    # The name search and the sidebar's choices (state, version, label facets) apply page by page.
    facets = facet_matcher(form)
    rows = [s for s in (form.admin.summarize(o) for o in mine if query in (o.metadata.name or "").lower()) if facets(s)]
    # A count that includes namespaces the user may not read would tell them they exist.
    remaining = None if narrowed or (visible is not None and set(seen) - visible) else meta.remaining_item_count
    return ApiPage(
        items=rows,
        continue_token=meta.continue_ or "",
        remaining=remaining,
        number=number,
        listed=len(mine),
    )


def links(params: QueryDict, page: ApiPage | None) -> dict[str, str]:
    """Query strings for the API page's footer: next (with the token and the page count),
    the first page (same source), and the cached list (sortable)."""
    base = params.copy()
    for key in ("continue", "page"):
        base.pop(key, None)
    result = {"first": base.urlencode()}
    cached = base.copy()
    cached.pop("source", None)
    result["cached"] = cached.urlencode()
    if page is not None and page.has_next:
        following = base.copy()
        following["continue"] = page.continue_token
        following["page"] = str(page.number + 1)
        result["next"] = following.urlencode()
    return result


def api_query(params: QueryDict) -> str:
    """The cached list's filters as an API-page request (first page; the API cannot sort)."""
    query = params.copy()
    for key in ("continue", "page", "sort"):
        query.pop(key, None)
    query["source"] = "api"
    return str(query.urlencode())


def _unreachable(state: CacheState | None, error: ClusterUnreachable) -> CacheState:
    """The cache's state as the banner should tell it when the API did not answer: the
    informer may not have noticed yet, but whatever it holds is now the last known state."""
    if state is None:
        state = CacheState(synced=False, healthy=False, error="", error_kind="", last_sync=None, generation=0)
    return dataclasses.replace(state, healthy=False, error=str(error), error_kind="unreachable")


def api_context(
    request: HttpRequest, cluster: Cluster, form: ObjectFilterForm, cache: Cache[Any] | None
) -> dict[str, Any]:
    """The list page's context for an API page: the page, or why there is none (an expired
    token, a selector the server refused, a namespace the cluster does not let the user list);
    an unreachable cluster falls back to the cache's last known state under the banner."""
    state = cache.state() if cache is not None else None
    params = request.GET
    context: dict[str, Any] = {
        "cluster": cluster,
        "form": form,
        "source": "api",
        "listing": None,
        "api_page": None,
        "api_problem": "",
        "expired": False,
        "cache_synced": bool(state and state.synced),
        "poll": not wants_api(params),
        "banner": banner(cluster, state, admin=form.admin),
        "query": params.urlencode(),
    }
    try:
        context["api_page"] = read_page(request, cluster, form, params)
    except ClusterUnreachable as error:
        # As the cache's list shows it: the last known state if there is one, else "no data yet".
        context["banner"] = banner(cluster, _unreachable(state, error), admin=form.admin)
        context["source"], context["poll"] = "cache", False
        if cache is not None and state is not None and state.synced:
            context["listing"] = filter_objects(visible_cached(request, cluster, form.admin, cache)[0], form)
    except Gone:
        context["expired"] = True
    except BadRequest as error:
        if params.get("continue") and (not error.message or "continue" in error.message):
            context["expired"] = True
        elif form.is_valid() and form.cleaned_data.get("labels"):
            form.add_error("labels", f"The API server refused it: {error.message}")
        else:
            context["api_problem"] = f"The API server refused the request: {error.message}"
    except Forbidden:
        who = impersonation.describe(request.user)
        if form.is_valid() and form.cleaned_data.get("namespace"):
            # As in the cache's list: a namespace the user may not read is simply empty.
            context["api_page"] = ApiPage(items=[], continue_token="", remaining=None, number=1, listed=0)
        else:
            context["api_problem"] = (
                f"Cluster {cluster.name} does not let {who} list {form.admin.verbose_name_plural} in all namespaces; "
                "choose a namespace."
            )
    except EmqxClientError as error:
        context["api_problem"] = f"The API server could not list {form.admin.verbose_name_plural}: {error}"
    context["links"] = links(params, context["api_page"])
    context["namespaces"] = _namespaces(request, cluster, cache, context["api_page"], form)
    return context


def visible_cached(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, cache: Cache[Any]
) -> tuple[list[Summary], list[str]]:
    """The summaries of the cached objects and the namespaces the user may see (the cached list's, too)."""
    namespaces = cache.namespaces()
    allowed = visible_namespaces(request.user, cluster, cluster.kind_client(admin.kind), namespaces)
    items = [s for s in sharedcache.summaries(cache, admin) if allowed is None or s.namespace in allowed]
    return items, [ns for ns in namespaces if allowed is None or ns in allowed]


def _namespaces(
    request: HttpRequest, cluster: Cluster, cache: Cache[Any] | None, page: ApiPage | None, form: ObjectFilterForm
) -> list[str]:
    """The namespace menu: what the cache knows so far, the page's and the chosen one,
    narrowed as the cache's list narrows it."""
    candidates = set(cache.namespaces() if cache is not None else ())
    candidates |= {row.namespace for row in (page.items if page else ())}
    if form.is_valid() and form.cleaned_data.get("namespace"):
        candidates.add(form.cleaned_data["namespace"])
    try:
        allowed = visible_namespaces(request.user, cluster, cluster.kind_client(form.admin.kind), sorted(candidates))
    except EmqxClientError:  # the cluster cannot even be asked which version it serves
        allowed = readable_namespaces(request.user, cluster.name)
    return sorted(ns for ns in candidates if allowed is None or ns in allowed)
