"""Kubernetes impersonation mode (setting CONSOLE_IMPERSONATE): the console calls the API as
the logged-in person, so the cluster's own RBAC applies on top of the console's roles.

The Kubernetes identity is the Django username (with CONSOLE_IMPERSONATE_USER_PREFIX in
front, default none) and the user's Django group names (prefixed likewise); the API server
adds ``system:authenticated``. The console's own identity needs only the ``impersonate``
verb on users and groups (see README).

Pages read from the shared watch cache, which the console fills as itself. So that a person
sees only what the cluster lets *them* read, each (user, namespace) read right is checked
once with an impersonated request and remembered for ``READ_CHECK_TTL_S``: polls stay free.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from emqx.client.clientset import Clientset
from emqx.errors import ApiError, EmqxClientError, Forbidden

READ_CHECK_TTL_S = 30.0
_read_checks: dict[tuple[str, str, str, str], tuple[float, bool]] = {}


def enabled() -> bool:
    return bool(getattr(settings, "CONSOLE_IMPERSONATE", False))


def identity(user: Any) -> tuple[str, tuple[str, ...]]:
    """The Kubernetes user and groups the console acts as for ``user``."""
    user_prefix = getattr(settings, "CONSOLE_IMPERSONATE_USER_PREFIX", "")
    group_prefix = getattr(settings, "CONSOLE_IMPERSONATE_GROUP_PREFIX", "")
    groups = tuple(sorted(group_prefix + g for g in user.groups.values_list("name", flat=True)))
    return user_prefix + user.get_username(), groups


def describe(user: Any) -> str:
    """How pages name the identity in use."""
    if not enabled():
        return "the console's own Kubernetes identity"
    name, groups = identity(user)
    return f"Kubernetes user {name}" + (f" (groups {', '.join(groups)})" if groups else "")


def clientset_for(base: Clientset, user: Any) -> Clientset:
    """The clientset to write with on behalf of ``user``: impersonating in that mode."""
    if not enabled():
        return base
    name, groups = identity(user)
    return base.impersonate(name, groups)


def may_read(base: Clientset, user: Any, kind_client: Any, namespace: str | None) -> bool | None:
    """Whether the cluster lets ``user`` list ``kind_client``'s kind in ``namespace`` (None:
    all namespaces). Always True outside impersonation mode. Remembered for a while; None
    when it cannot be known now (the cluster does not answer) and nothing recent is known."""
    if not enabled():
        return True
    name, groups = identity(user)
    key = (base.server, name + "|" + ",".join(groups), kind_client.resource.kind, namespace or "*")
    now = time.monotonic()
    cached = _read_checks.get(key)
    if cached is not None and now - cached[0] < READ_CHECK_TTL_S:
        return cached[1]
    as_user = base.impersonate(name, groups).resource(kind_client.resource, namespace)
    try:
        as_user.list(limit=1)
        allowed = True
    except Forbidden:
        allowed = False
    except (ApiError, EmqxClientError):
        return None  # unknown: callers must not show, and nothing is remembered
    _read_checks[key] = (now, allowed)
    return allowed


def forget() -> None:
    """Drop every remembered read right (tests; a settings change)."""
    _read_checks.clear()
