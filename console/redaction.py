"""Secrets kept out of the audit trail and out of every diff the console shows.

The rule (one place; the audit, the preview, the conflict page and the audit page all use it):

- a **string** value under a key that names a secret: ``password``, ``passwd``, ``secret``, ``token``, ``cookie``
  (the Erlang cookie, ``node.cookie``),
  ``private_key``, ``api_key`` or ``apikey``, alone or at the end of a longer name
  (``default_password``, ``bootstrap_token``), in any case. That covers EMQX's
  ``spec.bootstrapAPIKeys[].secret`` (v2beta1, v2, v3beta1), the 4.x brokers' ``spec.emqxTemplate.password``
  (v1beta4), and such keys inside ``spec.config.roots`` (v3beta1). Objects under such a key (a pod
  volume's ``secret: {secretName: ...}``) are references, not secrets, and stay;
- an EMQX Enterprise licence: ``license`` when it is a string (v1beta1), ``license.data`` and
  ``license.stringData`` (v1beta4);
- the ``value`` of an environment variable whose name ends in ``PASSWORD``, ``PASSWD``, ``SECRET``,
  ``TOKEN`` or ``KEY`` (``EMQX_DASHBOARD__DEFAULT_PASSWORD``, ``EMQX_LICENSE__KEY``);
- in configuration text (EMQX v2beta1/v2 ``spec.config.data``, v1beta4 ``bootstrapConfig`` and any other
  multi-line string), the value on a line that assigns a key of the first kind
  (``dashboard.default_password = "public"``).

A redacted value reads ``<redacted>``; in the document after a change it reads ``<redacted: changed>``
where it differs from the one before, so a diff still shows *that* a secret changed, never what it
was or became. The CRDs of the emqx-operator mark no field as a secret (no ``format: password``), so
the rule goes by the names their schemas and EMQX's configuration use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "<redacted>"
CHANGED = "<redacted: changed>"

_SECRET_KEY = re.compile(r"(?i)(?:^|[_.-])(?:password|passwd|secret|token|cookie|private_?key|api_?key)$|^apikey$")
_SECRET_ENV = re.compile(r"(?i)(?:PASSWORD|PASSWD|SECRET|TOKEN|KEY)$")
_LICENSE_FIELDS = ("data", "stringData")
# `key = value` or `key: value` in HOCON, one per line; the key may be dotted (a.b.default_password).
_CONFIG_LINE = re.compile(r"^(?P<lead>\s*(?P<key>[A-Za-z0-9_.\"-]+)\s*[=:]\s*)(?P<value>[^{\[\s].*?)(?P<tail>\s*)$")


def secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (see the module's rule)."""
    return bool(_SECRET_KEY.search(key.strip('"')))


def _config_secrets(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _CONFIG_LINE.match(line)
        if match and secret_key(match["key"].rsplit(".", 1)[-1]):
            found[match["key"]] = match["value"]
    return found


def _redact_text(text: str, before: Any, compare: bool) -> str:
    if "\n" not in text.strip() and _CONFIG_LINE.match(text) is None:
        return text
    old = (_config_secrets(before) if isinstance(before, str) else {}) if compare else None
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        match = _CONFIG_LINE.match(body)
        if match and secret_key(match["key"].rsplit(".", 1)[-1]):
            changed = old is not None and old.get(match["key"]) != match["value"]
            line = f"{match['lead']}{CHANGED if changed else REDACTED}{match['tail']}{line[len(body) :]}"
        out.append(line)
    return "".join(out)


def _mark(value: Any, before: Any, compare: bool) -> str:
    return CHANGED if compare and value != before else REDACTED


def _walk(value: Any, before: Any, compare: bool, parent: str) -> Any:
    if isinstance(value, Mapping):
        old = before if isinstance(before, Mapping) else {}
        env_item = parent == "env" and isinstance(value.get("name"), str) and bool(_SECRET_ENV.search(value["name"]))
        result: dict[str, Any] = {}
        for key, item in value.items():
            prior = old.get(key)
            if isinstance(item, str) and (
                secret_key(str(key))
                or (parent == "license" and key in _LICENSE_FIELDS)
                or (key == "license")
                or (env_item and key == "value")
            ):
                result[key] = _mark(item, prior, compare)
            else:
                result[key] = _walk(item, prior, compare, str(key))
        return result
    if isinstance(value, list):
        old_items = before if isinstance(before, list) else []
        return [
            _walk(item, old_items[i] if i < len(old_items) else None, compare, parent) for i, item in enumerate(value)
        ]
    if isinstance(value, str):
        return _redact_text(value, before, compare)
    return value


def redacted(doc: Mapping[str, Any] | None, before: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """A copy of the object document ``doc`` with every secret value replaced (the module's rule).

    With ``before`` (the same object before a change), a secret that differs from its value there
    reads ``<redacted: changed>``; without it, every secret reads ``<redacted>``. None stays None.
    Never raises on any JSON-like document."""
    if doc is None:
        return None
    result = _walk(doc, before, before is not None, "")
    assert isinstance(result, dict)
    return result
