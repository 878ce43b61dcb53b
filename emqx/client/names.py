"""Client-side checks of names and namespaces, with the API server's own wording, so bad
input fails before any request (and a form can show why)."""

from __future__ import annotations

import re

from emqx.errors import InvalidName

__all__ = ["validate_name", "validate_namespace"]

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(rf"^{_LABEL}$")
_DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")

_SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com'), at most 253 characters"
)
_LABEL_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name'), at most 63 characters"
)


def validate_name(name: object, *, kind: str = "object") -> str:
    """Return ``name`` if it is a valid object name (an RFC 1123 subdomain, as the API server
    requires of custom resources); raise :class:`InvalidName` saying why otherwise."""
    if not isinstance(name, str):
        raise InvalidName(f"{kind} name must be a string, got {type(name).__name__}")
    if not name:
        raise InvalidName(f"{kind} name must not be empty")
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        raise InvalidName(f"invalid {kind} name {name!r}: {_SUBDOMAIN_RULE}")
    return name


def validate_namespace(namespace: object) -> str:
    """Return ``namespace`` if it is a valid namespace name (an RFC 1123 label)."""
    if not isinstance(namespace, str):
        raise InvalidName(f"namespace must be a string (or None for all namespaces), got {type(namespace).__name__}")
    if not namespace:
        raise InvalidName("namespace must not be empty (use None for all namespaces)")
    if len(namespace) > 63 or not _DNS1123_LABEL.match(namespace):
        raise InvalidName(f"invalid namespace {namespace!r}: {_LABEL_RULE}")
    return namespace
