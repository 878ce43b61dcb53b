"""Kubernetes label selectors, parsed and matched the way the API server does.

Supports the full syntax of `kubectl get -l`: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``,
``a notin (x)``, ``a`` (exists) and ``!a`` (does not exist), joined by commas. Used by the
list page, which filters the watch cache instead of asking the API server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from django.utils.translation import gettext

_PREFIX = r"(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
_KEY = _PREFIX + r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_KEY_RE = re.compile(rf"^{_KEY}$")
_VALUE_RE = re.compile(rf"^{_VALUE}$")
_SET_RE = re.compile(r"^\s*(\S+)\s+(in|notin)\s*\(([^)]*)\)\s*$")

Requirement = Callable[[Mapping[str, str]], bool]


class SelectorError(ValueError):
    """The selector does not parse; the message says which part and why."""


def _split(selector: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(gettext("unbalanced ')'"))
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if depth:
        raise SelectorError(gettext("unbalanced '('"))
    parts.append(current)
    return [p.strip() for p in parts]


def _key(key: str) -> str:
    if len(key.split("/")[-1]) > 63 or not _KEY_RE.match(key):
        raise SelectorError(gettext("%(key)s is not a valid label key") % {"key": repr(key)})
    return key


def _value(value: str) -> str:
    if len(value) > 63 or not _VALUE_RE.match(value):
        raise SelectorError(gettext("%(value)s is not a valid label value") % {"value": repr(value)})
    return value


def _requirement(part: str) -> Requirement:
    if not part:
        raise SelectorError(gettext("empty requirement (a stray comma?)"))
    if m := _SET_RE.match(part):
        key, op = _key(m.group(1)), m.group(2)
        values = frozenset(_value(v.strip()) for v in m.group(3).split(",") if v.strip())
        if not values:
            raise SelectorError(gettext("%(op)s needs at least one value in parentheses") % {"op": op})
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("!=", "==", "="):
        if op in part:
            k, v = (s.strip() for s in part.split(op, 1))
            key, value = _key(k), _value(v)
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if part.startswith("!"):
        key = _key(part[1:].strip())
        return lambda labels: key not in labels
    key = _key(part)
    return lambda labels: key in labels


def parse(selector: str) -> Requirement:
    """A predicate over a labels mapping; an empty selector matches everything."""
    if not selector.strip():
        return lambda labels: True
    requirements = [_requirement(p) for p in _split(selector)]
    return lambda labels: all(r(labels) for r in requirements)
