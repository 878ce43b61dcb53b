"""What every console view shares: the cluster from the URL, and how cluster trouble is shown."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext

from console.clusters import Cluster, get_cluster
from console.permissions import not_found
from emqx.cache import CacheState
from emqx.client.names import validate_name, validate_namespace
from emqx.errors import ClusterUnreachable, InvalidName, UnknownKind

P = ParamSpec("P")
ClusterView = Callable[Concatenate[HttpRequest, Cluster, P], HttpResponse]


class URLClusterView(Protocol[P]):
    """What cluster_view makes: a view taking the cluster's name. Not a Callable[Concatenate[...]], which
    would make ``cluster`` positional-only: the URL resolver passes it by keyword (``<slug:cluster>``)."""

    def __call__(self, request: HttpRequest, cluster: str, *args: P.args, **kwargs: P.kwargs) -> HttpResponse: ...


def cluster_view(view: ClusterView[P]) -> URLClusterView[P]:
    """Log-in required; turns the URL's cluster name into a Cluster (404 if not configured). A
    namespace or object name in the URL that Kubernetes would refuse (``Foo_Bar``) is a 404 too:
    no such object can exist, and the client layer raises InvalidName for it."""

    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, cluster: str, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        found = get_cluster(cluster)
        if found is None:
            raise not_found(gettext("No cluster called %(cluster)s is configured."), cluster=cluster)
        try:
            if "namespace" in kwargs:
                validate_namespace(kwargs["namespace"])
            if "name" in kwargs:
                validate_name(kwargs["name"])
        except InvalidName as error:
            raise Http404(str(error)) from None
        return view(request, found, *args, **kwargs)

    return wrapper


def banner(
    cluster: Cluster, state: CacheState | None, *, error: Exception | str | None = None, admin: Any = None
) -> dict[str, Any] | None:
    """The page banner for a cluster in trouble, or None when all is well. ``error``: why the
    cache could not even be created (an exception from ``cluster.cache``, or its text);
    ``admin``: the kind the page shows, named in the titles."""
    kind = getattr(admin, "kind", "")
    what = getattr(admin, "verbose_name_plural", None) or gettext("objects")
    # In the request's language (gettext at call time); ``detail`` is the cluster's own text, shown as such.
    named = {"cluster": cluster.name, "kind": kind, "what": what}
    not_served = (
        gettext("Cluster %(cluster)s does not serve %(kind)s %(versions)s (is the emqx-operator installed?)")
        % {**named, "versions": ", ".join(admin.versions)}
        if admin is not None
        else gettext("Cluster %(cluster)s does not serve this kind (is the emqx-operator installed?)") % named
    )
    if error:
        title = gettext("Cannot use cluster %(cluster)s") % named
        if isinstance(error, ClusterUnreachable):
            title = gettext("Cluster %(cluster)s is unreachable") % named
        elif isinstance(error, UnknownKind):
            title = not_served
        return {"level": "error", "title": title, "detail": str(error), "stale": False}
    if state is None or state.healthy:
        return None
    titles = {
        "unreachable": gettext("Cluster %(cluster)s is unreachable") % named,
        "forbidden": gettext("The console may not read %(what)s in cluster %(cluster)s") % named,
        "unauthorized": gettext("Cluster %(cluster)s did not accept the console's credentials") % named,
        "not-served": not_served,
        # The API server answers, but not for this kind (a conversion webhook down, a storage error):
        # said on this kind's pages only; the cluster and its other kinds are fine.
        "error": gettext("The API server of cluster %(cluster)s fails to list %(what)s") % named,
    }
    since = ""
    if state.synced and state.last_sync:
        since = time.strftime("%H:%M:%S UTC", time.gmtime(state.last_sync))
    return {
        "level": "error",
        "title": titles.get(state.error_kind, gettext("Cluster %(cluster)s is not answering as expected") % named),
        "detail": state.error,
        "stale": state.synced,
        "since": since,
    }
