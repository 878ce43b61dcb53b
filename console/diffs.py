"""What an edit changes, and how two edits of the same object combine. Pure functions, no I/O.

- :func:`clean` keeps what a person edits (metadata name/namespace/labels/annotations and the
  spec), dropping what the server rewrites on every write (resourceVersion, managedFields,
  status ...), so diffs show intent, not bookkeeping.
- :func:`unified` and :func:`changes` show one object against another, as YAML lines and as
  field paths.
- :func:`merge3` is the 3-way merge behind the form's conflict view: the user's changes
  (base -> ours) laid onto the version someone else saved meanwhile (base -> theirs), field by
  field; a mapping field (labels) merges key by key. Fields both sides changed differently
  are reported, never silently decided.
- :func:`merge_docs` is the same for whole documents (the YAML editor): mappings merge key by
  key at every depth, anything else (a string, a number, a list) is one value.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from console import yamlio
from console.redaction import redacted

__all__ = [
    "BOOKKEEPING",
    "Change",
    "DiffLine",
    "DocMerge",
    "Merge",
    "changes",
    "clean",
    "dump",
    "merge3",
    "merge_docs",
    "parse_unified",
    "to_yaml",
    "unified",
    "without",
]

# Metadata a person decides; the rest (uid, resourceVersion, generation, managedFields,
# creationTimestamp, ownerReferences, finalizers ...) belongs to the server or controllers.
EDITABLE_METADATA = ("name", "namespace", "labels", "annotations")


def clean(doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """The editable part of an object document (``to_dict()``): apiVersion, kind, editable
    metadata and spec; no status and no server bookkeeping."""
    if not doc:
        return {}
    result: dict[str, Any] = {k: doc[k] for k in ("apiVersion", "kind") if k in doc}
    meta = doc.get("metadata") or {}
    result["metadata"] = {k: meta[k] for k in EDITABLE_METADATA if meta.get(k) not in (None, {}, [])}
    if doc.get("spec") is not None:
        result["spec"] = doc["spec"]
    return result


# Metadata the server rewrites on every write: never a person's change.
BOOKKEEPING = ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp")
_DUMPER = yamlio.Dumper  # quotes what a person's YAML (console.yamlio, kubectl) would not read back as text


def without(doc: Mapping[str, Any], *metadata: str, status: bool = False) -> dict[str, Any]:
    """A copy of an object document without the named metadata keys (and, with ``status=True``,
    without its status); the rest is shared, not copied."""
    result = {k: v for k, v in doc.items() if not (status and k == "status")}
    if "metadata" in result and isinstance(result["metadata"], Mapping):
        result["metadata"] = {k: v for k, v in result["metadata"].items() if k not in metadata}
    return result


def dump(doc: Any, *, sort_keys: bool = False) -> str:
    """YAML for a person, the console's one way to write it: block style, 100 columns, readable
    non-ASCII text, except where PyYAML would write a character it reads back differently (NEL,
    line separators): then everything is escaped, so that text saved unchanged changes nothing."""
    text: str = yaml.dump(
        doc, Dumper=_DUMPER, sort_keys=sort_keys, default_flow_style=False, allow_unicode=True, width=100
    )
    if not text.isascii() and not yamlio.reads_back(text, doc):
        text = yaml.dump(doc, Dumper=_DUMPER, sort_keys=sort_keys, default_flow_style=False, width=100)
    return text


def to_yaml(doc: Mapping[str, Any]) -> str:
    """Block-style YAML with keys in a stable order, so two dumps diff line by line."""
    return dump(dict(doc), sort_keys=True)


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff: ``kind`` is ``add``, ``del``, ``ctx`` or ``hunk`` (the
    ``@@`` header), ``text`` the line without its +/-/space marker."""

    kind: Literal["add", "del", "ctx", "hunk"]
    text: str


def unified(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, *, context: int = 3) -> list[DiffLine]:
    """A unified diff of two documents' YAML (both :func:`clean`-ed first, secrets redacted as
    console/redaction.py says: a changed secret shows as ``<redacted: changed>``); [] when equal."""
    a = to_yaml(clean(redacted(before))).splitlines() if before else []
    b = to_yaml(clean(redacted(after, before or {}))).splitlines() if after else []
    lines: list[DiffLine] = []
    for raw in difflib.unified_diff(a, b, lineterm="", n=context):
        if raw.startswith(("---", "+++")):
            continue
        lines.append(_diff_line(raw))
    return lines


def parse_unified(text: str) -> list[DiffLine]:
    """The lines of a unified diff stored as text (an audit entry's ``diff``, made by
    console.audit.spec_diff, already redacted), for display: the ``---``/``+++`` file headers
    left out. Text that is not a unified diff comes back as context lines; never raises."""
    lines: list[DiffLine] = []
    for raw in text.splitlines():
        if raw.startswith(("--- ", "+++ ")) and not lines:
            continue
        lines.append(_diff_line(raw))
    return lines


def _diff_line(raw: str) -> DiffLine:
    """One line of a unified diff (no file header) as shown: a hunk header, an added, removed or
    context line without its one-character prefix (a line with no prefix is kept whole)."""
    if raw.startswith("@@"):
        return DiffLine("hunk", raw)
    if raw.startswith("+"):
        return DiffLine("add", raw[1:])
    if raw.startswith("-"):
        return DiffLine("del", raw[1:])
    return DiffLine("ctx", raw[1:] if raw.startswith(" ") else raw)


_MISSING: Any = object()


@dataclass(frozen=True)
class Change:
    """One field that differs: its dotted path and both values (None when absent)."""

    path: str
    before: Any
    after: Any

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    # Mappings become paths; lists are compared whole (their items have no stable identity).
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[Change]:
    """Every leaf field whose value differs between two documents (cleaned), by path; secret values
    read ``<redacted>`` / ``<redacted: changed>`` (console/redaction.py)."""
    flat_a: dict[str, Any] = {}
    flat_b: dict[str, Any] = {}
    _flatten(clean(redacted(before)), "", flat_a)
    _flatten(clean(redacted(after, before or {})), "", flat_b)
    result = []
    for path in sorted(set(flat_a) | set(flat_b)):
        a, b = flat_a.get(path, _MISSING), flat_b.get(path, _MISSING)
        if a != b:
            result.append(Change(path, None if a is _MISSING else a, None if b is _MISSING else b))
    return result


@dataclass
class Merge:
    """The result of :func:`merge3`.

    ``values``: theirs, with every change of ours laid on top (ours wins where both changed).
    ``ours``/``theirs``: the fields each side changed from the base. ``conflicts``: fields both
    changed to different values (for a mapping field, the keys are listed as ``field[key]``)."""

    values: dict[str, Any]
    ours: list[str] = field(default_factory=list)
    theirs: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def merge3(base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any], fields: Iterable[str]) -> Merge:
    """Merge two edits of the same form values. ``base`` is what both started from, ``ours``
    the user's values, ``theirs`` the values of the version saved meanwhile. The same rule as
    :func:`merge_docs`, field by field (a mapping field key by key)."""
    merge = Merge(values={})
    for name in fields:
        b, o, t = base.get(name), ours.get(name), theirs.get(name)
        absent = o is None or t is None
        if any(isinstance(v, Mapping) for v in (b, o, t)):
            # A mapping field one side does not have (no labels yet) is an empty one: labels added
            # by both then merge key by key, as they do once there is one.
            b, o, t = ({} if v is None else v for v in (b, o, t))
        if o != b:
            merge.ours.append(name)
        if t != b:
            merge.theirs.append(name)
        conflicts: list[str] = []
        value = _merge_node(b, o, t, name, conflicts)
        merge.values[name] = None if value == {} and absent else value  # nothing stays nothing
        # A mapping's keys are reported as field[key] (a label key may hold dots itself).
        merge.conflicts += [c if c == name else f"{name}[{c[len(name) + 1 :]}]" for c in conflicts]
    return merge


@dataclass
class DocMerge:
    """The result of :func:`merge_docs`: ``doc`` is theirs with every change of ours laid on
    top (ours wins where both changed); ``ours``/``theirs`` the field paths each side changed
    from the base; ``conflicts`` the paths both changed to different values."""

    doc: dict[str, Any]
    ours: list[str] = field(default_factory=list)
    theirs: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def _merge_node(base: Any, ours: Any, theirs: Any, path: str, conflicts: list[str]) -> Any:
    if ours == base:
        return theirs  # ours did not touch it: theirs stands (also when they removed it)
    if theirs in (base, ours):
        return ours
    mappings = all(isinstance(v, Mapping) or v is _MISSING for v in (base, ours, theirs))
    if mappings and ours is not _MISSING and theirs is not _MISSING:
        # Both changed something inside: merge key by key. A section both added (no base)
        # merges the same way, from nothing.
        b = base if isinstance(base, Mapping) else {}
        merged: dict[str, Any] = {}
        for key in [*theirs, *(k for k in ours if k not in theirs)]:
            value = _merge_node(
                b.get(key, _MISSING), ours.get(key, _MISSING), theirs.get(key, _MISSING), f"{path}.{key}", conflicts
            )
            if value is not _MISSING:
                merged[key] = value
        return merged
    conflicts.append(path.lstrip("."))
    return ours


def merge_docs(base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> DocMerge:
    """Merge two edits of one object document (all three :func:`clean`-ed first). ``base`` is
    what both started from, ``ours`` the user's document, ``theirs`` the version saved since."""
    b, o, t = clean(base), clean(ours), clean(theirs)
    conflicts: list[str] = []
    merged = _merge_node(b, o, t, "", conflicts)
    return DocMerge(
        doc=copy.deepcopy(dict(merged)),
        ours=[c.path for c in changes(b, o)],
        theirs=[c.path for c in changes(b, t)],
        conflicts=conflicts,
    )
