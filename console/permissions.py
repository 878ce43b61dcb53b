"""One permission vocabulary: Kubernetes verbs x kind x namespace x cluster.

Roles come from :class:`~console.models.RoleGrant` (per user or group, per namespace and
cluster, ``*`` for all). Superusers may do everything. Views call :func:`require`;
templates ask the same :func:`can` (``{% can "delete" "EMQX" ns as allowed %}``).
A user who may not even read a namespace gets 404 there, so existence does not leak.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import Http404
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext_lazy

from console.models import ALL, Role, RoleGrant

READ_VERBS = frozenset({"get", "list", "watch"})
# The writing verbs as the 403 page names them, in its language (the keys are Kubernetes' verbs).
VERB_NAMES = {
    "create": pgettext_lazy("Kubernetes verb", "create"),
    "update": pgettext_lazy("Kubernetes verb", "update"),
    "patch": pgettext_lazy("Kubernetes verb", "patch"),
    "scale": pgettext_lazy("Kubernetes verb", "scale"),
    "delete": pgettext_lazy("Kubernetes verb", "delete"),
    "deletecollection": pgettext_lazy("Kubernetes verb", "deletecollection"),
}
VERBS_BY_ROLE: dict[str, frozenset[str]] = {
    Role.VIEWER: READ_VERBS,
    Role.OPERATOR: READ_VERBS | {"create", "update", "patch", "scale"},
    Role.ADMIN: READ_VERBS | {"create", "update", "patch", "scale", "delete", "deletecollection"},
}
ALL_VERBS = VERBS_BY_ROLE[Role.ADMIN]


class Grant(NamedTuple):
    """One of a user's role grants, own or through a group (a RoleGrant's row): ``cluster`` and
    ``namespace`` a name or ``*``, ``role`` one of :class:`~console.models.Role`."""

    cluster: str
    namespace: str
    role: str


# Every request reads the user's grants afresh (one SQL query, about 0.02 ms on SQLite; the ORM's two
# took 0.7 ms of CPU, which is why they used to be remembered for 5 s per process): a grant withdrawn
# in any worker process, by any means (the Django admin, QuerySet.update(), a script), applies on the
# next request everywhere. Within a request they are kept on the user object, which Django's
# AuthenticationMiddleware makes anew for each request; a change made in this process during the
# request (the Django admin saving a grant) bumps _generation, so the next check reads again.
_generation = itertools.count()
_current = next(_generation)
_GRANTS_SQL: str | None = None


def _grants_sql() -> str:
    global _GRANTS_SQL
    if _GRANTS_SQL is None:
        quote = connection.ops.quote_name
        memberships = User.groups.through._meta.db_table
        _GRANTS_SQL = (
            f"SELECT cluster, namespace, role FROM {quote(RoleGrant._meta.db_table)} WHERE user_id = %s "
            f"OR group_id IN (SELECT group_id FROM {quote(memberships)} WHERE user_id = %s)"
        )
    return _GRANTS_SQL


def _grants(user: Any) -> list[Grant]:
    """The user's grants (own and through groups), read once per request and user object."""
    kept = getattr(user, "_console_grants", None)
    if kept is not None and kept[0] == _current:
        return kept[1]  # type: ignore[no-any-return]
    with connection.cursor() as cursor:
        cursor.execute(_grants_sql(), [user.pk, user.pk])
        grants = [Grant(*row) for row in cursor.fetchall()]
    user._console_grants = (_current, grants)
    return grants


def _forget_grants(**_: Any) -> None:
    # Which users a group's grant or membership concerns is not worth working out: forget all.
    global _current
    _current = next(_generation)


for _signal in (post_save, post_delete):
    _signal.connect(_forget_grants, sender=RoleGrant, dispatch_uid=f"console-grants-{_signal}")
m2m_changed.connect(_forget_grants, sender=User.groups.through, dispatch_uid="console-grants-groups")


def can(user: Any, verb: str, kind: str, namespace: str, cluster: str) -> bool:
    """May ``user`` do ``verb`` on ``kind`` objects in ``namespace`` of ``cluster``?"""
    if verb not in ALL_VERBS:
        raise ValueError(f"unknown verb {verb!r}")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return any(
        g.cluster in (ALL, cluster) and g.namespace in (ALL, namespace) and verb in VERBS_BY_ROLE[g.role]
        for g in _grants(user)
    )


def readable_namespaces(user: Any, cluster: str) -> frozenset[str] | None:
    """The namespaces ``user`` may read in ``cluster``; None means every namespace."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return None
    names: set[str] = set()
    for g in _grants(user):
        if g.cluster in (ALL, cluster):
            if g.namespace == ALL:
                return None
            names.add(g.namespace)
    return frozenset(names)


class NotFoundMessage(SafeString):
    """A 404's message meant for the person who asked (templates/404.html shows it: ``exception.shown``),
    translated, with the names in it marked as names (``<code>``). Django's ``page_not_found`` passes an
    ``Http404``'s first argument to the template as it is when it is a ``str``, so the class survives."""

    shown = True


def not_found(message: str, **names: Any) -> Http404:
    """An Http404 saying ``message`` (already translated, with ``%(key)s`` placeholders) to the user, each
    of ``names`` escaped and in ``<code>`` (an object's namespace/name, a cluster's name); ``kind`` (a
    kind's name, a word of the sentence) escaped only. Raise it: ``raise not_found(gettext("No %(kind)s
    %(object)s in cluster %(cluster)s."), kind=..., object=..., cluster=...)``."""
    values = {
        key: conditional_escape(value) if key == "kind" else format_html("<code>{}</code>", value)
        for key, value in names.items()
    }
    return Http404(NotFoundMessage(conditional_escape(message) % values))


def require(user: Any, verb: str, kind: str, namespace: str, cluster: str) -> None:
    """Raise 404 if the user may not even read there, 403 if they may read but not ``verb``."""
    if can(user, verb, kind, namespace, cluster):
        return
    if verb in READ_VERBS or not can(user, "get", kind, namespace, cluster):
        raise not_found(gettext("No %(kind)s here."), kind=kind)
    refusal = gettext("You may not %(verb)s %(kind)s objects in namespace %(namespace)s.")
    raise PermissionDenied(refusal % {"verb": VERB_NAMES.get(verb, verb), "kind": kind, "namespace": namespace})


def visible_namespaces(user: Any, cluster: Any, kind_client: Any, candidates: list[str]) -> frozenset[str] | None:
    """The namespaces whose ``kind`` objects ``user`` may see in ``cluster``: their console
    roles, and in impersonation mode also the cluster's own RBAC (checked as the user and
    remembered briefly). None means every namespace."""
    from console import impersonation

    allowed = readable_namespaces(user, cluster.name)
    if not impersonation.enabled() or impersonation.may_read(cluster.clientset, user, kind_client, None) is True:
        return allowed
    cs = cluster.clientset
    return frozenset(
        ns
        for ns in candidates
        if (allowed is None or ns in allowed) and impersonation.may_read(cs, user, kind_client, ns) is True
    )


def visible_kind_namespaces(user: Any, cluster: Any, kind: str, candidates: list[str]) -> frozenset[str] | None:
    """:func:`visible_namespaces` for a kind by name, for pages that show several kinds at once (the
    dashboards, their Warning Events). When the cluster cannot say which version it serves, only the
    console's roles are known: in impersonation mode nothing is shown then (an empty set), as the
    cluster's RBAC cannot be asked."""
    from console import impersonation
    from emqx.errors import EmqxClientError

    try:
        kind_client = cluster.kind_client(kind)
    except EmqxClientError:
        return frozenset() if impersonation.enabled() else readable_namespaces(user, cluster.name)
    return visible_namespaces(user, cluster, kind_client, candidates)


def require_cluster_read(user: Any, cluster: Any, kind_client: Any, namespace: str) -> None:
    """In impersonation mode, refuse (403, saying why) a read the cluster's RBAC forbids."""
    from console import impersonation

    allowed = impersonation.may_read(cluster.clientset, user, kind_client, namespace)
    if allowed is None:
        raise PermissionDenied(
            f"Cannot check what {impersonation.describe(user)} may read in cluster {cluster.name} right now "
            "(it does not answer); try again when it is back."
        )
    if not allowed:
        raise PermissionDenied(
            f"The cluster's RBAC does not let {impersonation.describe(user)} read "
            f"{kind_client.resource.kind} objects in namespace {namespace}."
        )


def can_somewhere(user: Any, verb: str, kind: str, cluster: str) -> bool:
    """Whether ``user`` may do ``verb`` in at least one namespace of ``cluster`` (to decide
    whether to offer a control whose namespace is chosen later, like Add)."""
    if can(user, verb, kind, ALL, cluster):
        return True
    return any(g.cluster in (ALL, cluster) and verb in VERBS_BY_ROLE[g.role] for g in _grants(user))
