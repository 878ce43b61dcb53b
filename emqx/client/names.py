"""Kubernetes' rules for names, namespaces and labels, in one place, with the API server's own
wording, so bad input fails before any request (and a form can show why).

The rules are apimachinery's (``k8s.io/apimachinery/pkg/util/validation/validation.go``:
``IsDNS1123Label``, ``IsDNS1123Subdomain``, ``IsQualifiedName``, ``IsValidLabelValue``), as described
in https://kubernetes.io/docs/concepts/overview/working-with-objects/names/ and
https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from emqx.errors import InvalidName

__all__ = [
    "DNS_LABEL",
    "DNS_SUBDOMAIN",
    "NameRule",
    "label_errors",
    "validate_name",
    "validate_namespace",
]

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
# The same for a browser: HTML `pattern` is compiled with the `v` flag, where a `-` inside a
# character class must be escaped (and the whole value must match, so no anchors).
_HTML_LABEL = r"[a-z0-9]([a-z0-9\-]*[a-z0-9])?"


@dataclass(frozen=True)
class NameRule:
    """One of Kubernetes' name rules: ``regex`` (anchored) and ``max_length`` for the server,
    ``html_pattern`` for an ``<input pattern=...>`` (valid under the ``v`` flag), and ``rule``,
    the API server's sentence for a refused name (also fit as help text)."""

    name: str
    max_length: int
    regex: re.Pattern[str]
    html_pattern: str
    rule: str
    help: str = ""
    """The rule in a person's words, for a form's help text."""

    def check(self, value: str) -> str | None:
        """Why ``value`` breaks this rule (the rule's sentence), or None if it is a valid name."""
        if len(value) > self.max_length or not self.regex.match(value):
            return self.rule
        return None


DNS_LABEL = NameRule(
    name="RFC 1123 label",
    max_length=63,
    regex=re.compile(rf"^{_LABEL}\Z"),
    html_pattern=_HTML_LABEL,
    rule=(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character (e.g. 'my-name'), at most 63 characters"
    ),
    help="Lower case letters, digits and '-', starting and ending with a letter or digit; at most 63 characters.",
)
"""Namespaces (and Services, ...): ``IsDNS1123Label``."""

DNS_SUBDOMAIN = NameRule(
    name="RFC 1123 subdomain",
    max_length=253,
    regex=re.compile(rf"^{_LABEL}(\.{_LABEL})*\Z"),
    html_pattern=rf"{_HTML_LABEL}(\.{_HTML_LABEL})*",
    rule=(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
        "and must start and end with an alphanumeric character (e.g. 'example.com'), at most 253 characters"
    ),
    help="Lower case letters, digits, '-' and '.', starting and ending with a letter or digit; at most 253 characters.",
)
"""Names of custom resources (and most kinds): ``IsDNS1123Subdomain``."""


def validate_name(name: object, *, kind: str = "object") -> str:
    """Return ``name`` if it is a valid object name (an RFC 1123 subdomain, as the API server
    requires of custom resources); raise :class:`InvalidName` saying why otherwise."""
    if not isinstance(name, str):
        raise InvalidName(f"{kind} name must be a string, got {type(name).__name__}")
    if not name:
        raise InvalidName(f"{kind} name must not be empty")
    problem = DNS_SUBDOMAIN.check(name)
    if problem is not None:
        raise InvalidName(f"invalid {kind} name {name!r}: {problem}")
    return name


def validate_namespace(namespace: object) -> str:
    """Return ``namespace`` if it is a valid namespace name (an RFC 1123 label)."""
    if not isinstance(namespace, str):
        raise InvalidName(f"namespace must be a string (or None for all namespaces), got {type(namespace).__name__}")
    if not namespace:
        raise InvalidName("namespace must not be empty (use None for all namespaces)")
    problem = DNS_LABEL.check(namespace)
    if problem is not None:
        raise InvalidName(f"invalid namespace {namespace!r}: {problem}")
    return namespace


_QUALIFIED_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\Z")


def label_errors(labels: Mapping[str, str]) -> list[str]:
    """Why the API server would refuse these labels (``ValidateLabels``: each key a qualified
    name with an optional DNS-subdomain prefix, each value at most 63 characters of the label
    value alphabet), one message per problem; [] when they are valid."""
    errors = []
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        if not name or len(name) > 63 or not _QUALIFIED_NAME_RE.match(name):
            errors.append(
                f"Label key {key!r}: the name part must be 1-63 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit."
            )
        elif "/" in key and (not prefix or DNS_SUBDOMAIN.check(prefix) is not None):
            errors.append(f"Label key {key!r}: the prefix must be a DNS subdomain such as 'example.com'.")
        if len(value) > 63 or not _LABEL_VALUE_RE.match(value):
            errors.append(
                f"Label {key!r}: the value {value!r} must be at most 63 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit (or be empty)."
            )
    return errors
