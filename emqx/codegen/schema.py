"""CRD openAPIV3Schema -> one JSON Schema document whose `definitions` are the classes to generate.

datamodel-code-generator names every inline object after its property key and numbers the clashes
(`HttpGet1` ... `HttpGet29`): the pod-template schemas repeat in every container of every template.
So before generation:

1. Each schema is normalised (`_normalize`): Kubernetes extensions become plain JSON Schema that means the
   same to pydantic (int-or-string, preserve-unknown-fields), patterns are translated from Go syntax,
   annotations with no effect on Python values are dropped.
2. Every object schema with properties is hoisted into `definitions`, once per distinct structure
   (`_Lifter`): its digest is the canonical JSON of the schema with its children already replaced by
   references, without descriptions, and without the keywords that belong to the place it is used
   (`default`, `description`, `nullable`), which stay beside the `$ref`.
3. Each definition is named (`_name_nodes`) from the key it is found under, in PascalCase, the item class of
   an array in the singular (`extraContainers[]` -> `ExtraContainer`); one structure found under several keys
   takes their common last words (`livenessProbe`, `readinessProbe` -> `Probe`). When different structures want
   the same name, each takes its parent's name as prefix (`CoreTemplateSpec`, `ReplicantTemplateSpec`).
   A kind's `spec` and `status` are `<Kind>Spec` and `<Kind>Status`, and their children are prefixed with the
   kind (`EMQXCondition`, `RebalanceCondition`).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from emqx.codegen.naming import common_suffix, field_name, key_words, singular
from emqx.codegen.patterns import translate_pattern
from emqx.models._base import QUANTITY_PATTERN, KubeModel

# A field may not shadow what the base model defines (`json`, `copy`, `model_config`, `to_dict` ...).
_BASE_ATTRIBUTES = frozenset(dir(KubeModel))

__all__ = ["KindInfo", "ModuleSchema", "build_module_schema", "load_kind"]

# Names the generated module imports or defines otherwise; a definition never takes them.
RESERVED_NAMES = frozenset({
    "Annotated", "Any", "AwareDatetime", "BaseModel", "ClassVar", "ConfigDict", "Field", "KubeModel",
    "ListMeta", "Literal", "ManagedFieldsEntry", "ObjectMeta", "OwnerReference", "Quantity", "Resource",
    "ResourceList", "RootModel", "datetime",
})  # fmt: skip

# The few names the rules above get wrong or leave vague. Each table is consulted in this order.
# 1. A structure found under exactly these keys (no common last word, or a misleading one).
KEYSET_NAMES: dict[frozenset[str], str] = {
    frozenset({"podAffinity", "podAntiAffinity"}): "PodAffinity",  # not "Affinity": that is their parent
    frozenset({"podAffinityTerm", "requiredDuringSchedulingIgnoredDuringExecution"}): "PodAffinityTerm",
    frozenset({"postStart", "preStop"}): "LifecycleHandler",
    frozenset({"configMapRef", "secretRef"}): "EnvFromRef",  # envFrom[].configMapRef / .secretRef
    frozenset({"configMap", "secret"}): "Projection",  # projected.sources[].configMap / .secret
    frozenset({"spec", "volumeClaimTemplates"}): "PersistentVolumeClaimSpec",
    frozenset({"persistent", "volumeClaimTemplate"}): "PersistentVolumeClaimTemplate",
}
# 2. Kubernetes (and operator) types recognisable by their shape, found under varied keys. A shape is the
#    sorted property names, "!" marking the required ones (`_shape`).
KNOWN_STRUCTURES: dict[str, str] = {
    "name": "LocalObjectReference",  # imagePullSecrets[], secretRef, ... (claims[] is "name!")
    "name! value!": "NameValue",  # httpHeaders[], sysctls[]
    "key! mode path!": "KeyToPath",
    "key! operator! values": "SelectorRequirement",  # matchExpressions[] (label and node), matchFields[]
    "fieldRef mode path! resourceFieldRef": "DownwardAPIVolumeFile",
    "nodeSelectorTerms!": "NodeSelector",
    "matchExpressions matchFields": "NodeSelectorTerm",
    "preference! weight!": "PreferredSchedulingTerm",
    "podAffinityTerm! weight!": "WeightedPodAffinityTerm",
    "secretKey! secretName!": "SecretKeyRef",  # bootstrapAPIKeys[].secretRef.key / .secret
    # v3beta1 status.config (spec.config keeps the name EMQXConfig)
    "activeStartupRevisions desiredRevision desiredStartupRevision runtimeRevision": "ConfigRevisions",
}
# 3. Keys spelled in a way the word splitter cannot read.
KEY_SPELLINGS: dict[str, str] = {"toleRations": "tolerations"}
# Keys too generic to name a class alone: always prefixed (`ServiceTemplateStatus`, not `Status`).
GENERIC_KEYS = frozenset({"spec", "status"})

# Keywords that describe the place a schema is used, not the structure: they stay beside the `$ref`.
_USE_SITE_KEYWORDS = ("description", "default", "nullable")
# Extensions with no effect on the Python value (server-side apply merge strategy).
_DROPPED_KEYWORDS = frozenset({"x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type"})
_REF_PREFIX = "#/definitions/"
QUANTITY_REF = _REF_PREFIX + "Quantity"
# Stands for emqx.models._base.Quantity (generation replaces the type); its content only keeps the schema valid.
QUANTITY_DEFINITION = {"anyOf": [{"type": "integer"}, {"type": "string"}]}

Role = Literal["root", "property", "item", "value"]


@dataclass(frozen=True)
class KindInfo:
    """Identity of one kind at one version, from the CRD's `spec.names`, `spec.scope` and `spec.group`."""

    crd_file: str
    group: str
    version: str
    kind: str
    list_kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


@dataclass
class ModuleSchema:
    """Input of one datamodel-code-generator run."""

    document: dict[str, Any]
    kinds: list[KindInfo]
    # class name -> comment lines for its body (the CEL rules the API server checks)
    class_comments: dict[str, list[str]]
    # JSON key -> Python field name, where they differ (`externalIPs` -> `external_ips`)
    field_names: dict[str, str]


def load_kind(crd_path: Path, version: str) -> tuple[KindInfo, dict[str, Any]]:
    """Read a CRD file and return the kind's identity and the openAPIV3Schema of `version`."""
    spec = _read_crd(crd_path)["spec"]
    names = spec["names"]
    for served in spec["versions"]:
        if served["name"] == version:
            info = KindInfo(
                crd_file=crd_path.name,
                group=spec["group"],
                version=version,
                kind=names["kind"],
                list_kind=names.get("listKind", names["kind"] + "List"),
                plural=names["plural"],
                namespaced=spec["scope"] == "Namespaced",
            )
            return info, served["schema"]["openAPIV3Schema"]
    raise LookupError(f"{crd_path.name} has no version {version}")


@functools.cache
def _read_crd(crd_path: Path) -> dict[str, Any]:
    # libyaml when present: the pure-Python loader takes a second per large CRD. Callers do not mutate it.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(crd_path.read_text(encoding="utf-8"), Loader=loader)
    if not isinstance(document, dict):
        raise ValueError(f"{crd_path.name} is not a YAML mapping")
    return document


def build_module_schema(kinds: list[tuple[KindInfo, dict[str, Any]]]) -> ModuleSchema:
    """Normalise, deduplicate and name the schemas of the kinds of one module."""
    lifter = _Lifter()
    for info, schema in kinds:
        root = _normalize(schema)
        # apiVersion, kind and metadata come from emqx.models._base.Resource (metadata is ObjectMeta there).
        for key in ("apiVersion", "kind", "metadata"):
            root.get("properties", {}).pop(key, None)
        if "required" in root:
            root["required"] = [key for key in root["required"] if key not in ("apiVersion", "kind", "metadata")]
        lifter.lift_root(info.kind, root)
    names = _name_nodes(lifter.nodes, {info.kind for info, _ in kinds})
    definitions: dict[str, Any] = {}
    class_comments: dict[str, list[str]] = {}
    for node in sorted(lifter.nodes.values(), key=lambda n: n.order):
        name = names[node.digest]
        definition = _resolve_refs(node.schema, names)
        rules = definition.pop("x-kubernetes-validations", None)
        if rules:
            class_comments[name] = [
                f"# API server rule: {rule['rule']}" + (f"  ({rule['message']})" if "message" in rule else "")
                for rule in rules
            ]
        definitions[name] = definition
    if _uses_ref(definitions, QUANTITY_REF):
        definitions["Quantity"] = QUANTITY_DEFINITION
    field_names = {}
    for key in sorted(_property_keys(definitions)):
        name = field_name(key, _BASE_ATTRIBUTES)
        if name != key:
            field_names[key] = name
    return ModuleSchema(
        document={"definitions": definitions},
        kinds=[info for info, _ in kinds],
        class_comments=class_comments,
        field_names=field_names,
    )


def _normalize(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite Kubernetes extensions into JSON Schema that pydantic reads with the same meaning."""
    out = {key: value for key, value in schema.items() if key not in _DROPPED_KEYWORDS}
    if out.get("format") == "byte":
        # base64 text: decoding it to bytes would change what is written back; keep the string.
        del out["format"]
    if "pattern" in out:
        out["pattern"] = translate_pattern(out["pattern"])
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out.pop("anyOf", None)
        pattern = out.pop("pattern", None)
        if pattern is None:
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        elif pattern == QUANTITY_PATTERN:
            # The apiserver checks the pattern on the string form only; emqx.models._base.Quantity does too.
            out["$ref"] = QUANTITY_REF
        else:
            raise ValueError(f"int-or-string with an unknown pattern {pattern!r}: type it in emqx.models._base")
    if out.pop("x-kubernetes-preserve-unknown-fields", False) and "properties" not in out:
        # Free-form object: dict[str, Any]. (With properties it stays a class; classes keep extra keys anyway.)
        out["type"] = "object"
    if "properties" in out:
        out["properties"] = {key: _normalize(value) for key, value in out["properties"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = _normalize(out["items"])
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _normalize(out["additionalProperties"])
    for combinator in ("anyOf", "allOf", "oneOf"):
        if combinator in out:
            out[combinator] = [_normalize(branch) for branch in out[combinator]]
    return out


@dataclass
class _Use:
    """One place an object schema appears: under `key` of `parent` (None for a kind's root)."""

    parent: _Use | None
    key: str
    role: Role
    kind: str  # the kind whose schema this is in
    node: _Node | None = None

    @property
    def words(self) -> list[str]:
        words = key_words(KEY_SPELLINGS.get(self.key, self.key))
        if self.role == "item":
            words[-1] = singular(words[-1])
        elif self.role == "value":
            words.append("Value")
        return words


@dataclass
class _Node:
    """One distinct object structure: one generated class."""

    digest: str
    schema: dict[str, Any]  # children are {"$ref": "#/definitions/@<digest>"}
    order: int  # position of its first use, in document order
    uses: list[_Use] = field(default_factory=list)

    @property
    def first_use(self) -> _Use:
        return self.uses[0]

    @property
    def forced_name(self) -> str | None:
        """Roots are named after their kind, their spec and status `<Kind>Spec`, `<Kind>Status`."""
        use = self.first_use
        if use.role == "root":
            return use.kind
        if use.parent is not None and use.parent.role == "root" and use.key in ("spec", "status"):
            return use.kind + use.key.capitalize()
        return None


class _Lifter:
    """Hoists object schemas into nodes, bottom-up, merging structurally identical ones."""

    def __init__(self) -> None:
        self.nodes: dict[str, _Node] = {}
        self._uses = 0

    def lift_root(self, kind: str, schema: dict[str, Any]) -> None:
        self._lift(schema, _Use(parent=None, key=kind, role="root", kind=kind))

    def _rewrite(self, schema: dict[str, Any], parent: _Use, key: str, role: Role) -> dict[str, Any]:
        """Rewrite the schema found under `key` of `parent`, replacing every class in it by a reference."""
        if _is_class(schema):
            return self._lift(schema, _Use(parent=parent, key=key, role=role, kind=parent.kind))
        out = dict(schema)
        if isinstance(out.get("items"), dict):
            out["items"] = self._rewrite(out["items"], parent, key, "item")
        if isinstance(out.get("additionalProperties"), dict):
            out["additionalProperties"] = self._rewrite(out["additionalProperties"], parent, key, "value")
        for combinator in ("anyOf", "allOf", "oneOf"):
            if combinator in out:
                out[combinator] = [self._rewrite(branch, parent, key, "value") for branch in out[combinator]]
        return out

    def _lift(self, schema: dict[str, Any], use: _Use) -> dict[str, Any]:
        order = self._uses
        self._uses += 1
        body = {key: value for key, value in schema.items() if key not in _USE_SITE_KEYWORDS}
        body["properties"] = {
            key: self._rewrite(value, use, key, "property") for key, value in schema["properties"].items()
        }
        identity: Any = _without_descriptions(body)
        if use.role == "root" or (use.parent is not None and use.parent.role == "root"):
            # A kind's own spec and status are never shared with another kind's, even if identical.
            identity = [use.kind, use.key, identity]
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
        node = self.nodes.get(digest)
        if node is None:
            node = self.nodes[digest] = _Node(digest=digest, schema=body, order=order)
        node.uses.append(use)
        use.node = node
        ref: dict[str, Any] = {"$ref": f"{_REF_PREFIX}@{digest}"}
        ref.update((key, schema[key]) for key in _USE_SITE_KEYWORDS if key in schema)
        return ref


def _is_class(schema: dict[str, Any]) -> bool:
    return bool(schema.get("properties")) and schema.get("type", "object") == "object"


def _without_descriptions(schema: Any) -> Any:
    """The schema without `description` keywords (a property named "description" is kept)."""
    if isinstance(schema, list):
        return [_without_descriptions(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key == "properties":
            out[key] = {name: _without_descriptions(sub) for name, sub in value.items()}
        elif key in ("default", "enum"):
            out[key] = value  # values, not schemas
        else:
            out[key] = _without_descriptions(value)
    return out


def _name_nodes(nodes: dict[str, _Node], kinds: set[str]) -> dict[str, str]:
    """digest -> class name, as described in the module docstring. Deterministic: document order only."""
    ordered = sorted(nodes.values(), key=lambda n: n.order)
    candidates = {node.digest: node.forced_name or _candidate(node) for node in ordered}
    wanted: dict[str, int] = {}
    for name in candidates.values():
        wanted[name] = wanted.get(name, 0) + 1
    taken = {name for name, count in wanted.items() if count == 1} | RESERVED_NAMES | kinds
    names: dict[str, str] = {}
    for node in ordered:
        candidate = candidates[node.digest]
        generic = all(use.key in GENERIC_KEYS for use in node.uses)
        if node.forced_name or (wanted[candidate] == 1 and candidate not in RESERVED_NAMES | kinds and not generic):
            names[node.digest] = candidate
            continue
        parent = node.first_use.parent
        name = (_prefix(parent, node, names) if parent is not None else "") + candidate
        if name in taken:
            raise ValueError(
                f"no unique class name for {candidate} at {_path(node.first_use)} ({name} is taken);"
                " name it in KEYSET_NAMES"
            )
        taken.add(name)
        names[node.digest] = name
    return names


def _candidate(node: _Node) -> str:
    keys = frozenset(use.key for use in node.uses)
    if keys in KEYSET_NAMES:
        return KEYSET_NAMES[keys]
    shape = _shape(node.schema)
    if shape in KNOWN_STRUCTURES:
        return KNOWN_STRUCTURES[shape]
    word_lists: list[list[str]] = []
    for use in node.uses:
        if use.words not in word_lists:
            word_lists.append(use.words)
    words = common_suffix(word_lists)
    if words:
        return "".join(words)
    if len(word_lists) == 2:
        # Same structure, unrelated keys (`modules[]`, `plugins[]`): say both rather than mislabel one.
        return "Or".join("".join(words) for words in word_lists)
    return "".join(word_lists[0])


def _shape(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", ()))
    return " ".join(name + ("!" if name in required else "") for name in sorted(schema["properties"]))


def _prefix(parent: _Use, node: _Node, names: dict[str, str]) -> str:
    """What `node`, found under `parent`, is prefixed with: its parent's class name, except under a kind's
    spec or status, where it is the kind (`EMQXCondition`), or the key (`StatusCondition`) if several
    kinds share the node."""
    assert parent.node is not None
    if parent.node.forced_name:
        if len({use.kind for use in node.uses}) == 1:
            return parent.kind
        return "".join(key_words(parent.key))
    return names[parent.node.digest]


def _path(use: _Use) -> str:
    parts: list[str] = []
    current: _Use | None = use
    while current is not None:
        parts.insert(0, current.key + ("[]" if current.role == "item" else ""))
        current = current.parent
    return ".".join(parts)


def _property_keys(schema: Any) -> set[str]:
    keys: set[str] = set()
    if isinstance(schema, list):
        for item in schema:
            keys |= _property_keys(item)
    elif isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties":
                keys |= set(value)
            if key not in ("default", "enum"):
                keys |= _property_keys(value)
    return keys


def _uses_ref(schema: Any, ref: str) -> bool:
    if isinstance(schema, list):
        return any(_uses_ref(item, ref) for item in schema)
    if isinstance(schema, dict):
        return schema.get("$ref") == ref or any(
            _uses_ref(value, ref) for key, value in schema.items() if key not in ("default", "enum")
        )
    return False


def _resolve_refs(schema: Any, names: dict[str, str]) -> Any:
    if isinstance(schema, list):
        return [_resolve_refs(item, names) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = copy.copy(schema)
    for key, value in schema.items():
        if key == "$ref" and value.startswith(_REF_PREFIX + "@"):
            out[key] = _REF_PREFIX + names[value[len(_REF_PREFIX) + 1 :]]
        elif key in ("default", "enum"):
            out[key] = value
        else:
            out[key] = _resolve_refs(value, names)
    return out
