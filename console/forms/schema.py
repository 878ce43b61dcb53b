"""A form built from a custom resource's schema: an admin names the fields it shows by JSON path,
the generated pydantic model (``emqx/models/apps_*.py``, generated from the CRDs) says what each
one is, and :class:`ResourceForm` turns them into one Django form.

The form speaks in *values*, one per path, in the document's own JSON types: what
:func:`read_values` reads from an object document (``to_dict()`` form, absent fields read as the
model's defaults), what the form cleans, and what :meth:`ResourceForm.intended` writes back.

The rules, kept from the hand-written EMQX form they replace:

- A create writes the name, namespace, ``always_write`` paths and what differs from the schema's
  defaults; never a default the user did not choose.
- An edit writes only the paths the user changed onto the document as opened; unknown fields,
  annotations, other labels and status stay as they were.
- An unchanged field is never rewritten and never judged again on an edit: the submitted text is
  compared with what the form rendered for the stored value, and when they agree the stored value
  is kept as is, with its JSON type (a stored ``"8080"`` stays a string, ``8080`` an int). Only a
  real change is parsed, typed and checked. The console's own limits therefore judge only new
  values, so an instance scaled past them with kubectl stays editable.

Field kinds (the POST names are the form field names, which are the JSON paths):

==========================  ==============================================================
schema type                 form field (POST data)
==========================  ==============================================================
``int``                     number input (``path``); schema and option bounds, also as min/max
``Quantity``                text with the quantity pattern (``path``); parsed, never negative
``int | str``               text (``path``); digits become an int, anything else a string
``Literal[...]``            select of the values (``path``); "" = unset unless required
``bool``                    select ""/true/false (``path``), so an unset field stays unset
``str``                     text, or a textarea / select by :class:`FieldOptions`
``dict[str, str]``          textarea of ``key=value`` lines (label rules for metadata.labels)
``dict[str, Quantity]``     textarea of ``key=value`` lines, each value a quantity
``list[str]``               textarea, one item a line
a model (one object)        a one-row table of its scalar sub-fields (``path-key``)
``list[model]``             a table like Django admin's tabular inline: ``path-TOTAL_FORMS``,
                            ``path-INITIAL_FORMS``, ``path-<i>-<key>``, ``path-<i>-DELETE``
anything else               a YAML textarea for that sub-tree (``path``)
==========================  ==============================================================
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from django import forms
from django.core import validators
from django.forms.renderers import BaseRenderer
from django.utils.functional import lazy
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, gettext_lazy, pgettext_lazy
from pydantic import BaseModel, StringConstraints, TypeAdapter
from pydantic import ValidationError as PydanticError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from console import diffs, yamlio
from emqx.client.names import DNS_LABEL, DNS_SUBDOMAIN, NameRule, label_errors
from emqx.models._base import QUANTITY_PATTERN, Resource

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = [
    "QUANTITY_HTML_PATTERN",
    "FieldOptions",
    "FormSpec",
    "ResourceForm",
    "help_with_code",
    "parse_quantity",
    "read_values",
    "rule_help",
    "rule_problem",
    "values_as_data",
]

NAME = "metadata.name"
NAMESPACE = "metadata.namespace"
LABELS = "metadata.labels"

# Django formsets refuse more than 1000 forms (formsets.DEFAULT_MAX_NUM); so do we.
MAX_ROWS = 1000
# Kubernetes integers are int64 (and an int-or-string's int is int32).
_INT64 = 2**63 - 1
_INT32 = 2**31 - 1
_QUANTITY_MAX_LENGTH = 100

# ----- quantities --------------------------------------------------------------------------

_QUANTITY_RE = re.compile(QUANTITY_PATTERN)
# For a browser: `pattern` is compiled with the `v` flag and must match the whole value. The CRD's
# pattern has no `-` inside a character class, so it is valid as it is, without its anchors.
QUANTITY_HTML_PATTERN = QUANTITY_PATTERN.removeprefix("^").removesuffix("$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(text: str | int) -> Decimal:
    """A Kubernetes quantity ("500m", "1Gi", "2e3", or an int as stored) as a number; ValueError if
    it is not one.

    The grammar is ``resource.Quantity``'s (k8s.io/apimachinery/pkg/api/resource/quantity.go), as the
    CRDs' ``pattern`` states it: a signed decimal number, then a binary (Ki..Ei) or decimal (n..E)
    suffix or an exponent."""
    if isinstance(text, int) and not isinstance(text, bool):
        return Decimal(text)
    if not isinstance(text, str) or not _QUANTITY_RE.match(text) or "\n" in text:
        raise ValueError(text)
    match = re.match(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$", text)
    if match is None:  # pragma: no cover - the pattern above guarantees a number
        raise ValueError(text)
    number, suffix = match.groups()
    try:
        value = Decimal(number)
        if suffix in _BINARY:
            return value * _BINARY[suffix]
        if suffix in _DECIMAL:
            return value.scaleb(_DECIMAL[suffix])
        return value.scaleb(int(suffix[1:]))  # e/E exponent
    except (ArithmeticError, ValueError):  # decimal's Overflow and InvalidOperation are ArithmeticErrors
        raise ValueError(text) from None


# ----- what an admin declares ----------------------------------------------------------------


def _code(value: Any) -> SafeString:
    if isinstance(value, list | tuple):
        return mark_safe(", ".join(format_html("<code>{}</code>", v) for v in value))
    return format_html("<code>{}</code>", value)


def _with_code(template: StrOrPromise, names: dict[str, Any]) -> SafeString:
    values = {key: _code(value) for key, value in names.items()}
    return mark_safe(conditional_escape(str(template)).format(**values))


_lazy_with_code = lazy(_with_code, SafeString)


def help_with_code(template: StrOrPromise, **names: Any) -> StrOrPromise:
    """A help text naming code, as ``format_lazy``: ``template`` (``gettext_lazy``, with ``{name}``
    placeholders) escaped, each of ``names`` in ``<code>`` (a list or tuple: each item, joined by ", "), so a
    page in Chinese shows ``log.level=info`` as code, not as words to translate. Safe HTML, in the language of
    the page that shows it."""
    return _lazy_with_code(template, names)


@dataclass(frozen=True)
class FieldOptions:
    """What an admin adds to one field beyond the schema (all optional).

    ``min_value``/``max_value``/``max_length`` and ``validators`` are the console's own limits on
    top of the schema's; on an edit they judge only a changed value. ``choices`` turns a plain
    string into a select ("" = unset; a stored value outside the list stays selectable).
    ``columns`` picks the item keys (JSON) an inline group shows. ``empty_unsets`` names an
    ancestor path that an empty value removes instead of the field itself; ``writes_with`` names
    paths written together with this one, with the values the user saw."""

    label: StrOrPromise | None = None
    help_text: StrOrPromise | None = None
    required: bool | None = None
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None
    textarea: bool = False
    code: bool = False
    placeholder: StrOrPromise | None = None
    choices: Sequence[str] | None = None
    validators: Sequence[Callable[[Any], None]] = ()
    columns: Sequence[str] | None = None
    empty_unsets: str | None = None
    writes_with: Sequence[str] = ()


_NO_OPTIONS = FieldOptions()


@dataclass(frozen=True)
class FormSpec:
    """One kind's form: the version's generated ``model``, ``fieldsets`` of JSON paths (``metadata.name``,
    ``metadata.namespace`` and ``metadata.labels`` included), per-path ``options``, the rule for a NEW
    name, the add form's ``suggested`` first values, the paths a create writes even when they equal
    the schema default, and a cross-field ``clean(values, changed_paths) -> {path: error}``.

    The fieldsets' paths (and the ``writes_with``/``empty_unsets`` paths of their options) are
    resolved against the model when the spec is made: ValueError names an unknown path, or an
    inline column that is not a scalar field of the item. Options for paths no fieldset shows are
    ignored (one options mapping may serve several versions of a kind)."""

    model: type[Resource]
    fieldsets: Sequence[tuple[StrOrPromise, Sequence[str]]]
    options: Mapping[str, FieldOptions] = field(default_factory=dict)
    name_rule: NameRule = DNS_SUBDOMAIN
    suggested: Mapping[str, Any] = field(default_factory=dict)
    always_write: Sequence[str] = ()
    clean: Callable[[Mapping[str, Any], frozenset[str]], Mapping[str, str]] | None = None

    def __post_init__(self) -> None:
        for path in self.paths():
            options = self.option(path)
            for other in (path, *options.writes_with, *([options.empty_unsets] if options.empty_unsets else [])):
                _schema(self.model, other)  # ValueError for an unknown path
            _columns(_schema(self.model, path), options)  # ValueError for a bad column

    def paths(self) -> list[str]:
        """Every field path, in order: name and namespace first, then the fieldsets'."""
        head = [NAME, NAMESPACE] if self.model.namespaced else [NAME]
        rest = [path for _, paths in self.fieldsets for path in paths]
        return list(dict.fromkeys([*head, *rest]))

    def option(self, path: str) -> FieldOptions:
        return self.options.get(path, _NO_OPTIONS)


# ----- the schema, walked by JSON keys ---------------------------------------------------------

_SCALARS = ("int", "quantity", "intorstr", "choice", "bool", "str")


@dataclass(frozen=True)
class _Schema:
    """What the model says about one path."""

    path: str
    kind: str  # one of _SCALARS, "map", "lines", "object", "items", "yaml"
    annotation: Any  # the type, without None
    required: bool  # within its parent
    default: Any  # as JSON; None when there is none
    description: str = ""
    ge: int | None = None
    le: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    choices: tuple[Any, ...] = ()  # Literal values
    model: type[BaseModel] | None = None  # object: its model; items: the item's model
    quantities: bool = False  # map: values are quantities


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not NoneType]
        if len(args) == 1:
            return args[0]
        return Union[tuple(args)]  # noqa: UP007 - built from a runtime tuple
    return annotation


def _is_quantity(annotation: Any) -> bool:
    if get_origin(annotation) not in (Union, UnionType):
        return False
    args = [a for a in get_args(annotation) if a is not NoneType]
    if len(args) != 2 or int not in args:
        return False
    other = next(a for a in args if a is not int)
    if get_origin(other) is not Annotated:
        return False
    base, *metadata = get_args(other)
    return base is str and any(isinstance(m, StringConstraints) and m.pattern == QUANTITY_PATTERN for m in metadata)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _kind(annotation: Any) -> tuple[str, dict[str, Any]]:
    """The form kind of a (None-less) annotation, with what the kind needs to know."""
    if _is_quantity(annotation):
        return "quantity", {}
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        return ("intorstr", {}) if set(args) == {int, str} else ("yaml", {})
    if annotation is bool:
        return "bool", {}
    if annotation is int:
        return "int", {}
    if annotation is str:
        return "str", {}
    if origin is Literal:
        return "choice", {"choices": args}
    if _is_model(annotation):
        return "object", {"model": annotation}
    if origin is dict and len(args) == 2 and args[0] is str:
        if args[1] is str:
            return "map", {}
        if _is_quantity(args[1]):
            return "map", {"quantities": True}
    if origin is list and len(args) == 1:
        if args[0] is str:
            return "lines", {}
        if _is_model(args[0]):
            return "items", {"model": args[0]}
    return "yaml", {}


@lru_cache(maxsize=256)
def _fields_by_key(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A model's fields by JSON key (the alias, else the Python name)."""
    return {(info.alias or name): info for name, info in model.model_fields.items()}


def _json_default(info: FieldInfo) -> Any:
    default = info.get_default(call_default_factory=True)
    if default is PydanticUndefined or default is None:
        return None
    if isinstance(default, BaseModel):
        return default.model_dump(mode="json", by_alias=True)
    return copy.deepcopy(default)


def _constraints(info: FieldInfo | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in info.metadata if info is not None else ():
        for name in ("ge", "le", "min_length", "max_length", "pattern"):
            value = getattr(item, name, None)
            if value is not None:
                found[name] = value
        if getattr(item, "gt", None) is not None:
            found["ge"] = item.gt + 1
        if getattr(item, "lt", None) is not None:
            found["le"] = item.lt - 1
    return found


def _step(annotation: Any, key: str) -> tuple[FieldInfo | None, Any]:
    """The field (None inside a dict) and the type one JSON key below ``annotation``."""
    annotation = _without_none(annotation)
    if _is_model(annotation):
        info = _fields_by_key(annotation).get(key)
        if info is None:
            raise KeyError(key)
        return info, info.annotation
    if get_origin(annotation) is dict and len(get_args(annotation)) == 2:
        return None, get_args(annotation)[1]
    raise KeyError(key)


@lru_cache(maxsize=1024)
def _schema(model: type[BaseModel], path: str) -> _Schema:
    """What the schema says about ``path`` (JSON keys, dots between); a segment after a
    ``dict[str, X]`` is a key whose type is X. ValueError if the model has no such path."""
    annotation: Any = model
    info: FieldInfo | None = None
    try:
        for key in path.split("."):
            info, annotation = _step(annotation, key)
    except KeyError:
        raise ValueError(f"{model.__name__} has no field {path!r}") from None
    bare = _without_none(annotation)
    kind, extra = _kind(bare)
    return _Schema(
        path=path,
        kind=kind,
        annotation=bare,
        required=info.is_required() if info is not None else False,
        default=_json_default(info) if info is not None else None,
        description=(info.description or "") if info is not None else "",
        **_constraints(info),
        **extra,
    )


def _columns(schema: _Schema, options: FieldOptions) -> list[_Schema]:
    """The sub-fields an inline group shows: ``options.columns``, else the item's scalar fields
    (required ones first; at most 5 for a list, all for one object)."""
    if schema.kind not in ("object", "items") or schema.model is None:
        if options.columns is not None:
            raise ValueError(f"{schema.path}: columns are for an object or a list of objects")
        return []
    model = schema.model
    if options.columns is not None:
        columns = []
        for key in options.columns:
            try:
                column = _schema(model, key)
            except ValueError:
                raise ValueError(f"{schema.path}: the item has no field {key!r}") from None
            if column.kind not in _SCALARS:
                raise ValueError(f"{schema.path}: column {key!r} is not a scalar field")
            columns.append(column)
        return columns
    scalars = [_schema(model, key) for key in _fields_by_key(model)]
    scalars = [c for c in scalars if c.kind in _SCALARS]
    scalars.sort(key=lambda c: not c.required)
    return scalars[:5] if schema.kind == "items" else scalars


def _read(model: type[BaseModel], doc: Any, path: str) -> Any:
    """The value at ``path`` of a document, reading absent fields as the model's defaults (as
    pydantic would fill them in): a missing ``coreTemplate`` reads as its default
    ``{"spec": {"replicas": 1}}``, a present one without replicas as CoreTemplateSpec's 2."""
    node: Any = doc
    annotation: Any = model
    for key in path.split("."):
        info, annotation = _step(annotation, key)
        if not isinstance(node, Mapping):
            return None
        node = node[key] if key in node else (_json_default(info) if info is not None else None)
    return copy.deepcopy(node)


# ----- values ------------------------------------------------------------------------------------


def _empty_doc(model: type[Resource]) -> dict[str, Any]:
    """A new object's document: metadata and (when the kind has one) an empty spec, so that the
    spec's own defaults show."""
    return {"metadata": {}, **({"spec": {}} if "spec" in model.model_fields else {})}


def read_values(spec: FormSpec, doc: Mapping[str, Any]) -> dict[str, Any]:
    """What the form shows for an object document (``to_dict()`` form): one value per field path,
    in the document's JSON types (an inline group's value is the list of item dicts or the object's
    dict). Absent fields read as the model's defaults (an EMQX without ``coreTemplate`` reads core
    replicas 1, the CRD's default); a path under an absent parent without a default reads None."""
    return {path: _read(spec.model, doc, path) for path in spec.paths()}


def _defaults(spec: FormSpec) -> dict[str, Any]:
    return read_values(spec, _empty_doc(spec.model))


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON, types included (1 is not True, not 1.0, not "1")."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _nl(text: str) -> str:
    # Browsers send line breaks as CRLF; the object stores what the user meant (LF).
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    node = doc
    *parents, leaf = path.split(".")
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[leaf] = value


def _unset_path(doc: dict[str, Any], path: str) -> None:
    """Remove a field, and the mappings left empty by its removal (not spec or metadata)."""
    keys = path.split(".")
    trail: list[tuple[dict[str, Any], str]] = []
    node: Any = doc
    for key in keys[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return
        trail.append((node, key))
        node = node[key]
    if not isinstance(node, dict) or keys[-1] not in node:
        return
    del node[keys[-1]]
    for parent, key in reversed(trail[1:]):
        if parent[key]:
            break
        del parent[key]


# ----- help and labels ---------------------------------------------------------------------------


class ClusterText(str):
    """Text the cluster serves, in its authors' English: a help text taken from the CRD's own
    ``description`` (the operator's words, not the console's). Never translated: the form shows it as
    cluster text (the ``field_help`` filter, console/templatetags/console_i18n.py)."""

    from_cluster = True


def _short(description: str, limit: int = 200) -> str:
    """A schema description's first sentence, at most ``limit`` characters."""
    text = " ".join(description.split())
    end = re.search(r"[.!?]\s+(?=[A-Z])", text)
    first = text[: end.start() + 1] if end else text
    if len(first) > limit:
        first = first[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return first


def _words(key: str) -> str:
    """A JSON key as words: "coreTemplate" -> "core template", "clusterIP" -> "cluster IP"."""
    words = re.findall(r"[A-Z]+s?(?![a-z])|[A-Z]?[a-z0-9]+|[A-Z]+|[^A-Za-z0-9]+", key)
    out = [w if len(w) > 1 and w.rstrip("s").isupper() else w.lower() for w in words if w.strip("_- ")]
    return " ".join(out) or key


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# The name rules' help texts (emqx.client.names, Django-free and English) in the page's language.
_RULE_HELP = {
    DNS_LABEL.name: gettext_lazy(
        "Lower case letters, digits and '-', starting and ending with a letter or digit; at most 63 characters."
    ),
    DNS_SUBDOMAIN.name: gettext_lazy(
        "Lower case letters, digits, '-' and '.', starting and ending with a letter or digit; at most 253 characters."
    ),
}


# The name rules' sentences (the API server's own words for a refused name, as emqx.client.names copies them).
_RULE_TEXT = {
    DNS_LABEL.name: gettext_lazy(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character (e.g. 'my-name'), at most 63 characters"
    ),
    DNS_SUBDOMAIN.name: gettext_lazy(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
        "and must start and end with an alphanumeric character (e.g. 'example.com'), at most 253 characters"
    ),
}


def rule_problem(rule: NameRule, value: str) -> str | None:
    """Why ``value`` breaks ``rule`` (``rule.check``), in the page's language; None for a valid name."""
    problem = rule.check(value)
    if problem is not None and problem == rule.rule and rule.name in _RULE_TEXT:
        return str(_RULE_TEXT[rule.name])
    return problem


def rule_help(rule: NameRule) -> str:
    """``rule.help`` (or, without one, its API server sentence) in the page's language: the help of a name
    field (here and in console.forms.copies)."""
    if rule.name in _RULE_HELP and rule.help:
        return str(_RULE_HELP[rule.name])
    return rule.help or _capital(rule.rule) + "."


# The labels of the fields and inline columns every kind shows without an admin's label (derived from their JSON
# key otherwise, in English), in the page's language.
_KEY_LABELS = {
    "metadata.name": gettext_lazy("Name"),
    "metadata.namespace": gettext_lazy("Namespace"),
    "name": gettext_lazy("Name"),
    "value": pgettext_lazy("a column of key and value rows", "Value"),
    "port": gettext_lazy("Port"),
    "protocol": gettext_lazy("Protocol"),
    "targetPort": gettext_lazy("Target port"),
    "nodePort": gettext_lazy("Node port"),
}


def _column_label(key: str) -> str:
    """An inline column's header: :data:`_KEY_LABELS`, or its JSON key as words ("Target port")."""
    return str(_KEY_LABELS[key]) if key in _KEY_LABELS else _capital(_words(key))


def _label(path: str) -> str:
    """The last two meaningful segments of a path, readable: "Core template replicas"."""
    if path in _KEY_LABELS:
        return str(_KEY_LABELS[path])
    segments = [s for s in path.split(".") if s not in ("spec", "metadata", "template")] or path.split(".")[-1:]
    return _capital(" ".join(_words(s) for s in segments[-2:]))


# ----- codecs: one scalar (or text) kind, rendered and parsed -------------------------------------


@dataclass(frozen=True)
class _Codec:
    """How one kind of value shows as text (``render``) and reads back (``parse``; None = empty).
    ``parse`` checks the schema's own constraints and raises forms.ValidationError."""

    schema: _Schema

    def render(self, value: Any) -> str:
        return "" if value is None else str(value)

    def parse(self, text: str, stored: Any = None) -> Any:
        raise NotImplementedError

    def _check_text(self, value: str) -> None:
        s = self.schema
        if s.min_length is not None and len(value) < s.min_length:
            raise forms.ValidationError(
                gettext("At least %(limit)s characters (has %(count)s).") % {"limit": s.min_length, "count": len(value)}
            )
        if s.max_length is not None and len(value) > s.max_length:
            raise forms.ValidationError(
                gettext("At most %(limit)s characters (has %(count)s).") % {"limit": s.max_length, "count": len(value)}
            )
        if s.pattern is not None:
            try:
                ok = re.search(s.pattern, value) is not None
            except re.error:  # pragma: no cover - a pattern Python cannot read; the API server judges
                ok = True
            if not ok:
                raise forms.ValidationError(gettext("Must match the pattern %(pattern)s.") % {"pattern": s.pattern})


class _Int(_Codec):
    def parse(self, text: str, stored: Any = None) -> int | None:
        text = text.strip()
        if not text:
            return None
        if not re.fullmatch(r"[+-]?[0-9]{1,19}", text):
            raise forms.ValidationError(gettext("Enter a whole number."))
        value = int(text)
        s = self.schema
        if abs(value) > _INT64:
            raise forms.ValidationError(gettext("The number is too large."))
        if s.ge is not None and value < s.ge:
            raise forms.ValidationError(gettext("Must be at least %(limit)s.") % {"limit": s.ge})
        if s.le is not None and value > s.le:
            raise forms.ValidationError(gettext("Must be at most %(limit)s.") % {"limit": s.le})
        return value


class _Quantity(_Codec):
    def parse(self, text: str, stored: Any = None) -> str | None:
        text = text.strip()
        if not text:
            return None
        if len(text) > _QUANTITY_MAX_LENGTH:
            raise forms.ValidationError(gettext("At most %(limit)s characters.") % {"limit": _QUANTITY_MAX_LENGTH})
        try:
            number = parse_quantity(text)
        except ValueError:
            raise forms.ValidationError(
                gettext("%(value)s is not a Kubernetes quantity (e.g. 500m or 2 for CPU, 512Mi or 2Gi for memory).")
                % {"value": repr(text)}
            ) from None
        if number < 0:
            raise forms.ValidationError(gettext("A quantity cannot be negative."))
        return text  # as written: the API server canonicalises it, we do not


class _IntOrString(_Codec):
    def parse(self, text: str, stored: Any = None) -> int | str | None:
        text = text.strip()
        if not text:
            return None
        if re.fullmatch(r"[0-9]{1,10}", text) and int(text) <= _INT32:
            return int(text)
        if re.fullmatch(r"[0-9]+", text):
            raise forms.ValidationError(gettext("A number here is at most %(limit)s.") % {"limit": _INT32})
        self._check_text(text)
        return text


@dataclass(frozen=True)
class _Choice(_Codec):
    """A select: ``values`` in order (Literal values or the admin's choices)."""

    values: tuple[Any, ...] = ()

    def parse(self, text: str, stored: Any = None) -> Any:
        if text == "":
            return None
        for value in self.values:
            if self.render(value) == text:
                return value
        raise forms.ValidationError(
            gettext("Select a valid choice: %(value)s is not one of the available choices.") % {"value": repr(text)}
        )


class _Bool(_Codec):
    def render(self, value: Any) -> str:
        return "" if value is None else ("true" if value else "false")

    def parse(self, text: str, stored: Any = None) -> bool | None:
        choices = {"": None, "true": True, "false": False}
        if text not in choices:
            raise forms.ValidationError(gettext("Select true, false or nothing."))
        return choices[text]


@dataclass(frozen=True)
class _Text(_Codec):
    strip: bool = True

    def parse(self, text: str, stored: Any = None) -> str | None:
        if not text.strip():
            return None
        text = text.strip() if self.strip else text
        self._check_text(text)
        return text


@dataclass(frozen=True)
class _Map(_Codec):
    """``key=value`` lines: labels (Kubernetes' label rules), quantities, or plain strings."""

    labels: bool = False

    def render(self, value: Any) -> str:
        if not isinstance(value, Mapping):
            return ""
        return "\n".join(f"{k}={'' if v is None else v}" for k, v in value.items())

    def parse(self, text: str, stored: Any = None) -> dict[str, Any] | None:
        stored = stored if isinstance(stored, Mapping) else {}
        entries: dict[str, Any] = {}
        for number, raw in enumerate(_nl(text).split("\n"), start=1):
            line = raw.strip()
            if not line:
                continue
            key, sep, value = line.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not key:
                raise forms.ValidationError(
                    gettext("Line %(number)s: write each entry as key=value, got %(line)s.")
                    % {"number": number, "line": repr(line)}
                )
            if key in entries:
                raise forms.ValidationError(
                    gettext("Line %(number)s: %(key)s is given twice.") % {"number": number, "key": repr(key)}
                )
            if key in stored and value == ("" if stored[key] is None else str(stored[key])):
                entries[key] = stored[key]  # as stored (an int quantity stays an int)
            elif self.schema.quantities:
                try:
                    if parse_quantity(value) < 0:
                        raise ValueError(value)
                except ValueError:
                    raise forms.ValidationError(
                        gettext(
                            "Line %(number)s: %(value)s is not a quantity of at least 0 (e.g. 500m, 2, 512Mi, 2Gi)."
                        )
                        % {"number": number, "value": repr(value)}
                    ) from None
                entries[key] = value
            else:
                entries[key] = value
        if self.labels:
            problems = label_errors(entries)
            if problems:
                raise forms.ValidationError(problems)
        return entries or None


class _Lines(_Codec):
    def render(self, value: Any) -> str:
        return "\n".join(str(v) for v in value) if isinstance(value, list) else ""

    def parse(self, text: str, stored: Any = None) -> list[str] | None:
        return [line.strip() for line in _nl(text).split("\n") if line.strip()] or None


@dataclass(frozen=True)
class _Yaml(_Codec):
    """A sub-tree as YAML, checked against the schema's type (pydantic, strict)."""

    def render(self, value: Any) -> str:
        if value is None:
            return ""
        return diffs.dump(value)

    def parse(self, text: str, stored: Any = None) -> Any:
        if not text.strip():
            return None
        try:
            value = yamlio.load(_nl(text), schema=self.schema.annotation)  # as kubectl reads it
        except yamlio.YamlInputError as error:
            raise forms.ValidationError(str(error)) from None
        if value is None:
            return None
        try:
            _adapter(self.schema.annotation).validate_python(value, strict=True)
        except PydanticError as error:
            raise forms.ValidationError(_pydantic_messages(error)) from None
        except RecursionError:
            raise forms.ValidationError(gettext("Nested too deeply.")) from None
        return value


@lru_cache(maxsize=128)
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


# Pydantic names the member of a union it tried (int | str quantities) inside the location.
_UNION_TAGS = re.compile(r"^(int|str|float|bool|constrained-str|list|dict|none|function-.*)$|\[")


def _loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _UNION_TAGS.search(str(part)):
            out += f".{part}" if out else str(part)
    return out


def _pydantic_messages(error: PydanticError, limit: int = 10) -> list[str]:
    seen: dict[str, list[str]] = {}
    for item in error.errors():
        messages = seen.setdefault(_loc(item["loc"]), [])
        if item["msg"] not in messages:
            messages.append(item["msg"])
    return [f"{path}: {' or '.join(m)}" if path else " or ".join(m) for path, m in list(seen.items())[:limit]]


def _codec(schema: _Schema, options: FieldOptions = _NO_OPTIONS) -> _Codec:
    if options.choices is not None and schema.kind in ("str", "choice", "intorstr"):
        return _Choice(schema, values=tuple(options.choices))
    match schema.kind:
        case "int":
            return _Int(schema)
        case "quantity":
            return _Quantity(schema)
        case "intorstr":
            return _IntOrString(schema)
        case "choice":
            return _Choice(schema, values=schema.choices)
        case "bool":
            return _Bool(schema)
        case "str":
            return _Text(schema, strip=not (options.textarea or options.code))
        case "map":
            return _Map(schema, labels=schema.path == LABELS)
        case "lines":
            return _Lines(schema)
        case _:
            return _Yaml(schema)


# ----- Django fields -------------------------------------------------------------------------


def _no_nul(text: str) -> None:
    # Allowed in JSON, but PostgreSQL's jsonb (the audit trail's before/after) refuses it, and no
    # field of these kinds has a use for it (Django's CharField refuses it too).
    if "\x00" in text:
        raise forms.ValidationError(gettext("Null characters are not allowed."))


class _Posted(str):
    """Text as the browser sent it (not a stored value to render)."""

    __slots__ = ()


def _text(data: Any) -> str:
    return _nl("" if data is None else str(data))


class _ValueField(forms.Field):
    """One value at one path, shown as text (or a select) by its codec.

    ``stored`` is the value the form showed; ``judge_unchanged`` is False on an edit, where a value
    posted back as rendered is returned as stored without any check."""

    def __init__(self, codec: _Codec, *, path: str, stored: Any, judge_unchanged: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.codec = codec
        self.path = path
        self.stored = stored
        self.judge_unchanged = judge_unchanged
        self.max_text: int | None = None  # the console's limit on the text, line breaks as one

    def prepare_value(self, value: Any) -> Any:
        return str(value) if isinstance(value, _Posted) else self.codec.render(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        return initial if self.disabled else _Posted(_text(data))

    def has_changed(self, initial: Any | None, data: Any | None) -> bool:
        return not self.disabled and _text(data) != _nl(self.codec.render(initial))

    def clean(self, value: Any) -> Any:
        if self.disabled:
            return copy.deepcopy(value)
        text = _text(value)
        unchanged = text == _nl(self.codec.render(self.stored))
        if unchanged and not self.judge_unchanged:
            return copy.deepcopy(self.stored)
        if self.max_text is not None and len(text) > self.max_text:
            raise forms.ValidationError(
                gettext("At most %(limit)s characters (it has %(count)s).")
                % {"limit": self.max_text, "count": len(text)}
            )
        _no_nul(text)
        parsed = self.codec.parse(text, self.stored)
        if parsed is None:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
        else:
            self.run_validators(parsed)
        return copy.deepcopy(self.stored) if unchanged else parsed

    def post_data(self, name: str, value: Any) -> dict[str, str]:
        """What a browser sends for this field showing ``value``."""
        text = self.prepare_value(value)
        widget = self.widget
        if isinstance(widget, forms.Select):
            options = [str(v) for v, _ in widget.choices]
            if text not in options and options:
                text = options[0]  # a select shows its first option when none is selected
        elif isinstance(widget, forms.Textarea):
            text = text.replace("\n", "\r\n")
        return {name: text}


class _NameField(_ValueField):
    """A new object's name or namespace, judged by Kubernetes' rule (never an existing one's)."""

    def __init__(self, rule: NameRule, *, what: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule
        self.what = what

    def clean(self, value: Any) -> Any:
        if self.disabled:
            return value
        name = _text(value).strip()
        if not name:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        problem = rule_problem(self.rule, name)
        if problem is not None:
            raise forms.ValidationError(
                (
                    gettext("Not a valid name: %(why)s.")
                    if self.what == "name"
                    else gettext("Not a valid namespace name: %(why)s.")
                )
                % {"why": problem}
            )
        return name


@dataclass
class _Row:
    cells: dict[str, str]
    delete: bool = False


@dataclass
class _Rows:
    """An inline group as shown: rows of cell texts. ``posted`` rows came from the browser;
    ``initial`` is how many rows showed stored items; ``problem`` a broken management form."""

    rows: list[_Row]
    initial: int = 0
    posted: bool = False
    problem: str = ""


def _cell_widget(column: _Schema, codec: _Codec, value: str) -> forms.Widget:
    attrs: dict[str, Any] = {"autocomplete": "off", "spellcheck": "false"}
    if isinstance(codec, _Choice | _Bool):
        choices = [("", "—")]
        values = codec.values if isinstance(codec, _Choice) else (True, False)
        choices += [(codec.render(v), codec.render(v)) for v in values]
        if value and value not in [c for c, _ in choices]:
            choices.append((value, value))
        return forms.Select(attrs=attrs, choices=choices)
    if "\n" in value:  # a browser would drop the line breaks of an <input>
        return forms.Textarea(attrs={**attrs, "rows": 2, "cols": 20})
    if isinstance(codec, _Int):
        for key, bound in (("min", column.ge), ("max", column.le)):
            if bound is not None:
                attrs[key] = str(bound)
        return forms.NumberInput(attrs=attrs)
    if isinstance(codec, _Quantity):
        attrs["pattern"] = QUANTITY_HTML_PATTERN
    return forms.TextInput(attrs={**attrs, "size": "12"})


class _InlineWidget(forms.Widget):
    """A table of rows, one per item (``many``) or a single row for one object; Django formset
    names (``name-TOTAL_FORMS``, ``name-<i>-<key>``, ``name-<i>-DELETE``) for a list,
    ``name-<key>`` for an object."""

    use_fieldset = True

    def __init__(self, columns: list[tuple[_Schema, _Codec, str]], *, many: bool) -> None:
        super().__init__()
        self.columns = columns
        self.many = many
        self.row_errors: dict[int, list[str]] = {}

    def _cell_name(self, name: str, index: int, key: str) -> str:
        return f"{name}-{index}-{key}" if self.many else f"{name}-{key}"

    def value_from_datadict(self, data: Any, files: Any, name: str) -> _Rows:
        def get(key: str) -> str:
            value = data.get(key)
            return "" if value is None else str(value)

        if not self.many:
            return _Rows(
                [_Row({c.path: get(self._cell_name(name, 0, c.path)) for c, _, _ in self.columns})], posted=True
            )
        total, initial = get(f"{name}-TOTAL_FORMS").strip(), get(f"{name}-INITIAL_FORMS").strip()
        if not total.isdecimal() or len(total) > 6:
            return _Rows(
                [], posted=True, problem=gettext("The form's row count is missing or broken; reload the page.")
            )
        if int(total) > MAX_ROWS:
            return _Rows([], posted=True, problem=gettext("At most %(limit)s rows.") % {"limit": MAX_ROWS})
        rows = [
            _Row(
                {c.path: get(self._cell_name(name, i, c.path)) for c, _, _ in self.columns},
                delete=forms.CheckboxInput().value_from_datadict(data, files, f"{name}-{i}-DELETE"),
            )
            for i in range(int(total))
        ]
        return _Rows(rows, initial=int(initial) if initial.isdecimal() and len(initial) < 7 else 0, posted=True)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False

    def id_for_label(self, id_: str) -> str:
        if not id_ or not self.columns:
            return id_
        return f"{id_}-0-{self.columns[0][0].path}" if self.many else f"{id_}-{self.columns[0][0].path}"

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: BaseRenderer | None = None
    ) -> SafeString:
        rows: _Rows = value if isinstance(value, _Rows) else _Rows([])
        id_ = (attrs or {}).get("id") or f"id_{name}"
        language = get_language() or "en"
        if language.split("-")[0] == "en":
            head = format_html_join(
                "",
                '<th scope="col" title="{}">{}</th>',
                ((_short(c.description), label) for c, _, label in self.columns),
            )
        else:
            # The tooltip is the CRD's description, in English (the cluster's text); the label is the page's.
            head = format_html_join(
                "",
                '<th scope="col" lang="en" title="{}"><span lang="{}">{}</span></th>',
                ((_short(c.description), language, label) for c, _, label in self.columns),
            )
        if self.many:
            head += format_html('<th scope="col">{}</th>', gettext("Delete"))
        body = []
        for index, row in enumerate(rows.rows):
            cells = []
            for column, codec, label in self.columns:
                text = row.cells.get(column.path, "")
                widget = _cell_widget(column, codec, text)
                cell_id = f"{id_}-{index}-{column.path}" if self.many else f"{id_}-{column.path}"
                cells.append(
                    widget.render(
                        self._cell_name(name, index, column.path),
                        text,
                        {"id": cell_id, "aria-label": label},
                        renderer,
                    )
                )
            if self.many:
                cells.append(
                    forms.CheckboxInput().render(
                        f"{name}-{index}-DELETE",
                        row.delete,
                        {
                            "id": f"{id_}-{index}-DELETE",
                            "aria-label": gettext("Delete row %(number)s") % {"number": index + 1},
                        },
                        renderer,
                    )
                )
            body.append(format_html("<tr>{}</tr>", format_html_join("", "<td>{}</td>", ((c,) for c in cells))))
            if index in self.row_errors:
                body.append(
                    format_html(
                        '<tr class="row-errors"><td colspan="{}"><ul class="errorlist">{}</ul></td></tr>',
                        len(cells),
                        format_html_join("", "<li>{}</li>", ((m,) for m in self.row_errors[index])),
                    )
                )
        table = format_html(
            '<table class="inline-group" id="{}"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
            id_,
            head,
            mark_safe("".join(body)),  # each row was built by format_html
        )
        if self.many:
            table += format_html(
                '<input type="hidden" name="{}-TOTAL_FORMS" value="{}" id="{}-TOTAL_FORMS">'
                '<input type="hidden" name="{}-INITIAL_FORMS" value="{}" id="{}-INITIAL_FORMS">',
                name,
                len(rows.rows),
                id_,
                name,
                rows.initial,
                id_,
            )
        return table


class _InlineField(forms.Field):
    """An inline group: a list of objects (``many``) or one object, shown by some scalar
    sub-fields. Posted rows are laid by index onto the stored items, so sub-fields without a column
    survive; a blank extra row adds nothing; a ticked DELETE removes the row's item. Each changed
    or new row is checked against the item model, and its messages show on the row."""

    widget: _InlineWidget

    def __init__(
        self,
        schema: _Schema,
        columns: list[_Schema],
        *,
        stored: Any,
        judge_unchanged: bool,
        **kwargs: Any,
    ) -> None:
        self.schema = schema
        self.many = schema.kind == "items"
        self.cells = [(c, _codec(c), _column_label(c.path)) for c in columns]
        super().__init__(widget=_InlineWidget(self.cells, many=self.many), **kwargs)
        self.stored = stored
        self.judge_unchanged = judge_unchanged

    def _stored_items(self) -> list[Any]:
        if self.many:
            return list(self.stored) if isinstance(self.stored, list) else []
        return [self.stored] if isinstance(self.stored, Mapping) else []

    def _rows_of(self, value: Any) -> _Rows:
        items = (value if isinstance(value, list) else []) if self.many else [value] if value is not None else []
        rows = [
            _Row(
                {
                    c.path: codec.render(item.get(c.path)) if isinstance(item, Mapping) else ""
                    for c, codec, _ in self.cells
                }
            )
            for item in items
        ]
        if self.many or not rows:
            rows.append(_Row({c.path: "" for c, _, _ in self.cells}))  # the extra row to add an item
        return _Rows(rows, initial=len(items))

    def prepare_value(self, value: Any) -> Any:
        return value if isinstance(value, _Rows) else self._rows_of(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        return initial if self.disabled else data

    def has_changed(self, initial: Any | None, data: Any | None) -> bool:
        if self.disabled:
            return False
        try:
            return not _same(self._overlay(data, judge=False, initial=initial), initial)
        except forms.ValidationError:
            return True

    def clean(self, value: Any) -> Any:
        if self.disabled:
            return copy.deepcopy(value)
        result = self._overlay(value, judge=True, initial=self.stored)
        if result is None and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if result is not None and not _same(result, self.stored):
            self.run_validators(result)
        return result

    def _overlay(self, posted: Any, *, judge: bool, initial: Any) -> Any:
        if not isinstance(posted, _Rows):
            posted = self._rows_of(posted)
        if posted.problem:
            raise forms.ValidationError(posted.problem)
        stored_items = (
            (list(initial) if isinstance(initial, list) else [])
            if self.many
            else ([initial] if isinstance(initial, Mapping) else [])
        )
        result: list[Any] = []
        errors: list[str] = []
        row_errors: dict[int, list[str]] = {}
        changed = False
        for index, row in enumerate(posted.rows):
            stored = stored_items[index] if index < len(stored_items) else None
            stored = stored if isinstance(stored, Mapping) else None
            blank = not any(text.strip() for text in row.cells.values())
            if row.delete or (stored is None and blank):
                changed = changed or (row.delete and index < len(stored_items))
                continue
            item, row_changed, problems = self._row(row, stored)
            changed = changed or row_changed
            if judge and (row_changed or self.judge_unchanged) and not problems:
                problems = self._check_item(item)
            if problems:
                row_errors[index] = problems
                errors += [
                    gettext("Row %(number)s: %(problem)s") % {"number": index + 1, "problem": p} if self.many else p
                    for p in problems
                ]
            result.append(item)
        result += copy.deepcopy(stored_items[len(posted.rows) :])  # never lost for a short post
        if judge:
            self.widget.row_errors = row_errors
        if errors:
            raise forms.ValidationError(errors)
        if not changed:
            return copy.deepcopy(initial)
        if self.many:
            return result or None
        return (result[0] or None) if result else None

    def _row(self, row: _Row, stored: Mapping[str, Any] | None) -> tuple[dict[str, Any], bool, list[str]]:
        item = copy.deepcopy(dict(stored)) if stored is not None else {}
        changed, problems = stored is None, []
        for column, codec, label in self.cells:
            text = _nl(row.cells.get(column.path, ""))
            if stored is not None and text == _nl(codec.render(stored.get(column.path))):
                continue  # as stored, with its JSON type
            changed = True
            try:
                _no_nul(text)
                value = codec.parse(text)
            except forms.ValidationError as error:
                problems += [f"{label}: {m}" for m in error.messages]
                continue
            if value is None:
                item.pop(column.path, None)
            else:
                item[column.path] = value
        return item, changed, problems

    def _check_item(self, item: dict[str, Any]) -> list[str]:
        problems = [
            f"{label}: this field is required."
            for column, _, label in self.cells
            if column.required and item.get(column.path) is None
        ]
        if problems or self.schema.model is None:
            return problems
        try:
            self.schema.model.model_validate(item)
        except PydanticError as error:
            return _pydantic_messages(error, limit=5)
        except RecursionError:
            return ["nested too deeply"]
        return []

    def post_data(self, name: str, value: Any) -> dict[str, str]:
        """What a browser sends for this group showing ``value`` (unticked boxes are not sent)."""
        rows = self.prepare_value(value)
        data: dict[str, str] = {}
        if self.many:
            data[f"{name}-TOTAL_FORMS"] = str(len(rows.rows))
            data[f"{name}-INITIAL_FORMS"] = str(rows.initial)
        for index, row in enumerate(rows.rows):
            for column, _, _ in self.cells:
                text = row.cells.get(column.path, "")
                data[self.widget._cell_name(name, index, column.path)] = text.replace("\n", "\r\n")
            if self.many and row.delete:
                data[f"{name}-{index}-DELETE"] = "on"
        return data


# ----- the form ------------------------------------------------------------------------------


class ResourceForm(forms.Form):
    """A custom resource as people describe it, built from ``spec`` (a :class:`FormSpec`).

    Without ``base`` it is an add form: name and namespace editable and judged by
    ``spec.name_rule`` / the namespace rule (RFC 1123 label), first values the schema's defaults,
    ``spec.suggested`` and ``namespace`` (then ``initial``, values by path, on top). With ``base``
    (the ``to_dict()`` of the object as opened) it edits that object: its values are
    :func:`read_values` of it (then ``initial`` on top), name and namespace are disabled and never
    judged, and only what the user changes is checked and written.

    Field names are the JSON paths (``form["spec.image"]``). ``namespaces`` are suggested for the
    namespace field (``namespace_suggestions``, for a ``<datalist id="namespace-suggestions">``)."""

    def __init__(
        self,
        data: Any = None,
        *,
        spec: FormSpec,
        base: Mapping[str, Any] | None = None,
        namespace: str = "",
        namespaces: Iterable[str] = (),
        initial: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.spec = spec
        self.base: dict[str, Any] | None = copy.deepcopy(dict(base)) if base is not None else None
        self.editing = base is not None
        self.namespace_suggestions = list(namespaces)
        if self.base is None:
            shown_doc = _empty_doc(spec.model)
            values = _defaults(spec)
            values.update(copy.deepcopy(dict(spec.suggested)))
            if spec.model.namespaced:
                values[NAMESPACE] = namespace or None
        else:
            shown_doc = self.base
            values = read_values(spec, self.base)
        values.update(copy.deepcopy(dict(initial or {})))
        super().__init__(data, initial=values, **kwargs)
        # The values of paths written along with a field (writes_with) that no field shows.
        self._seen = {
            path: values[path] if path in values else spec.suggested.get(path, _read(spec.model, shown_doc, path))
            for options in spec.options.values()
            for path in options.writes_with
        }
        self.fields = {path: self._field(path, values.get(path)) for path in spec.paths()}

    # ----- building the fields -------------------------------------------------------------

    def _field(self, path: str, stored: Any) -> forms.Field:
        schema, options = _schema(self.spec.model, path), self.spec.option(path)
        label = options.label or _label(path)
        help_text = options.help_text if options.help_text is not None else ClusterText(_short(schema.description))
        if path in (NAME, NAMESPACE):
            return self._name_field(path, stored, label, help_text)
        required = options.required if options.required is not None else schema.required
        judge = not self.editing
        columns = _columns(schema, options)
        if schema.kind in ("object", "items") and columns:
            inline = _InlineField(
                schema,
                columns,
                stored=stored,
                judge_unchanged=judge,
                required=required,
                label=label,
                help_text=help_text,
            )
            inline.validators.extend(options.validators)
            return inline
        if schema.kind in ("object", "items"):
            schema = replace(schema, kind="yaml")  # nothing scalar to show in columns: the sub-tree as YAML
        codec = _codec(schema, options)
        if isinstance(codec, _Choice) and stored is not None and not any(_same(v, stored) for v in codec.values):
            # A value set outside the console stays selectable, so saving an unrelated change
            # does not silently reset it.
            codec = replace(codec, values=(*codec.values, stored))
        if isinstance(codec, _Text) and "\n" in codec.render(stored):
            codec = replace(codec, strip=False)  # multi-line text shows in a textarea, kept as typed
        field = _ValueField(
            codec,
            path=path,
            stored=stored,
            judge_unchanged=judge,
            required=required,
            label=label,
            help_text=help_text,
            widget=self._widget(schema, codec, options, stored, required),
        )
        self._add_limits(field, schema, options, stored)
        field.validators.extend(options.validators)
        if self.editing and required and stored is None:
            # Nothing stored: the browser must still post the unchanged form (a change is judged here).
            field.widget.use_required_attribute = lambda initial: False
        return field

    def _name_field(self, path: str, stored: Any, label: StrOrPromise, help_text: StrOrPromise) -> forms.Field:
        rule = self.spec.name_rule if path == NAME else DNS_LABEL
        attrs: dict[str, Any] = {"autocomplete": "off", "spellcheck": "false"}
        placeholder = self.spec.option(path).placeholder
        if placeholder:
            attrs["placeholder"] = placeholder
        if not self.editing:
            attrs.update(pattern=rule.html_pattern, maxlength=str(rule.max_length))
            if path == NAMESPACE:
                attrs["list"] = "namespace-suggestions"
        if not help_text:
            help_text = str(rule_help(rule))
            if path == NAME:
                help_text = gettext("%(rule)s Cannot be changed later.") % {"rule": help_text}
        field = _NameField(
            rule,
            what="name" if path == NAME else "namespace name",
            codec=_Text(_schema(self.spec.model, path)),
            path=path,
            stored=stored,
            judge_unchanged=True,
            required=not self.editing,
            disabled=self.editing,
            label=label,
            help_text=help_text,
            widget=forms.TextInput(attrs=attrs),
        )
        return field

    def _widget(
        self, schema: _Schema, codec: _Codec, options: FieldOptions, stored: Any, required: bool
    ) -> forms.Widget:
        attrs: dict[str, Any] = {"autocomplete": "off", "spellcheck": "false"}
        if options.placeholder:
            attrs["placeholder"] = options.placeholder
        if isinstance(codec, _Choice | _Bool):
            values = codec.values if isinstance(codec, _Choice) else (True, False)
            choices = [(codec.render(v), codec.render(v)) for v in values]
            if not required or stored is None:
                default = (
                    ""
                    if schema.default is None
                    else gettext(" (default: %(value)s)") % {"value": codec.render(schema.default)}
                )
                choices.insert(0, ("", f"—{default}"))
            return forms.Select(attrs=attrs, choices=choices)
        rendered = codec.render(stored)
        multiline = isinstance(codec, _Map | _Lines | _Yaml) or options.textarea or options.code or "\n" in rendered
        if multiline:
            attrs.update(rows=str(max(3, min(20, rendered.count("\n") + 2))), cols="80")
            if options.code or isinstance(codec, _Yaml):
                attrs["class"] = "code"
            if isinstance(codec, _Map) and not options.placeholder:
                attrs["placeholder"] = "key=value"
            return forms.Textarea(attrs=attrs)
        if isinstance(codec, _Int):
            return forms.NumberInput(attrs=attrs)
        if isinstance(codec, _Quantity):
            attrs.update(pattern=QUANTITY_HTML_PATTERN, maxlength=str(_QUANTITY_MAX_LENGTH), size="10")
        return forms.TextInput(attrs=attrs)

    def _add_limits(self, field: _ValueField, schema: _Schema, options: FieldOptions, stored: Any) -> None:
        """The console's bounds (validators, only for new values) and the HTML attributes of
        both bounds, widened on an edit to hold the stored value so that the browser posts an
        unchanged form (as _keep_what_is_stored did)."""
        attrs = field.widget.attrs
        if isinstance(field.codec, _Int):
            low = max((b for b in (schema.ge, options.min_value) if b is not None), default=None)
            high = min((b for b in (schema.le, options.max_value) if b is not None), default=None)
            if self.editing and isinstance(stored, int):
                low = min(low, stored) if low is not None else None
                high = max(high, stored) if high is not None else None
            if options.min_value is not None:
                floor = (
                    min(options.min_value, stored) if self.editing and isinstance(stored, int) else options.min_value
                )
                field.validators.append(validators.MinValueValidator(floor))
            if options.max_value is not None:
                ceiling = (
                    max(options.max_value, stored) if self.editing and isinstance(stored, int) else options.max_value
                )
                field.validators.append(validators.MaxValueValidator(ceiling))
            if low is not None:
                attrs["min"] = str(low)
            if high is not None:
                attrs["max"] = str(high)
        limit = options.max_length
        if limit is None and schema.max_length is not None and isinstance(field.codec, _Text):
            limit = schema.max_length
        if limit is not None and not isinstance(field.widget, forms.Select):
            text = _nl(field.codec.render(stored))
            if self.editing:
                # what is stored stays postable (a textarea's line breaks may count twice, as CRLF)
                limit = max(limit, len(text) + text.count("\n"))
            if options.max_length is not None:
                field.max_text = max(options.max_length, len(text)) if self.editing else options.max_length
            attrs["maxlength"] = str(limit)
        pattern = attrs.get("pattern")
        if pattern and self.editing and stored is not None and not re.fullmatch(pattern, field.codec.render(stored)):
            del attrs["pattern"]  # what is stored stays postable

    # ----- what the page uses --------------------------------------------------------------

    def fieldsets(self) -> list[tuple[StrOrPromise, list[forms.BoundField]]]:
        """The fields grouped as the page shows them (Django admin's fieldsets). Name and
        namespace, when no fieldset names them, open the first one."""
        named = {path for _, paths in self.spec.fieldsets for path in paths}
        head = [path for path in (NAME, NAMESPACE) if path in self.fields and path not in named]
        groups = []
        for index, (title, paths) in enumerate(self.spec.fieldsets):
            groups.append((title, [self[p] for p in ([*head, *paths] if index == 0 else paths)]))
        return groups

    def field_for_path(self, api_path: str) -> str | None:
        """The form field an API error's field path belongs to: the longest field path that
        begins it, indexes and map keys (``env[2]``, ``labels[app]``) read as segments;
        None if no field shows it. ``spec.coreTemplate.spec.env[2].name`` -> the env group."""
        segments: list[str] = []
        for match in re.finditer(r"([^.\[\]]+)|\[([^\]]*)\]", api_path.strip()):
            if match.group(1) is not None:
                segments.append(match.group(1))
            else:
                key = match.group(2).strip("\"'")
                if not key.isdecimal():
                    segments.append(key)
        for end in range(len(segments), 0, -1):
            candidate = ".".join(segments[:end])
            if candidate in self.fields:
                return candidate
        return None

    def values(self) -> dict[str, Any]:
        """The validated values, one per path (call after is_valid())."""
        return {
            path: self.cleaned_data[path] if path in self.cleaned_data else self.initial.get(path)
            for path in self.fields
        }

    def changed_paths(self) -> frozenset[str]:
        """The paths whose value differs from the form's first one (after is_valid())."""
        values = self.values()
        return frozenset(
            path
            for path, field in self.fields.items()
            if not field.disabled and not _same(values.get(path), self.initial.get(path))
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        if self.spec.clean is not None:
            for path, message in self.spec.clean(self.values(), self.changed_paths()).items():
                self._error_at(path, message)
        if not self.errors:
            # What the model refuses in the object these values make lands on the field that
            # shows it (a required field left out is left to intended(), which raises it).
            try:
                self.intended()
            except PydanticError as error:
                for item in error.errors():
                    path = _loc(item["loc"])
                    name = self.field_for_path(path)
                    if name is not None and not self.fields[name].disabled:
                        self._error_at(path, item["msg"])
        return cleaned

    def _error_at(self, path: str, message: str) -> None:
        name = self.field_for_path(path) if path else None
        if name is not None and not self.fields[name].disabled:
            self.add_error(name, message if path == name else f"{path}: {message}")
        else:
            self.add_error(None, f"{path}: {message}" if path else message)

    def intended(self, base: Mapping[str, Any] | None = None) -> Resource:
        """The object to write (after is_valid()).

        Add form: a new object of ``spec.model`` with the name, namespace, ``always_write`` paths
        and every path whose value differs from the schema's default. Edit form: a deep copy of
        ``base`` (default: the document the form opened; may be a newer version of it) with the
        paths the user changed written, and nothing else touched. An empty value removes its path
        (or its ``empty_unsets`` ancestor), and the mappings its removal leaves empty.
        Raises pydantic's ValidationError if the result is no object of the model. The form's
        clean() puts such errors on the fields that show their paths, so a valid form raises
        only for a path no field shows (e.g. a field the model requires, left out of the form)."""
        values = self.values()
        if not self.editing:
            defaults = _defaults(self.spec)
            doc = _empty_doc(self.spec.model)
            paths = [NAME, NAMESPACE, *self.spec.always_write]
            paths += [p for p in self.fields if not _same(values.get(p), defaults.get(p))]
            self._write(doc, values, paths)
        else:
            source = base if base is not None else self.base
            doc = copy.deepcopy(dict(source or {}))
            changed = self.changed_paths()
            self._write(doc, values, [p for p in self.fields if p in changed])
        return self.spec.model.from_dict(doc)

    def _write(self, doc: dict[str, Any], values: Mapping[str, Any], paths: Iterable[str]) -> None:
        chosen = list(dict.fromkeys(paths))
        for path in list(chosen):
            chosen += [p for p in self.spec.option(path).writes_with if p not in chosen]
        ancestors: list[str] = []
        for path in chosen:
            if self.editing and path in (NAME, NAMESPACE):
                continue
            if path in values:
                value = values[path]
            elif path in self._seen:
                value = self._seen[path]
            else:
                value = self.spec.suggested.get(path, self.initial.get(path))
            unsets = self.spec.option(path).empty_unsets
            if value is None:
                if unsets:
                    ancestors.append(unsets)
                else:
                    _unset_path(doc, path)
            else:
                _set_path(doc, path, copy.deepcopy(value))
        for path in ancestors:  # last: "no replicant nodes" removes the whole template
            _unset_path(doc, path)


def values_as_data(spec: FormSpec, values: Mapping[str, Any], *, prefix: str = "") -> dict[str, str]:
    """Form values (by path) as POST data, as a browser sends the form rendered with them: text as
    shown, textareas with CRLF line breaks, a select's first option when none is selected, inline
    groups with their management fields and blank extra row (unticked DELETE boxes not sent).
    ``prefix`` is the Django form prefix (names become ``prefix-path``)."""
    form = ResourceForm(spec=spec, initial=values, prefix=prefix or None)
    data: dict[str, str] = {}
    for name, form_field in form.fields.items():
        bound = form[name]
        if isinstance(form_field, _ValueField | _InlineField):
            data.update(form_field.post_data(bound.html_name, bound.initial))
    return data
