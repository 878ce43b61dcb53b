"""Every YAML a person gives the console, read one way: as kubectl reads it, within bounds.

Used by the whole-object YAML editor (Add and Edit as YAML, ``console/forms/base.py``) and by every
YAML field of the schema form (``spec.config.roots``, ``env``, ``affinity`` ..., ``console/forms/schema.py``),
and, to write YAML that reads back unchanged, by ``console/diffs.py``.

**Types, as kubectl.** kubectl turns YAML into JSON with ``sigs.k8s.io/yaml`` (``YAMLToJSON``, v1.6.0 in
Kubernetes 1.37), which decodes with ``go.yaml.in/yaml/v2`` (v2.4.4): a plain (unquoted) scalar is resolved
by ``resolve.go``'s ``resolve()``, and the rest is a string. :func:`_resolve_plain` is that function:

- ``true``/``false``, and YAML 1.1's ``y``/``yes``/``on`` and ``n``/``no``/``off`` (three spellings each) are
  booleans; ``~``, ``null`` (three spellings) and nothing are null;
- integers as Go's ``strconv.ParseInt(s, 0, 64)`` reads them once ``_`` is removed (``0x1F``, ``0o17``,
  ``017`` octal, ``0b101``, ``+5``), then unsigned 64-bit, then YAML-style floats (``1.5``, ``1e3``,
  ``.5``, ``08``); ``.inf``/``.nan`` are floats that JSON cannot hold: kubectl refuses them, so do we;
- **timestamps and dates stay the text written** (``2024-01-01``, ``2030-03-25T13:37:11Z``): yaml.v2 reads
  them as timestamps only for a ``time.Time`` target and keeps the string for an ``interface{}`` one
  (``decode.go``: "for backward compatibility reasons we set it as a string"); sexagesimal ``1:20`` is a
  string too (YAML 1.2 dropped it, yaml.v2 never had it). PyYAML's ``safe_load`` (YAML 1.1) made both
  ``date``/``datetime`` objects and ints, which pydantic then refused ("Input should be a valid string");
- a float with an integral value is an integer (``1.0``, ``1e3``): Go's ``json.Marshal`` writes float64
  1 as ``1``, so the API server sees an integer.

**Where the schema says string, the text written.** kubectl sends ``version: 1.10`` as the number 1.1
and ``enabled: yes`` as ``true``; the API server then refuses them where the CRD says string ("must be
of type string"). Given the model (``schema``), this reader keeps the text the person wrote in every
position typed ``str`` (labels, annotations, ``env[].value``, ``image`` ...): ``1.10`` is ``"1.10"``,
``yes`` is ``"yes"``, ``010`` is ``"010"``; where it says int-or-string (ports, quantities), an integer
stays an integer and anything else is the text (``cpu: 1.5`` is ``"1.5"``). Elsewhere (integers,
booleans, and free-form trees such as ``config.roots``) the value is kubectl's. Mapping keys are
always the text written (kubectl turns a key ``on`` into ``"true"``).

**Refused, with a line and column** (:class:`YamlInputError`), before anything else is done:

- anchors (``&a``) and aliases (``*a``): yaml.v2 expands aliases, so a few hundred bytes of nested aliases
  become gigabytes (the "billion laughs"); no Kubernetes manifest needs them; merge keys (``<<``) too;
- nesting deeper than :data:`MAX_DEPTH` levels (PyYAML's composer recursed until ``RecursionError``);
- more than :data:`MAX_BYTES` of text or :data:`MAX_NODES` values;
- a key given twice (kubectl keeps the last silently; the API server's strict field validation, which
  the console asks for, refuses a duplicate field), a key that is a mapping or a list, or a null key;
- tags other than the core ones (``!!str``, ``!!int``, ``!!float``, ``!!bool``, ``!!null``, ``!!map``, ``!!seq``);
- a second document (``---``): a form takes one object;
- ``.inf``/``.nan`` where the schema does not say string.

Nothing here is recursive, so no input can exhaust Python's stack.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "Dumper", "YamlInputError", "load", "reads_back"]

MAX_DEPTH = 100
"""Levels of nesting (mappings and lists); a CRD's deepest schema path is about 20."""
MAX_BYTES = 1024 * 1024
"""Bytes of UTF-8 text; the forms bound their fields lower (the YAML editor to 320 KiB)."""
MAX_NODES = 200_000
"""Values (scalars, mappings and lists) in one document."""

_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when built with it: the same events
_TAG = "tag:yaml.org,2002:"
_CORE_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}


class YamlInputError(ValueError):
    """YAML the console does not read. ``message`` says why, without the position; ``line`` and
    ``column`` are 1-based, or None when the problem is the whole text (its size)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"Not valid YAML{where}: {message}.")


# ----- plain scalars, as go.yaml.in/yaml/v2 resolves them ----------------------------------------

_BOOLS = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_SPECIAL_FLOATS = {
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
# resolve.go's yamlStyleFloat, and the part of Go's strconv.ParseFloat that '.'-led text can reach.
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_DOT_FLOAT = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")
_GO_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)$")
_INT64 = (-(2**63), 2**63 - 1)


def _go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), then ParseUint(text, 0, 64): None when neither reads it."""
    if not _GO_INT.match(text):
        return None
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-")
    octal = len(digits) > 1 and digits[0] == "0" and digits[1] not in "xXbBoO"  # a leading 0 is octal in Go
    value = sign * (int(digits, 8) if octal else int(digits, 0))
    if _INT64[0] <= value <= _INT64[1]:
        return value
    if text[0] not in "+-" and value <= 2**64 - 1:
        return value  # ParseUint takes no sign
    return None


def _resolve_plain(text: str) -> Any:
    """A plain (unquoted, untagged) scalar's value as yaml.v2's ``resolve("", text)`` gives it, before
    sigs.k8s.io/yaml turns it into JSON: bool, None, int, float or the text itself (a timestamp too)."""
    if not text:
        return None
    first = text[0]
    if first in "yYnNtTfFoO~":
        if text in _BOOLS:
            return _BOOLS[text]
        return None if text in _NULLS else text
    if text in _NULLS:
        return None
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    if first == ".":
        return float(text) if _GO_DOT_FLOAT.match(text) else text
    if first in "+-0123456789":
        # A timestamp (2024-01-01) is tried first by yaml.v2 and kept as text for an interface{}
        # target; it is never an int or a float either, so it ends as the text below.
        plain = text.replace("_", "")
        number = _go_int(plain)
        if number is not None:
            return number
        if _YAML_FLOAT.match(plain):
            return float(plain)
        if plain.startswith(("0b", "-0b")):
            binary = plain.replace("0b", "", 1)
            if re.fullmatch(r"-?[01]+", binary):
                return int(binary, 2)
    return text


def _json_number(value: float) -> int | float:
    """What the API server sees of a float64 kubectl sent: Go's json.Marshal writes integral values
    below 1e21 without a fraction, so they arrive as integers."""
    if value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


# ----- the schema: which positions are strings -------------------------------------------------


def _strip(annotation: Any) -> Any:
    """The annotation without Optional and Annotated wrappers."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            args = [a for a in get_args(annotation) if a is not NoneType]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _is_text(annotation: Any) -> bool:
    """True where the schema allows only a string (or null) at this position."""
    annotation = _strip(annotation)
    if annotation is str:
        return True
    if get_origin(annotation) is Literal:
        return all(isinstance(a, str) for a in get_args(annotation))
    return False


def _text_or_int(annotation: Any) -> bool:
    """True where the schema allows a string or an integer (int-or-string: ports, quantities)."""
    annotation = _strip(annotation)
    if get_origin(annotation) not in (Union, UnionType):
        return False
    members = {_strip(a) for a in get_args(annotation) if a is not NoneType}
    return members == {int, str}


@lru_cache(maxsize=512)
def _model_fields(model: type[BaseModel]) -> dict[str, Any]:
    """A model's field annotations by JSON key (alias) and by Python name."""
    found: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        found.setdefault(name, info.annotation)
        if info.alias:
            found[info.alias] = info.annotation
    return found


def _child(annotation: Any, key: str | None) -> Any:
    """The type at ``key`` of a mapping (or of any item of a list when ``key`` is None), or None
    when the schema does not say (unknown fields, free-form trees, unions)."""
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_fields(annotation).get(key) if key is not None else None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is dict and len(args) == 2 and key is not None:
        return args[1]
    if origin is list and len(args) == 1 and key is None:
        return args[0]
    return None


# ----- the reader --------------------------------------------------------------------------------


@dataclass
class _Frame:
    """A mapping or list being read."""

    value: dict[str, Any] | list[Any]
    schema: Any
    key: str | None = None  # a mapping's key waiting for its value
    keys: dict[str, int] = field(default_factory=dict)  # key -> its line, for duplicates


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _no_nul(text: str, event: Any) -> str:
    # JSON allows it, but PostgreSQL's jsonb (the audit trail) does not, and no field has a use for it.
    if "\x00" in text:
        raise _at("null characters (\\0) are not allowed", event)
    return text


def _at(message: str, event: Any) -> YamlInputError:
    mark = getattr(event, "start_mark", None)
    if mark is None:
        return YamlInputError(message)
    return YamlInputError(message, mark.line + 1, mark.column + 1)


def _check_node(event: Any) -> None:
    if getattr(event, "anchor", None) is not None:
        raise _at(f"anchors (&{event.anchor}) are not allowed: write the value out", event)
    tag = getattr(event, "tag", None)
    if isinstance(event, yaml.MappingStartEvent) and tag not in (None, "!", _TAG + "map"):
        raise _at(f"the tag {_short(tag)} is not supported here", event)
    if isinstance(event, yaml.SequenceStartEvent) and tag not in (None, "!", _TAG + "seq"):
        raise _at(f"the tag {_short(tag)} is not supported here", event)


def _scalar(event: yaml.ScalarEvent, schema: Any) -> Any:
    """A scalar value: kubectl's, or the text written where ``schema`` says string."""
    text: str = event.value
    tag = event.tag
    if tag is None and event.implicit[0]:  # plain: resolved
        value = _resolve_plain(text)
    elif tag in (None, "!", _TAG + "str"):  # quoted, a block scalar, or tagged as a string
        return _no_nul(text, event)
    elif tag in _CORE_SCALAR_TAGS:
        value = _resolve_plain(text)
        wanted = {"int": int, "float": float, "bool": bool, "null": NoneType}[tag.removeprefix(_TAG)]
        if tag == _TAG + "float" and type(value) is int:
            value = float(value)
        if type(value) is not wanted:
            raise _at(f"{text!r} cannot be read as {_short(tag)}", event)
    else:
        raise _at(f"the tag {_short(tag)} is not supported here", event)
    if value is None or isinstance(value, str):
        return value if value is None else _no_nul(value, event)
    if schema is not None and tag is None:
        if _is_text(schema):
            return text  # the schema says string: the text as written, never 1.1 for 1.10
        if _text_or_int(schema) and not (isinstance(value, int) and not isinstance(value, bool)):
            return text  # int-or-string: an integer stays one, 1.5 (a quantity) or yes is the text
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _at(f"{text} is not a number JSON can hold; quote it if you mean the text", event)
        return _json_number(value)
    return value


def _key(event: Any, frame: _Frame) -> str:
    """A mapping key: the text written (kubectl makes JSON keys of them, all strings)."""
    if not isinstance(event, yaml.ScalarEvent):
        raise _at("a key must be a single value, not a mapping or a list", event)
    _check_node(event)
    if event.tag not in (None, "!", _TAG + "str"):
        raise _at(f"the tag {_short(event.tag)} is not supported on a key", event)
    text = _no_nul(event.value, event)
    if event.tag is None and event.implicit[0]:
        if text in _NULLS:
            raise _at("a key cannot be empty or null", event)
        if text == "<<":
            raise _at("merge keys (<<) are not allowed: write the keys out", event)
    if text in frame.keys:
        raise _at(f"the key {text!r} is given twice (first at line {frame.keys[text]})", event)
    mark = event.start_mark
    frame.keys[text] = mark.line + 1 if mark is not None else 0
    return text


def _parser_error(text: str, error: yaml.MarkedYAMLError) -> YamlInputError:
    """The parser's error, at its line and column (the end of the text rather than past it), with
    where the construct it was reading starts."""
    problem = (error.problem or error.context or "cannot be read").rstrip(".")
    if error.context and error.problem and error.context_mark is not None:
        start = error.context_mark
        problem += f" {error.context} (it starts at line {start.line + 1}, column {start.column + 1})"
    mark = error.problem_mark or error.context_mark
    if mark is None:
        return YamlInputError(problem)
    lines = text.split("\n")
    if mark.line >= len(lines):  # libyaml marks the end of the stream on a line after the text
        return YamlInputError(problem, len(lines), len(lines[-1]) + 1)
    return YamlInputError(problem, mark.line + 1, mark.column + 1)


def _events(text: str) -> Any:
    """The parser's events; its errors as YamlInputError with the position."""
    events = yaml.parse(text, Loader=_PARSER)
    while True:
        try:
            event = next(events)
        except StopIteration:
            return
        except yaml.MarkedYAMLError as error:
            raise _parser_error(text, error) from None
        except yaml.reader.ReaderError as error:  # a character YAML does not allow
            before = text[: error.position]
            line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
            code = ord(error.character) if isinstance(error.character, str) else int(error.character)
            raise YamlInputError(f"the character U+{code:04X} is not allowed in YAML", line, column) from None
        except yaml.YAMLError as error:
            raise YamlInputError(str(error).splitlines()[0].rstrip(".")) from None
        yield event


def load(
    text: str,
    *,
    schema: Any = None,
    max_depth: int = MAX_DEPTH,
    max_bytes: int | None = MAX_BYTES,
    max_nodes: int = MAX_NODES,
) -> Any:
    """One YAML document as JSON values (dict with str keys, list, str, int, float, bool, None), read
    as kubectl reads it (see the module's docstring); None for an empty text.

    ``schema``: the type the document must have (a pydantic model such as ``apps_v2beta1.EMQX``, or an
    annotation such as ``list[EnvVar]``): where it says string, a plain scalar keeps its text.
    Raises :class:`YamlInputError` (a ValueError) for text that is not YAML or that the console
    refuses: anchors, aliases, deeper than ``max_depth``, more than ``max_bytes`` bytes (None: no
    bound) or ``max_nodes`` values, duplicate keys, unknown tags, several documents."""
    if max_bytes is not None and len(text) > max_bytes // 4 and len(text.encode()) > max_bytes:
        raise YamlInputError(f"the text is larger than {max_bytes // 1024} KiB")
    stack: list[_Frame] = []
    roots: list[Any] = []  # each document's value
    second: Any = None  # the start of the second document
    nodes = 0

    def put(value: Any) -> None:
        if not stack:
            roots.append(value)
            return
        frame = stack[-1]
        if isinstance(frame.value, list):
            frame.value.append(value)
        else:
            assert frame.key is not None
            frame.value[frame.key] = value
            frame.key = None

    for event in _events(text):
        if isinstance(event, yaml.DocumentStartEvent):
            second = event if roots and second is None else second
            continue
        if isinstance(event, yaml.StreamStartEvent | yaml.StreamEndEvent | yaml.DocumentEndEvent):
            continue
        if isinstance(event, yaml.AliasEvent):
            raise _at(f"aliases (*{event.anchor}) are not allowed: write the value out", event)
        if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            put(stack.pop().value)
            continue
        parent = stack[-1] if stack else None
        if parent is not None and isinstance(parent.value, dict) and parent.key is None:
            parent.key = _key(event, parent)
            continue
        nodes += 1
        if nodes > max_nodes:
            raise _at(f"more than {max_nodes} values in one document", event)
        _check_node(event)
        if parent is None:
            schema_here = schema
        elif isinstance(parent.value, list):
            schema_here = _child(parent.schema, None) if parent.schema is not None else None
        else:
            schema_here = _child(parent.schema, parent.key) if parent.schema is not None else None
        if isinstance(event, yaml.ScalarEvent):
            put(_scalar(event, schema_here))
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            if len(stack) >= max_depth:
                raise _at(f"nested more than {max_depth} levels deep", event)
            container: dict[str, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
            stack.append(_Frame(container, schema_here))
    found = [value for value in roots if value is not None]
    if len(found) > 1 or (len(found) == 1 and roots[0] is None):
        raise _at("only one document is read here; remove the '---' and what follows it", second)
    return found[0] if found else None


# ----- writing YAML that reads back the same ---------------------------------------------------


class _QuotingResolver(yaml.resolver.Resolver):
    """PyYAML's resolver (YAML 1.1: it quotes dates, ``yes``, ``1:20`` ...), which also quotes what
    :func:`load` (yaml.v2, kubectl) would not read back as the same string (``y``, ``n``, ``0o17``,
    ``1e3``): text saved unchanged then changes nothing, here or with kubectl."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        plain = kind is yaml.ScalarNode and implicit[0] and tag == _TAG + "str"
        if plain and (not isinstance(_resolve_plain(value), str) or value in _NULLS):
            return _TAG + "bool"  # not a plain string: the emitter quotes it
        return tag


_SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter: the same text, four times faster


class Dumper(_SAFE_DUMPER, _QuotingResolver):  # type: ignore[misc,valid-type]
    """PyYAML's SafeDumper (libyaml's when available) with :class:`_QuotingResolver`; text of several
    lines is written as a literal block (``|``), line for line as it is, where YAML allows one (the
    emitter falls back to quotes otherwise, e.g. for a line ending in a space)."""


def _represent_str(dumper: Dumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    node: yaml.ScalarNode = dumper.represent_scalar(_TAG + "str", value, style=style)
    return node


Dumper.add_representer(str, _represent_str)


def reads_back(text: str, doc: Any) -> bool:
    """Whether :func:`load` (without its bounds: the text is the console's own) reads ``text`` as ``doc``."""
    try:
        return bool(load(text, max_bytes=None, max_depth=2**31, max_nodes=2**62) == doc)
    except YamlInputError:
        return False
