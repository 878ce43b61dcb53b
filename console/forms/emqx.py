"""Creating and editing an EMQX (apps.emqx.io/v2beta1): the form people fill in, the YAML form
for the whole object, and how the API server's answers land on their fields.

The form speaks in *values* (one per field: ``core_replicas=3``, ``labels={...}``), read from
an object by :func:`emqx_values` and written onto an object document by :func:`apply_values`.
Only the fields the user changed are written (:func:`new_emqx`, :func:`edited_emqx`), so a
create carries no schema default the user did not choose and an edit keeps every field the
form does not know (unknown spec fields, annotations, other labels, status).

Defaults shown in the form are the generated models' own: an ``EMQX`` built with nothing but
an image reads back as the API server would default it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

import yaml
from django import forms
from django.core import signing, validators
from pydantic import ValidationError

from console import diffs
from emqx import hocon
from emqx.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    ClusterUnreachable,
    ConfigurationError,
    EmqxClientError,
    Forbidden,
    Invalid,
    InvalidArgument,
    NotFound,
    RetryableError,
    Unauthorized,
)
from emqx.models._base import QUANTITY_PATTERN
from emqx.models.apps_v2beta1 import EMQX, Config, CoreTemplateSpec, EMQXSpec, ReplicantTemplateSpec

__all__ = [
    "FIELD_PATHS",
    "EMQXForm",
    "EMQXYamlForm",
    "EditBase",
    "add_api_error",
    "default_values",
    "edit_yaml",
    "edited_emqx",
    "emqx_values",
    "new_emqx",
    "new_values",
    "values_as_data",
    "yaml_edited_emqx",
]

# ----- limits ------------------------------------------------------------------------------

# EMQX 5 keeps a few core nodes (Mria replicates every write to each of them) and scales out
# with replicants. These bounds catch typos such as 10^9; they are not capacity advice.
MAX_CORE_REPLICAS = 32
MAX_REPLICANT_REPLICAS = 512
# The operator copies spec.config.data into a ConfigMap (1 MiB at most) and the whole object
# must fit etcd's request limit together with its managedFields: 256 KiB leaves room.
MAX_CONFIG_BYTES = 256 * 1024
MAX_YAML_BYTES = MAX_CONFIG_BYTES + 64 * 1024
MAX_LABELS = 64

# ----- names, labels, images, quantities ---------------------------------------------------

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS_LABEL_RE = re.compile(rf"^{_LABEL}$")
# The same rule for the browser. Browsers compile `pattern` with the `v` flag, where a `-`
# inside a character class must be escaped.
HTML_DNS_LABEL = r"[a-z0-9]([a-z0-9\-]*[a-z0-9])?"
_LABEL_RULE = "lower case letters, digits and '-', starting and ending with a letter or digit (RFC 1123), at most 63"

_QUALIFIED_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_SUBDOMAIN_RE = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_IMAGE_RE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::\w[\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
# The model requires an image and has no default; this is only the form's first suggestion.
SUGGESTED_IMAGE = "emqx/emqx:5.8.6"

_QUANTITY_RE = re.compile(QUANTITY_PATTERN)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(text: str) -> Decimal:
    """A Kubernetes quantity ("500m", "1Gi", "2e3") as a number; ValueError if it is not one."""
    if not _QUANTITY_RE.match(text):
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
    except (InvalidOperation, ValueError):
        raise ValueError(text) from None


def label_errors(labels: Mapping[str, str]) -> list[str]:
    """Why these labels would be refused by the API server (its own rules), or []."""
    errors = []
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        if not name or len(name) > 63 or not _QUALIFIED_NAME_RE.match(name):
            errors.append(
                f"Label key {key!r}: the name part must be 1-63 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit."
            )
        elif "/" in key and (not prefix or len(prefix) > 253 or not _SUBDOMAIN_RE.match(prefix)):
            errors.append(f"Label key {key!r}: the prefix must be a DNS subdomain such as 'example.com'.")
        if len(value) > 63 or not _LABEL_VALUE_RE.match(value):
            errors.append(
                f"Label {key!r}: the value {value!r} must be at most 63 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit (or be empty)."
            )
    return errors


def _normalize_newlines(text: str) -> str:
    # Browsers send textareas with CRLF; the object stores what the user meant (LF), and an
    # untouched config must compare equal to the stored one.
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ----- values: the form's view of an object --------------------------------------------------

FIELD_PATHS: dict[str, str] = {
    "name": "metadata.name",
    "namespace": "metadata.namespace",
    "labels": "metadata.labels",
    "image": "spec.image",
    "core_replicas": "spec.coreTemplate.spec.replicas",
    "cpu_request": "spec.coreTemplate.spec.resources.requests.cpu",
    "memory_request": "spec.coreTemplate.spec.resources.requests.memory",
    "cpu_limit": "spec.coreTemplate.spec.resources.limits.cpu",
    "memory_limit": "spec.coreTemplate.spec.resources.limits.memory",
    "replicant_replicas": "spec.replicantTemplate.spec.replicas",
    "config_data": "spec.config.data",
    "config_mode": "spec.config.mode",
    "dashboard_service_type": "spec.dashboardServiceTemplate.spec.type",
    "listeners_service_type": "spec.listenersServiceTemplate.spec.type",
}
FIELDS = tuple(FIELD_PATHS)
EDITABLE_FIELDS = tuple(f for f in FIELDS if f not in ("name", "namespace"))
_CORE_FIELDS = ("core_replicas", "cpu_request", "memory_request", "cpu_limit", "memory_limit")
_RESOURCES = {
    "cpu_request": ("requests", "cpu"),
    "memory_request": ("requests", "memory"),
    "cpu_limit": ("limits", "cpu"),
    "memory_limit": ("limits", "memory"),
}


def _quantity_text(value: object) -> str:
    return "" if value is None else str(value)


def emqx_values(obj: EMQX) -> dict[str, Any]:
    """What the form shows for ``obj``. Absent fields read as the model's defaults, which are
    the API server's (e.g. core replicas 1 without a coreTemplate)."""
    spec = obj.spec if obj.spec is not None else EMQXSpec(image="")
    core_template = spec.core_template
    core = core_template.spec if core_template is not None and core_template.spec is not None else CoreTemplateSpec()
    resources = core.resources
    requests = (resources.requests if resources else None) or {}
    limits = (resources.limits if resources else None) or {}
    replicant: int | None = None
    if spec.replicant_template is not None:
        rspec = spec.replicant_template.spec if spec.replicant_template.spec is not None else ReplicantTemplateSpec()
        replicant = rspec.replicas
    config = spec.config if spec.config is not None else Config()
    dashboard = spec.dashboard_service_template
    listeners = spec.listeners_service_template
    return {
        "name": obj.metadata.name or "",
        "namespace": obj.metadata.namespace or "",
        "labels": dict(obj.metadata.labels or {}),
        "image": spec.image,
        "core_replicas": core.replicas,
        "cpu_request": _quantity_text(requests.get("cpu")),
        "memory_request": _quantity_text(requests.get("memory")),
        "cpu_limit": _quantity_text(limits.get("cpu")),
        "memory_limit": _quantity_text(limits.get("memory")),
        "replicant_replicas": replicant,
        "config_data": config.data or "",
        "config_mode": config.mode or "",
        "dashboard_service_type": (dashboard.spec.type if dashboard and dashboard.spec else None) or "",
        "listeners_service_type": (listeners.spec.type if listeners and listeners.spec else None) or "",
    }


def default_values() -> dict[str, Any]:
    """The form's values for a new instance: the schema's defaults (image left to the user)."""
    return emqx_values(EMQX(spec=EMQXSpec(image="")))


def new_values(namespace: str = "") -> dict[str, Any]:
    """The add form's first values: the schema's defaults, a suggested image, the namespace."""
    return {**default_values(), "image": SUGGESTED_IMAGE, "namespace": namespace}


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


def apply_values(doc: dict[str, Any], values: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Write ``fields`` of ``values`` onto an object document (in place, and returned).
    Empty values remove the field; no replicant replicas removes the replicant template."""
    fields = set(fields)
    if fields & set(_CORE_FIELDS):
        # A coreTemplate without replicas is defaulted to CoreTemplateSpec's 2 by the server,
        # not to the 1 that a missing coreTemplate gets: whenever we write into the core
        # template, we write the replicas the user saw.
        fields.add("core_replicas")
    for name in FIELDS:
        if name not in fields:
            continue
        value, path = values.get(name), FIELD_PATHS[name]
        if name == "replicant_replicas" and value is None:
            _unset_path(doc, "spec.replicantTemplate")
        elif value in (None, "", {}):
            _unset_path(doc, path)
        elif name == "labels":
            _set_path(doc, path, dict(value))
        else:
            _set_path(doc, path, value)
    return doc


def changed_fields(base: Mapping[str, Any], values: Mapping[str, Any]) -> list[str]:
    return [name for name in FIELDS if values.get(name) != base.get(name)]


def new_emqx(values: Mapping[str, Any]) -> EMQX:
    """A new EMQX from the form's values: name, namespace and image, and whatever differs
    from the schema's defaults."""
    fields = {"name", "namespace", "image", *changed_fields(default_values(), values)}
    return EMQX.from_dict(apply_values({"metadata": {}, "spec": {}}, values, fields))


def edited_emqx(base_doc: Mapping[str, Any], values: Mapping[str, Any]) -> EMQX:
    """``base_doc`` (the object as the user opened it) with the fields the user changed."""
    base_values = emqx_values(EMQX.from_dict(base_doc))
    doc = apply_values(copy.deepcopy(dict(base_doc)), values, changed_fields(base_values, values))
    return EMQX.from_dict(doc)


# ----- the form's own checks, shared with the YAML form --------------------------------------


def check_replicas(value: int | None, *, minimum: int, maximum: int, what: str) -> str:
    if value is None:
        return ""
    if value < minimum:
        return f"{what} must be at least {minimum}."
    if value > maximum:
        return f"{what} must be at most {maximum} (a typo? the console refuses larger values)."
    return ""


def check_quantities(values: Mapping[str, Any]) -> dict[str, str]:
    """Field -> error for the resource quantities: valid, not negative, request <= limit."""
    errors: dict[str, str] = {}
    parsed: dict[str, Decimal] = {}
    for name in _RESOURCES:
        text = values.get(name) or ""
        if not text:
            continue
        try:
            parsed[name] = parse_quantity(text)
        except ValueError:
            errors[name] = f"{text!r} is not a Kubernetes quantity (e.g. 500m or 2 for CPU, 512Mi or 2Gi for memory)."
            continue
        if parsed[name] < 0:
            errors[name] = "A resource quantity cannot be negative."
    for resource in ("cpu", "memory"):
        request, limit = parsed.get(f"{resource}_request"), parsed.get(f"{resource}_limit")
        if request is not None and limit is not None and request > limit and f"{resource}_limit" not in errors:
            errors[f"{resource}_limit"] = f"The {resource} limit must not be below the request."
    return errors


def sanity_errors(obj: EMQX) -> list[tuple[str, str]]:
    """(field path, message) for what the form would refuse in an EMQX given whole (YAML)."""
    errors: list[tuple[str, str]] = []
    meta = obj.metadata
    for key in ("name", "namespace"):
        value = getattr(meta, key)
        if not value:
            errors.append((f"metadata.{key}", "required."))
        elif len(value) > 63 or not DNS_LABEL_RE.match(value):
            errors.append((f"metadata.{key}", f"{value!r} is not a valid name: {_LABEL_RULE} characters."))
    errors += [("metadata.labels", message) for message in label_errors(meta.labels or {})]
    if obj.spec is None:
        errors.append(("spec", "required (at least spec.image)."))
        return errors
    values = emqx_values(obj)
    if not _IMAGE_RE.match(obj.spec.image):
        errors.append(("spec.image", f"{obj.spec.image!r} is not an image reference such as emqx/emqx:5.8.6."))
    core = check_replicas(values["core_replicas"], minimum=1, maximum=MAX_CORE_REPLICAS, what="Core replicas")
    if core:
        errors.append((FIELD_PATHS["core_replicas"], core))
    replicants = check_replicas(
        values["replicant_replicas"], minimum=0, maximum=MAX_REPLICANT_REPLICAS, what="Replicant replicas"
    )
    if replicants:
        errors.append((FIELD_PATHS["replicant_replicas"], replicants))
    if len(values["config_data"].encode()) > MAX_CONFIG_BYTES:
        errors.append((FIELD_PATHS["config_data"], f"at most {MAX_CONFIG_BYTES // 1024} KiB."))
    elif values["config_data"].strip() and (problem := hocon.check(values["config_data"])) is not None:
        errors.append((FIELD_PATHS["config_data"], f"not valid HOCON: {problem}."))
    errors += [(FIELD_PATHS[name], message) for name, message in check_quantities(values).items()]
    return errors


# ----- the form ------------------------------------------------------------------------------


def _literal_choices(annotation: Any) -> list[str]:
    """The values of a ``Literal[...] | None`` field annotation, in order."""
    for arg in get_args(annotation):
        if getattr(arg, "__origin__", None) is Literal:
            return [str(a) for a in get_args(arg)]
    return []


SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"]
CONFIG_MODES = _literal_choices(Config.model_fields["mode"].annotation)


class LabelsField(forms.CharField):
    """Labels, one ``key=value`` a line, as a dict."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60, "placeholder": "team=iot\ntier=gold"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            return "\n".join(f"{k}={v}" for k, v in value.items())
        return value

    def to_python(self, value: Any) -> dict[str, str]:  # type: ignore[override]
        if isinstance(value, Mapping):
            return dict(value)
        text = _normalize_newlines(super().to_python(value) or "")
        labels: dict[str, str] = {}
        for number, raw in enumerate(text.split("\n"), start=1):
            line = raw.strip()
            if not line:
                continue
            key, sep, val = line.partition("=")
            if not sep or not key.strip():
                raise forms.ValidationError(f"Line {number}: write each label as key=value, got {line!r}.")
            key = key.strip()
            if key in labels:
                raise forms.ValidationError(f"Line {number}: label {key!r} is given twice.")
            labels[key] = val.strip()
        if len(labels) > MAX_LABELS:
            raise forms.ValidationError(f"At most {MAX_LABELS} labels.")
        return labels

    def validate(self, value: Any) -> None:
        errors = label_errors(value)
        if errors:
            raise forms.ValidationError(errors)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or {})
        except forms.ValidationError:
            return True


def _text(**attrs: str) -> forms.TextInput:
    return forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", **attrs})


_QUANTITY_HTML = QUANTITY_PATTERN.removeprefix("^").removesuffix("$")


class EMQXForm(forms.Form):
    """An EMQX as people describe it. ``editing=True`` fixes name and namespace (they are the
    object's identity); ``namespaces`` are suggested for the namespace field."""

    name = forms.CharField(
        max_length=63,
        widget=_text(pattern=HTML_DNS_LABEL, placeholder="my-emqx"),
        help_text="Lower case letters, digits and '-' (RFC 1123), at most 63 characters. Cannot be changed later.",
    )
    namespace = forms.CharField(
        max_length=63,
        widget=_text(pattern=HTML_DNS_LABEL, list="namespace-suggestions"),
        help_text="An existing namespace of the cluster.",
    )
    image = forms.CharField(
        max_length=512,
        widget=_text(size="40"),
        help_text="The EMQX image and version, e.g. emqx/emqx:5.8.6 or emqx/emqx-enterprise:5.8.6.",
    )
    core_replicas = forms.IntegerField(
        min_value=1,
        max_value=MAX_CORE_REPLICAS,
        label="Core replicas",
        help_text="Core nodes hold the cluster's data; use an odd number (1, 3, 5).",
    )
    replicant_replicas = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_REPLICANT_REPLICAS,
        label="Replicant replicas",
        help_text="Leave empty for no replicant nodes (no replicant template).",
    )
    cpu_request = forms.CharField(required=False, max_length=64, label="CPU request", widget=_text(size="10"))
    cpu_limit = forms.CharField(required=False, max_length=64, label="CPU limit", widget=_text(size="10"))
    memory_request = forms.CharField(required=False, max_length=64, label="Memory request", widget=_text(size="10"))
    memory_limit = forms.CharField(required=False, max_length=64, label="Memory limit", widget=_text(size="10"))
    config_data = forms.CharField(
        required=False,
        strip=False,
        max_length=MAX_CONFIG_BYTES,
        label="Configuration (HOCON)",
        widget=forms.Textarea(attrs={"rows": 10, "cols": 80, "spellcheck": "false", "class": "code"}),
        help_text="EMQX configuration merged into or replacing the defaults (spec.config.data).",
    )
    config_mode = forms.ChoiceField(choices=[(m, m) for m in CONFIG_MODES], label="Configuration mode")
    dashboard_service_type = forms.ChoiceField(required=False, label="Dashboard service type")
    listeners_service_type = forms.ChoiceField(required=False, label="Listeners service type")
    labels = LabelsField(required=False, help_text="One key=value a line.")

    def __init__(self, *args: Any, editing: bool = False, namespaces: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.namespace_suggestions = list(namespaces)
        for name in ("name", "namespace"):
            self.fields[name].disabled = editing
        replicant_default = ReplicantTemplateSpec.model_fields["replicas"].default
        self.fields["replicant_replicas"].widget.attrs["placeholder"] = f"none (e.g. {replicant_default})"
        for name in _RESOURCES:
            self.fields[name].widget.attrs.update(
                pattern=_QUANTITY_HTML, placeholder="e.g. 500m" if "cpu" in name else "e.g. 512Mi"
            )
        for name in ("dashboard_service_type", "listeners_service_type"):
            choices = [("", "Kubernetes default (ClusterIP)")] + [(t, t) for t in SERVICE_TYPES]
            current = self.initial.get(name)
            if current and current not in SERVICE_TYPES:
                # A type set outside the console (ExternalName ...) stays selectable, so saving
                # an unrelated change does not silently reset it.
                choices.append((current, current))
            self.fields[name].choices = choices  # type: ignore[attr-defined]
        if editing:
            self._keep_what_is_stored()

    def _keep_what_is_stored(self) -> None:
        """The console's own limits (the CRD has none) judge new values, not what the object
        already holds: an instance scaled past them with kubectl stays editable."""
        for name in ("core_replicas", "replicant_replicas"):
            current, field = self.initial.get(name), self.fields[name]
            if isinstance(current, int) and field.max_value is not None and current > field.max_value:  # type: ignore[attr-defined]
                field.max_value = current  # type: ignore[attr-defined]
                field.validators = [v for v in field.validators if not isinstance(v, validators.MaxValueValidator)]
                field.validators.append(validators.MaxValueValidator(current))
                field.widget.attrs["max"] = str(current)
        config = str(self.initial.get("config_data") or "")
        stored = len(config) + config.count("\n")  # posted back by a browser with CRLF line ends
        field = self.fields["config_data"]
        if stored > MAX_CONFIG_BYTES:
            field.max_length = stored  # type: ignore[attr-defined]
            field.validators = [v for v in field.validators if not isinstance(v, validators.MaxLengthValidator)]
            field.validators.append(validators.MaxLengthValidator(stored))
            field.widget.attrs["maxlength"] = str(stored)

    def _unchanged(self, *names: str) -> bool:
        return self.editing and all(self.cleaned_data.get(n) == self.initial.get(n) for n in names)

    FIELDSETS = (
        ("Instance", ("name", "namespace", "image", "labels")),
        ("Nodes", ("core_replicas", "replicant_replicas")),
        ("Core node resources", ("cpu_request", "cpu_limit", "memory_request", "memory_limit")),
        ("Services", ("dashboard_service_type", "listeners_service_type")),
        ("Configuration", ("config_mode", "config_data")),
    )

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The fields grouped as the page shows them (Django admin's fieldsets)."""
        return [(title, [self[name] for name in names]) for title, names in self.FIELDSETS]

    def field_for_path(self, path: str) -> str | None:
        """The form field an API field path (``spec.coreTemplate.spec.replicas``) belongs to."""
        bare = re.sub(r"\[.*$", "", path)
        for name, field_path in FIELD_PATHS.items():
            if bare == field_path:
                return name
        return None

    def clean_name(self) -> str:
        value: str = self.cleaned_data["name"]
        if not self.editing and not DNS_LABEL_RE.match(value):
            raise forms.ValidationError(f"Not a valid name: {_LABEL_RULE} characters.")
        return value

    def clean_namespace(self) -> str:
        value: str = self.cleaned_data["namespace"]
        if not self.editing and not DNS_LABEL_RE.match(value):
            raise forms.ValidationError(f"Not a valid namespace name: {_LABEL_RULE} characters.")
        return value

    def clean_image(self) -> str:
        value: str = self.cleaned_data["image"]
        if not _IMAGE_RE.match(value) and not self._unchanged("image"):
            raise forms.ValidationError("Not an image reference such as emqx/emqx:5.8.6.")
        return value

    def clean_config_data(self) -> str:
        value = _normalize_newlines(self.cleaned_data.get("config_data") or "")
        if self.editing and value == self.initial.get("config_data"):
            return value  # as stored: not ours to judge again
        if len(value.encode()) > MAX_CONFIG_BYTES:
            raise forms.ValidationError(f"The configuration may be at most {MAX_CONFIG_BYTES // 1024} KiB.")
        if value.strip():
            problem = hocon.check(value)
            if problem is not None:
                raise forms.ValidationError(f"Not valid HOCON: {problem}.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self._unchanged(*_RESOURCES):
            return cleaned
        for name, message in check_quantities(cleaned).items():
            if name not in self.errors:
                self.add_error(name, message)
        return cleaned

    def values(self) -> dict[str, Any]:
        """The validated values, one per field (call after is_valid())."""
        return {name: self.cleaned_data.get(name) for name in FIELDS}


def values_as_data(values: Mapping[str, Any], *, prefix: str = "") -> dict[str, str]:
    """Form values as POST data (what a browser would send for them)."""
    data = {}
    for name in FIELDS:
        value = values.get(name)
        if isinstance(value, Mapping):
            value = "\n".join(f"{k}={v}" for k, v in value.items())
        data[prefix + name] = "" if value is None else str(value)
    return data


# ----- YAML mode -------------------------------------------------------------------------------

_TOP_LEVEL = ("apiVersion", "kind", "metadata", "spec")
# Pydantic names the member of a union it tried (int | str quantities) inside the location.
_UNION_TAGS = re.compile(r"^(int|str|float|bool|constrained-str|list|dict|none)$|\[")


def _pydantic_messages(error: ValidationError) -> list[str]:
    seen: dict[str, list[str]] = {}
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"] if not (isinstance(p, str) and _UNION_TAGS.search(p)))
        messages = seen.setdefault(path or "(document)", [])
        if item["msg"] not in messages:
            messages.append(item["msg"])
    return [f"{path}: {' or '.join(messages)}" for path, messages in list(seen.items())[:20]]


def yaml_skeleton(values: Mapping[str, Any]) -> str:
    """A starting document for YAML mode from form values (a new object's defaults)."""
    obj = new_emqx(
        {
            **values,
            "name": values.get("name") or "my-emqx",
            "namespace": values.get("namespace") or "default",
            "image": values.get("image") or SUGGESTED_IMAGE,
        }
    )
    return yaml.safe_dump(obj.to_dict(), sort_keys=False, default_flow_style=False)


def _value_at(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for key in path.split("."):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def edit_yaml(doc: Mapping[str, Any]) -> str:
    """What the YAML editor starts from: the part of the object a person edits (apiVersion,
    kind, name, namespace, labels, annotations and the whole spec, unknown fields included),
    without status or the server's bookkeeping. Non-ASCII text stays readable, except where
    PyYAML would write a character it reads back differently (NEL, line separators): then
    everything is escaped, so that saving the text unchanged changes nothing."""
    clean = diffs.clean(doc)
    text = yaml.safe_dump(clean, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100)
    if yaml.safe_load(text) != clean:
        text = yaml.safe_dump(clean, sort_keys=False, default_flow_style=False, width=100)
    return text


def yaml_edited_emqx(base_doc: Mapping[str, Any], document: Mapping[str, Any]) -> EMQX:
    """``base_doc`` (the object as the user opened it) with the labels, annotations and spec
    of the user's document. The rest of the metadata (finalizers, owner references ...) and
    the status stay the server's."""
    doc = copy.deepcopy(dict(base_doc))
    meta = doc.setdefault("metadata", {})
    for key in ("labels", "annotations"):
        value = (document.get("metadata") or {}).get(key)
        if value:
            meta[key] = copy.deepcopy(value)
        else:
            meta.pop(key, None)
    doc["spec"] = copy.deepcopy(document.get("spec"))
    return EMQX.from_dict(doc)


class EMQXYamlForm(forms.Form):
    """The whole object as YAML: parsed safely, checked for kind, known top-level keys, the
    model's types and the form's own limits. Unknown fields inside the spec are left to the
    API server, which knows its CRD version (strict field validation).

    With ``base`` (an edit), the document must keep the object's name and namespace; other
    metadata the server keeps (resourceVersion, uid ...) may stay in the text as it was but
    not change; and the form's limits judge only what the edit changes, so an instance
    scaled past them with kubectl stays editable."""

    yaml = forms.CharField(
        strip=False,
        max_length=MAX_YAML_BYTES,
        label="EMQX as YAML",
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100, "spellcheck": "false", "class": "code"}),
    )

    def __init__(self, *args: Any, base: EditBase | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = base

    def field_for_path(self, path: str) -> str | None:
        return "yaml"

    def _edit_errors(self, data: dict[str, Any]) -> list[str]:
        """What an edit may not change, checked on (and trimmed from) the user's document."""
        assert self.base is not None
        errors = []
        meta, base_meta = data["metadata"], self.base.doc.get("metadata") or {}
        for key in ("name", "namespace"):
            if meta.get(key) != base_meta.get(key):
                errors.append(
                    f"metadata.{key}: is {base_meta.get(key)!r} and cannot be changed "
                    f"(got {meta.get(key)!r}); to move or rename an instance, create a new one."
                )
        for key in sorted(k for k in meta if k not in diffs.EDITABLE_METADATA):
            if meta[key] != base_meta.get(key):
                errors.append(
                    f"metadata.{key}: kept by the cluster and not changed here; remove it from the YAML "
                    "(you edit the version you opened)."
                )
            del meta[key]
        return errors

    def clean_yaml(self) -> str:
        text = _normalize_newlines(self.cleaned_data["yaml"])
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(error, "problem", None) or str(error)
            raise forms.ValidationError(f"Not valid YAML{where}: {problem}.") from None
        if not isinstance(data, dict):
            raise forms.ValidationError(
                "The document must be a mapping with apiVersion, kind, metadata and spec, "
                f"not {type(data).__name__ if data is not None else 'empty'}."
            )
        errors = []
        if data.get("apiVersion") != EMQX.api_version or data.get("kind") != EMQX.kind:
            errors.append(
                f"apiVersion must be {EMQX.api_version} and kind {EMQX.kind} "
                f"(got {data.get('apiVersion')!r} and {data.get('kind')!r})."
            )
        if "status" in data:
            errors.append("status: written by the operator, not by you; leave it out.")
        unknown = sorted(str(k) for k in data if k not in (*_TOP_LEVEL, "status"))
        if unknown:
            errors.append(f"Unknown top-level field(s): {', '.join(unknown)} (allowed: {', '.join(_TOP_LEVEL)}).")
        if not isinstance(data.get("metadata"), dict):
            errors.append("metadata: a mapping with name and namespace is required.")
        elif self.base is not None:
            errors += self._edit_errors(data)
        if errors:
            raise forms.ValidationError(errors)
        try:
            obj = EMQX.model_validate(data)
        except ValidationError as error:
            raise forms.ValidationError(_pydantic_messages(error)) from None
        if self.base is None:
            problems = sanity_errors(obj)
        else:
            obj = yaml_edited_emqx(self.base.doc, data)
            already, edited = sanity_errors(self.base.emqx), obj.to_dict()
            problems = [
                p
                for p in sanity_errors(obj)
                if p not in already or _value_at(edited, p[0]) != _value_at(self.base.doc, p[0])
            ]
        if problems:
            raise forms.ValidationError([f"{path}: {message}" for path, message in problems])
        self.cleaned_data["emqx"] = obj
        self.cleaned_data["document"] = data
        return text

    @property
    def emqx(self) -> EMQX:
        """The object to write: the document as given (create), or the opened object with
        the document's labels, annotations and spec (edit)."""
        obj: EMQX = self.cleaned_data["emqx"]
        return obj

    def edited(self, base: EditBase) -> EMQX:
        """The user's document laid onto ``base`` (another version than the one opened,
        after the operator's status moved on)."""
        return yaml_edited_emqx(base.doc, self.cleaned_data["document"])


# ----- an edit's starting point ----------------------------------------------------------------

_BASE_SALT = "console.forms.emqx.edit-base"


@dataclass(frozen=True)
class EditBase:
    """The object as the user opened the form: the base of their changes, of the preview's
    diff and of the 3-way merge after a conflict. It travels with the form, signed (the
    server keeps no session state), and carries the resourceVersion for the update."""

    doc: dict[str, Any]

    @classmethod
    def of(cls, obj: EMQX) -> EditBase:
        doc = obj.to_dict()
        doc.pop("status", None)
        doc.get("metadata", {}).pop("managedFields", None)
        return cls(doc)

    @classmethod
    def load(cls, token: str) -> EditBase | None:
        """From a signed token; None when it is missing or was tampered with."""
        try:
            doc = signing.loads(token, salt=_BASE_SALT)
        except (signing.BadSignature, ValueError, TypeError):
            return None
        return cls(doc) if isinstance(doc, dict) else None

    def token(self) -> str:
        return signing.dumps(self.doc, salt=_BASE_SALT, compress=True)

    @property
    def emqx(self) -> EMQX:
        return EMQX.from_dict(self.doc)

    @property
    def resource_version(self) -> str:
        return str(self.doc.get("metadata", {}).get("resourceVersion") or "")

    def values(self) -> dict[str, Any]:
        return emqx_values(self.emqx)


# ----- the API server's answers, on the form ----------------------------------------------------

_UNKNOWN_FIELD = re.compile(r'unknown field "([^"]+)"')
_DUPLICATE_FIELD = re.compile(r'duplicate field "([^"]+)"')


def _on_field(form: forms.Form, path: str, message: str) -> None:
    name = form.field_for_path(path) if path else None  # type: ignore[attr-defined]
    if name is not None and name in form.fields and not form.fields[name].disabled:
        form.add_error(name, f"{path}: {message}" if name == "yaml" else message)
    else:
        form.add_error(None, f"{path}: {message}" if path else message)


def add_api_error(
    form: forms.Form,
    error: EmqxClientError,
    *,
    cluster: str,
    verb: Literal["create", "update"],
    namespace: str,
    name: str,
    dry_run: bool,
    who: str = "the console",
) -> None:
    """Put a failed write's error where the user will look: causes on their fields, the rest
    above the form. ``dry_run`` says whether nothing can have been written (a dry-run) or the
    outcome of a real write may be unknown (no answer); ``who`` names the identity that
    wrote (the console's own, or the user's in impersonation mode)."""
    if isinstance(error, Invalid):
        if not error.causes:
            form.add_error(None, f"The cluster refused this EMQX: {error.message}")
        for cause in error.causes:
            _on_field(form, cause.field, cause.message or cause.reason)
    elif isinstance(error, BadRequest) and _UNKNOWN_FIELD.search(error.message):
        for path in _UNKNOWN_FIELD.findall(error.message):
            _on_field(form, path, "unknown field: the cluster's EMQX schema has no such field.")
        for path in _DUPLICATE_FIELD.findall(error.message):
            _on_field(form, path, "given twice.")
    elif isinstance(error, AlreadyExists):
        _on_field(form, "metadata.name", f"An EMQX called {name!r} already exists in namespace {namespace}.")
    elif isinstance(error, NotFound) and error.details.kind == "namespaces":
        _on_field(form, "metadata.namespace", f"Namespace {namespace!r} does not exist in cluster {cluster}.")
    elif isinstance(error, Forbidden):
        form.add_error(
            None,
            f"Cluster {cluster} does not allow {who} to {verb} EMQX instances in namespace {namespace}: "
            f"{error.message}",
        )
    elif isinstance(error, Unauthorized):
        form.add_error(None, f"Cluster {cluster} did not accept the console's credentials: {error.message}")
    elif isinstance(error, ClusterUnreachable | RetryableError):
        what = "is unreachable" if isinstance(error, ClusterUnreachable) else "is too busy to answer"
        outcome = (
            "Nothing was saved"
            if dry_run
            else "The change may not have been saved; check the instance before trying again"
        )
        form.add_error(None, f"Cluster {cluster} {what}. {outcome}. Your input is kept below. ({error})")
    elif isinstance(error, ConfigurationError):
        form.add_error(None, f"Cannot use cluster {cluster}: {error}")
    elif isinstance(error, InvalidArgument):
        form.add_error(None, f"Not a valid EMQX: {error}")
    elif isinstance(error, ApiError):
        form.add_error(None, f"Cluster {cluster} refused the {verb}: {error.message or error.reason}")
    else:
        form.add_error(None, f"The {verb} failed: {error}")


# ----- delete --------------------------------------------------------------------------------

PRODUCTION_LABELS = ("environment", "env")


def production_reasons(namespace_labels: Mapping[str, str] | None, obj_labels: Mapping[str, str]) -> list[str]:
    """Why deleting needs the name typed: production labels on the namespace or the object.
    ``namespace_labels=None`` means they could not be read; then we ask, to be safe."""
    reasons = [
        f"the instance is labelled {key}=production" for key in PRODUCTION_LABELS if obj_labels.get(key) == "production"
    ]
    if namespace_labels is None:
        reasons.append("the namespace's labels could not be read, so it may be a production namespace")
    else:
        reasons += [
            f"its namespace is labelled {key}=production"
            for key in PRODUCTION_LABELS
            if namespace_labels.get(key) == "production"
        ]
    return reasons


class EMQXDeleteForm(forms.Form):
    """The confirmation. ``uid`` and ``generation`` pin the object the user looked at: a
    re-created object of the same name, or a changed spec, is never deleted from a stale page."""

    uid = forms.CharField(widget=forms.HiddenInput, max_length=64)
    generation = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    confirm_name = forms.CharField(
        required=False,
        max_length=253,
        label="Type the instance's name to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, name: str, confirm_required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.object_name = name
        self.confirm_required = confirm_required
        if confirm_required:
            self.fields["confirm_name"].required = True
            # Names hold only [a-z0-9.-]; in a `pattern` (compiled with the `v` flag) only the
            # dot needs escaping, and escaping '-' outside a class would be a syntax error.
            self.fields["confirm_name"].widget.attrs["pattern"] = name.replace(".", r"\.")

    def clean_confirm_name(self) -> str:
        value: str = self.cleaned_data.get("confirm_name") or ""
        if self.confirm_required and value != self.object_name:
            raise forms.ValidationError(f"Type {self.object_name} exactly to delete it.")
        return value
