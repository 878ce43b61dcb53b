"""Kubernetes impersonation mode (setting CONSOLE_IMPERSONATE): the console calls the API as
the logged-in person, so the cluster's own RBAC applies on top of the console's roles.

The Kubernetes identity is the Django username with CONSOLE_IMPERSONATE_USER_PREFIX in front
(``Impersonate-User``) and each of the user's Django group names with
CONSOLE_IMPERSONATE_GROUP_PREFIX in front (one ``Impersonate-Group`` each); the API server
adds ``system:authenticated``. Both prefixes default to ``console:``, so everything the
console asserts stays in a namespace of its own and cannot name an identity the cluster
already trusts (``admin``, ``kubernetes-admin``). The console's own identity needs only the
``impersonate`` verb on those users and groups (the README gives the narrowest ClusterRole).

The rule for names (the one place it is stated in code; the README repeats it):

- A name travels in an HTTP header, so it must be printable ASCII (``!`` to ``~`` and inner
  spaces), without a space at either end. Anything else cannot be sent faithfully: a
  character beyond Latin-1 (``张``) cannot be encoded at all, a control character would split
  the header, leading and trailing spaces are dropped by HTTP, and a Latin-1 letter (``é``)
  is sent as one byte that the API server (which reads UTF-8) turns into U+FFFD, so
  ``console:josé`` would reach RBAC as ``console:jos\ufffd`` (shown against the real API server by
  tests/console/test_impersonation.py::test_a_latin_1_name_would_reach_the_cluster_garbled).
- No name may fall into Kubernetes' reserved ``system:`` namespace (``system:masters`` is
  cluster-admin): a prefix starting with ``system:`` is refused at start-up (settings), a
  Django group whose Kubernetes name would start with it is refused when saved in the admin
  (console.admin), and such a name is never sent.

A person whose username or group breaks the rule gets :class:`IdentityRefused`, a 403 page
that names the offending name and why, never a 500 and never a request with another identity.

Pages read from the shared watch cache, which the console fills as itself. So that a person
sees only what the cluster lets *them* read, each (user, namespace) read right is checked
once with an impersonated request and remembered for ``READ_CHECK_TTL_S``: polls stay free.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext

if TYPE_CHECKING:
    from emqx.client.clientset import Clientset

READ_CHECK_TTL_S = 30.0
RESERVED_PREFIX = "system:"
"""Kubernetes' own identities (system:masters, system:node:..., system:serviceaccount:...)."""
DEFAULT_PREFIX = "console:"
_read_checks: dict[tuple[str, str, str, str], tuple[float, bool]] = {}


class IdentityRefused(PermissionDenied):
    """The user's Kubernetes identity breaks the naming rule (module docstring); the message
    says which name and why. A PermissionDenied, so Django answers 403 with it."""


def header_problem(name: str) -> str | None:
    """Why ``name`` cannot be sent as an ``Impersonate-*`` header value, or None if it can
    (printable ASCII, no space at either end; the empty string passes, as prefixes may be empty)."""
    for char in name:
        if not " " <= char <= "~":
            shown = f"“{char}”" if char.isprintable() else "a control character"
            return (
                f"it contains {shown} (U+{ord(char):04X}), and names sent to Kubernetes in an HTTP header "
                "must be printable ASCII"
            )
    if name != name.strip(" "):
        return "it begins or ends with a space, which HTTP drops"
    return None


def prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot be a CONSOLE_IMPERSONATE_*_PREFIX, or None (settings use it)."""
    if prefix.startswith(RESERVED_PREFIX):
        return f"a prefix must not start with “{RESERVED_PREFIX}”, the names Kubernetes reserves for itself"
    return header_problem(prefix)


def _prefixes() -> tuple[str, str]:
    return (
        getattr(settings, "CONSOLE_IMPERSONATE_USER_PREFIX", DEFAULT_PREFIX),
        getattr(settings, "CONSOLE_IMPERSONATE_GROUP_PREFIX", DEFAULT_PREFIX),
    )


def name_problem(kubernetes_name: str) -> str | None:
    """Why the full Kubernetes name (prefix included) may not be sent, or None."""
    if not kubernetes_name:
        return "it is empty"
    if kubernetes_name.startswith(RESERVED_PREFIX):
        return f"it starts with “{RESERVED_PREFIX}”, the names Kubernetes reserves for itself"
    return header_problem(kubernetes_name)


def group_name_problem(django_name: str) -> str | None:
    """For the admin's group form: why a Django group called ``django_name`` could not be sent
    as a Kubernetes group (with the current group prefix), or None."""
    kubernetes_name = _prefixes()[1] + django_name
    problem = name_problem(kubernetes_name)
    return None if problem is None else f"as a Kubernetes group it would be “{kubernetes_name}”, and {problem}"


def enabled() -> bool:
    return bool(getattr(settings, "CONSOLE_IMPERSONATE", False))


def identity(user: Any) -> tuple[str, tuple[str, ...]]:
    """The Kubernetes user and groups (sorted) the console acts as for ``user``.

    Raises IdentityRefused when one of those names breaks the rule in the module docstring."""
    user_prefix, group_prefix = _prefixes()
    name = user_prefix + user.get_username()
    groups = tuple(sorted(group_prefix + g for g in user.groups.values_list("name", flat=True)))
    for what, candidate in [("username", name), *(("group", g) for g in groups)]:
        problem = name_problem(candidate)
        if problem is not None:
            raise IdentityRefused(
                f"The console cannot act as you towards Kubernetes: your {what} “{candidate}” cannot be "
                f"sent as a Kubernetes identity, because {problem}. Ask an administrator of the console "
                f"to rename the {what}."
            )
    return name, groups


def describe(user: Any) -> str:
    """How pages name the identity in use (never raises: every page's header shows it)."""
    if not enabled():
        return gettext("the console's own Kubernetes identity")
    try:
        name, groups = identity(user)
    except IdentityRefused:
        return gettext("no Kubernetes identity: a name cannot be sent")
    if groups:
        return gettext("Kubernetes user %(name)s (groups %(groups)s)") % {"name": name, "groups": ", ".join(groups)}
    return gettext("Kubernetes user %(name)s") % {"name": name}


def clientset_for(base: Clientset, user: Any) -> Clientset:
    """The clientset to write with on behalf of ``user``: impersonating in that mode.
    Raises IdentityRefused (403) when the user's names cannot be sent."""
    if not enabled():
        return base
    name, groups = identity(user)
    return base.impersonate(name, groups)


def may_read(base: Clientset, user: Any, kind_client: Any, namespace: str | None) -> bool | None:
    """Whether the cluster lets ``user`` list ``kind_client``'s kind in ``namespace`` (None:
    all namespaces). Always True outside impersonation mode. Remembered for a while; None
    when it cannot be known now (the cluster does not answer) and nothing recent is known.
    Raises IdentityRefused (403) when the user's names cannot be sent."""
    from emqx.errors import ApiError, EmqxClientError, Forbidden

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
