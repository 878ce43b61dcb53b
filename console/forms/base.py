"""The parts of every kind's write pages that are not the schema form (console/forms/schema.py):
the edit's signed starting point, the YAML editor, the delete confirmation, and how the API
server's answers land on the form's fields.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django import forms
from django.core import signing
from django.utils.translation import get_language, gettext, pgettext
from django.utils.translation import gettext_lazy as _
from pydantic import ValidationError

from console import diffs, yamlio
from console.forms.schema import FieldOptions, FormSpec, ResourceForm, read_values, values_as_data
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
from emqx.models._base import Resource

__all__ = [
    "DeleteForm",
    "EditBase",
    "ResourceYamlForm",
    "add_api_error",
    "edit_yaml",
    "hidden_inputs",
    "production_reasons",
    "pydantic_messages",
    "yaml_skeleton",
]

_TOP_LEVEL = ("apiVersion", "kind", "metadata", "spec")
# Pydantic names the member of a union it tried (int | str quantities) inside the location.
_UNION_TAGS = re.compile(r"^(int|str|float|bool|constrained-str|list|dict|none)$|\[")
# Room for the largest configuration (256 KiB) and the rest of the object.
MAX_YAML_BYTES = 320 * 1024


def pydantic_messages(error: ValidationError) -> list[str]:
    """A model's validation errors as "path: message" lines (at most 20)."""
    seen: dict[str, list[str]] = {}
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"] if not (isinstance(p, str) and _UNION_TAGS.search(p)))
        messages = seen.setdefault(path or "(document)", [])
        if item["msg"] not in messages:
            messages.append(item["msg"])
    return [f"{path}: {' or '.join(messages)}" for path, messages in list(seen.items())[:20]]


def _normalize_newlines(text: str) -> str:
    # Browsers send textareas with CRLF; the object stores what the user meant (LF).
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ----- an edit's starting point ----------------------------------------------------------------

_BASE_SALT = "console.forms.edit-base"


@dataclass(frozen=True)
class EditBase:
    """The object as the user opened the form: the base of their changes, of the preview's
    diff and of the 3-way merge after a conflict. It travels with the form, signed (the
    server keeps no session state), and carries the resourceVersion for the update."""

    doc: dict[str, Any]

    @classmethod
    def of(cls, obj: Resource) -> EditBase:
        return cls(diffs.without(obj.to_dict(), "managedFields", status=True))

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
    def obj(self) -> Resource:
        """The typed object (its model from apiVersion and kind), not understood (``obj.problems``)
        when the document does not fit the model (emqx.models.Resource.read). Raises LookupError for
        an apiVersion and kind no model reads, ValidationError for metadata that is not metadata."""
        doc = self.doc
        return Resource.class_for(str(doc.get("apiVersion")), str(doc.get("kind"))).read(doc)

    @property
    def namespace(self) -> str:
        return str(self.doc.get("metadata", {}).get("namespace") or "")

    @property
    def name(self) -> str:
        return str(self.doc.get("metadata", {}).get("name") or "")

    @property
    def resource_version(self) -> str:
        return str(self.doc.get("metadata", {}).get("resourceVersion") or "")


# ----- a form carried to the next page ----------------------------------------------------------


def hidden_inputs(form: forms.Form) -> list[tuple[str, str]]:
    """(name, value) of the hidden inputs that carry ``form``'s values (what the user typed, or
    its first values) to a page of its own (the preview, the conflict's re-apply), exactly as a
    browser posts the form: an inline group as its rows and management fields, not as one value.
    Disabled fields (an edit's name and namespace) are left out, as a browser does."""
    pairs: list[tuple[str, str]] = []
    for name, field in form.fields.items():
        if field.disabled:
            continue
        bound = form[name]
        post_data = getattr(field, "post_data", None)
        if post_data is None:
            value = bound.value()
            pairs.append((bound.html_name, "" if value is None else str(value)))
            continue
        # The raw value (typed text, posted rows, or the stored value), not value(): post_data
        # renders it itself.
        raw = field.bound_data(bound.data, bound.initial) if form.is_bound else bound.initial
        pairs += [(key, text.replace("\r\n", "\n")) for key, text in post_data(bound.html_name, raw).items()]
    return pairs


# ----- YAML ----------------------------------------------------------------------------------


def edit_yaml(doc: Mapping[str, Any]) -> str:
    """What the YAML editor starts from: the part of the object a person edits (apiVersion,
    kind, name, namespace, labels, annotations and the whole spec, unknown fields included),
    without status or the server's bookkeeping (saved unchanged, it changes nothing: diffs.dump)."""
    return diffs.dump(diffs.clean(doc))


def yaml_skeleton(form: ResourceForm) -> str:
    """A starting document for YAML mode: what the add form holds (its defaults, or what the
    user typed so far), with a placeholder name and namespace."""
    values = dict(form.values()) if form.is_bound and form.is_valid() else dict(form.initial)
    values["metadata.name"] = values.get("metadata.name") or "my-" + form.spec.model.kind.lower()
    values["metadata.namespace"] = values.get("metadata.namespace") or "default"
    filled = ResourceForm(values_as_data(form.spec, values), spec=form.spec)
    obj = filled.intended(None) if filled.is_valid() else form.spec.model.from_dict({"metadata": {}})
    return diffs.dump(obj.to_dict())


def yaml_edited(base_doc: Mapping[str, Any], document: Mapping[str, Any], model: type[Resource]) -> Resource:
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
    return model.from_dict(doc)


def _checked_spec(spec: FormSpec) -> FormSpec:
    """The form spec reduced to what the console judges beyond the schema (its own limits,
    validators, name rule and labels), for documents given whole: the API server judges the rest
    with its own CRD version."""
    paths = ["metadata.name", "metadata.namespace", "metadata.labels"]
    shown = set(spec.paths())  # options of paths this version's form does not show are ignored
    for path, option in spec.options.items():
        ruled = option.validators or option.min_value is not None or option.max_value is not None
        if path in shown and path not in paths and (ruled or option.max_length is not None):
            paths.append(path)
    return dataclasses.replace(spec, fieldsets=(("", paths),))


def _whole_document_message(field: forms.Field, option: FieldOptions, value: Any, error: forms.ValidationError) -> str:
    """A field's message for a document given whole, where no field is highlighted: bounds name
    the field and the console's limit ("Core replicas must be at most 32 (or stay at the 40 it
    has)."), a refused one-line value is quoted ("'X_Y' is not a valid name: ...")."""
    label = str(field.label or "")
    message = " ".join(str(m) for m in error.messages)
    params = error.params if isinstance(error.params, Mapping) else {}
    if error.code in ("min_value", "max_value") and "limit_value" in params and label:
        lowest = error.code == "min_value"
        limit, own = params["limit_value"], option.min_value if lowest else option.max_value
        # On an edit the bound is widened to what the object already holds (set with kubectl).
        kept = own is not None and own != limit
        values = {"label": label, "limit": own if kept else limit, "kept": limit}
        if kept:
            said = (
                gettext("%(label)s must be at least %(limit)s (or stay at the %(kept)s it has).")
                if lowest
                else gettext("%(label)s must be at most %(limit)s (or stay at the %(kept)s it has).")
            )
        else:
            said = (
                gettext("%(label)s must be at least %(limit)s.")
                if lowest
                else gettext("%(label)s must be at most %(limit)s.")
            )
        return said % values
    one_line = not isinstance(field.widget, forms.Textarea) and "\n" not in str(value)
    quotable = one_line and isinstance(value, str | int) and not isinstance(value, bool) and len(str(value)) <= 80
    if message.startswith("Not "):  # English: "'x' is not a valid name."
        if quotable:
            return f"{value!r} is {message[:1].lower()}{message[1:]}"
        return message[:1].lower() + message[1:]
    if quotable and not (get_language() or "en").startswith("en"):
        # Translated: the value, then the message as it stands, since other languages do not read as
        # "'x' is <message>" (the issue of the Chinese journey: the YAML review lost which value).
        return pgettext("a value and what is wrong with it", "%(value)s: %(message)s") % {
            "value": repr(value),
            "message": message,
        }
    return message


def yaml_problems(spec: FormSpec, doc: Mapping[str, Any], base: Mapping[str, Any] | None) -> list[str]:
    """ "path: message" for what the form would refuse in a whole document; on an edit only
    what the document changes is judged, so an instance scaled past the console's limits with
    kubectl stays editable."""
    checked = _checked_spec(spec)
    values = read_values(checked, doc)
    form = ResourceForm(values_as_data(checked, values), spec=checked, base=base)
    if form.is_valid():
        return []
    problems = []
    for path, errors in form.errors.as_data().items():
        for error in errors:
            if path == "__all__":
                problems += [str(m) for m in error.messages]
            else:
                message = _whole_document_message(form.fields[path], spec.option(path), values.get(path), error)
                problems.append(f"{path}: {message}")
    return problems


class ResourceYamlForm(forms.Form):
    """The whole object as YAML: parsed safely, checked for kind, known top-level keys, the
    model's types and the console's own limits (``spec``). Unknown fields inside the spec are
    left to the API server, which knows its CRD version (strict field validation).

    With ``base`` (an edit), the document must keep the object's name and namespace; other
    metadata the server keeps (resourceVersion, uid ...) may stay in the text as it was but
    not change; and the console's limits judge only what the edit changes."""

    yaml = forms.CharField(
        strip=False,
        max_length=MAX_YAML_BYTES,
        label=_("As YAML"),
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100, "spellcheck": "false", "class": "code"}),
    )

    def __init__(self, *args: Any, spec: FormSpec, base: EditBase | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.base = base
        self.fields["yaml"].label = gettext("%(kind)s as YAML") % {"kind": spec.model.kind}

    def field_for_path(self, path: str) -> str | None:
        return "yaml"

    def _edit_errors(self, data: dict[str, Any]) -> list[str]:
        """What an edit may not change, checked on (and trimmed from) the user's document."""
        assert self.base is not None
        errors = []
        meta, base_meta = data["metadata"], self.base.doc.get("metadata") or {}
        for key in ("name", "namespace"):
            if key == "namespace" and meta.get(key) is None:
                continue  # as with kubectl apply -n: a document without a namespace is in the one it edits
            if meta.get(key) != base_meta.get(key):
                errors.append(
                    gettext(
                        "metadata.%(key)s: is %(was)s and cannot be changed (got %(got)s); "
                        "to move or rename it, create a new one."
                    )
                    % {"key": key, "was": repr(base_meta.get(key)), "got": repr(meta.get(key))}
                )
        for key in sorted(k for k in meta if k not in diffs.EDITABLE_METADATA):
            if meta[key] != base_meta.get(key):
                errors.append(
                    gettext(
                        "metadata.%(key)s: kept by the cluster and not changed here; remove it from the YAML "
                        "(you edit the version you opened)."
                    )
                    % {"key": key}
                )
            del meta[key]
        return errors

    def clean_yaml(self) -> str:
        text = _normalize_newlines(self.cleaned_data["yaml"])
        model = self.spec.model
        try:
            data = yamlio.load(text, schema=model)  # as kubectl reads it; where the model says string, as written
        except yamlio.YamlInputError as error:
            raise forms.ValidationError(str(error)) from None
        if not isinstance(data, dict):
            if data is None:
                raise forms.ValidationError(
                    gettext("The document must be a mapping with apiVersion, kind, metadata and spec, not empty.")
                )
            raise forms.ValidationError(
                gettext("The document must be a mapping with apiVersion, kind, metadata and spec, not %(type)s.")
                % {"type": type(data).__name__}
            )
        errors = []
        if data.get("apiVersion") != model.api_version or data.get("kind") != model.kind:
            errors.append(
                gettext("apiVersion must be %(api_version)s and kind %(kind)s (got %(got_version)s and %(got_kind)s).")
                % {
                    "api_version": model.api_version,
                    "kind": model.kind,
                    "got_version": repr(data.get("apiVersion")),
                    "got_kind": repr(data.get("kind")),
                }
            )
        if "status" in data:
            errors.append(gettext("status: written by the operator, not by you; leave it out."))
        unknown = sorted(str(k) for k in data if k not in (*_TOP_LEVEL, "status"))
        if unknown:
            errors.append(
                gettext("Unknown top-level field(s): %(unknown)s (allowed: %(allowed)s).")
                % {"unknown": ", ".join(unknown), "allowed": ", ".join(_TOP_LEVEL)}
            )
        if not isinstance(data.get("metadata"), dict):
            errors.append(gettext("metadata: a mapping with name and namespace is required."))
        elif self.base is not None:
            errors += self._edit_errors(data)
        elif not data["metadata"].get("name") and data["metadata"].get("generateName"):
            # The server would pick the name at the write, after the dry-run and too late for the
            # preview, the audit and the page to go to; and each submit would create another one.
            errors.append(
                gettext(
                    "metadata.name: a name is required; generateName is not supported here. "
                    "Write the name of the new %(kind)s (e.g. %(example)s)."
                )
                % {"kind": model.kind, "example": f"{data['metadata']['generateName']}1"}
            )
        if errors:
            raise forms.ValidationError(errors)
        try:
            obj = model.model_validate(data)
            if self.base is not None:
                obj = yaml_edited(self.base.doc, data, model)
        except ValidationError as error:
            raise forms.ValidationError(pydantic_messages(error)) from None
        problems = yaml_problems(self.spec, obj.to_dict(), self.base.doc if self.base is not None else None)
        if problems:
            raise forms.ValidationError(problems)
        self.cleaned_data["object"] = obj
        self.cleaned_data["document"] = data
        return text

    def intended(self, base: EditBase | None = None) -> Resource:
        """The object to write: the document as given (create), or ``base`` (the version the
        user opened, or a newer one whose only change is the status) with the document's
        labels, annotations and spec (edit)."""
        if base is None:
            obj: Resource = self.cleaned_data["object"]
            return obj
        return yaml_edited(base.doc, self.cleaned_data["document"], self.spec.model)


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
    kind: str,
    plural: str = "",
    cluster: str,
    verb: Literal["create", "update"],
    namespace: str,
    name: str,
    dry_run: bool,
    who: str = "",
) -> None:
    """Put a failed write's error where the user will look: causes on their fields, the rest
    above the form. ``dry_run`` says whether nothing can have been written (a dry-run) or the
    outcome of a real write may be unknown (no answer); ``who`` names the identity that
    wrote (the console's own, the default, or the user's in impersonation mode); ``plural`` names the kind's
    objects in a sentence ("EMQX instances"; default "<kind> objects")."""
    plural = plural or gettext("%(kind)s objects") % {"kind": kind}
    who = who or gettext("the console")
    at = {"cluster": cluster, "namespace": namespace, "kind": kind, "plural": plural, "who": who}
    if isinstance(error, Invalid):
        if not error.causes:
            form.add_error(
                None, gettext("The cluster refused this %(kind)s: %(message)s") % {**at, "message": error.message}
            )
        for cause in error.causes:
            _on_field(form, cause.field, cause.message or cause.reason)
    elif isinstance(error, BadRequest) and _UNKNOWN_FIELD.search(error.message):
        for path in _UNKNOWN_FIELD.findall(error.message):
            _on_field(form, path, gettext("unknown field: the cluster's %(kind)s schema has no such field.") % at)
        for path in _DUPLICATE_FIELD.findall(error.message):
            _on_field(form, path, gettext("given twice."))
    elif isinstance(error, AlreadyExists):
        said = (
            gettext("An %(kind)s called %(name)s already exists in namespace %(namespace)s.")
            if kind[:1] in "AEIOU"
            else gettext("A %(kind)s called %(name)s already exists in namespace %(namespace)s.")
        )
        _on_field(form, "metadata.name", said % {**at, "name": repr(name)})
    elif isinstance(error, NotFound) and error.details.kind == "namespaces":
        _on_field(
            form,
            "metadata.namespace",
            gettext("Namespace %(namespace)s does not exist in cluster %(cluster)s.")
            % {**at, "namespace": repr(namespace)},
        )
    elif isinstance(error, Forbidden) and "being terminated" in error.message:
        _on_field(
            form,
            "metadata.namespace",
            gettext(
                "Namespace %(namespace)s is being deleted: nothing new can be created in it. Choose another namespace."
            )
            % {"namespace": repr(namespace)},
        )
    elif isinstance(error, Forbidden):
        said = (
            gettext(
                "Cluster %(cluster)s does not allow %(who)s to create %(plural)s in namespace %(namespace)s: "
                "%(message)s"
            )
            if verb == "create"
            else gettext(
                "Cluster %(cluster)s does not allow %(who)s to update %(plural)s in namespace %(namespace)s: "
                "%(message)s"
            )
        )
        form.add_error(None, said % {**at, "message": error.message})
    elif isinstance(error, Unauthorized):
        form.add_error(
            None,
            gettext("Cluster %(cluster)s did not accept the console's credentials: %(message)s")
            % {**at, "message": error.message},
        )
    elif isinstance(error, ClusterUnreachable | RetryableError):
        unreachable = isinstance(error, ClusterUnreachable)
        if dry_run:
            said = (
                gettext("Cluster %(cluster)s is unreachable. Nothing was saved. Your input is kept below. (%(error)s)")
                if unreachable
                else gettext(
                    "Cluster %(cluster)s is too busy to answer. Nothing was saved. Your input is kept below. "
                    "(%(error)s)"
                )
            )
        else:
            said = (
                gettext(
                    "Cluster %(cluster)s is unreachable. The change may not have been saved; check it before trying "
                    "again. Your input is kept below. (%(error)s)"
                )
                if unreachable
                else gettext(
                    "Cluster %(cluster)s is too busy to answer. The change may not have been saved; check it before "
                    "trying again. Your input is kept below. (%(error)s)"
                )
            )
        form.add_error(None, said % {**at, "error": error})
    elif isinstance(error, ConfigurationError):
        form.add_error(None, gettext("Cannot use cluster %(cluster)s: %(error)s") % {**at, "error": error})
    elif isinstance(error, InvalidArgument):
        form.add_error(None, gettext("Not a valid %(kind)s: %(error)s") % {**at, "error": error})
    elif isinstance(error, ApiError):
        said = (
            gettext("Cluster %(cluster)s refused the create: %(message)s")
            if verb == "create"
            else gettext("Cluster %(cluster)s refused the update: %(message)s")
        )
        form.add_error(None, said % {**at, "message": error.message or error.reason})
    else:
        said = gettext("The create failed: %(error)s") if verb == "create" else gettext("The update failed: %(error)s")
        form.add_error(None, said % {"error": error})


# ----- delete --------------------------------------------------------------------------------

PRODUCTION_LABELS = ("environment", "env")


def production_reasons(namespace_labels: Mapping[str, str] | None, obj_labels: Mapping[str, str]) -> list[str]:
    """Why deleting needs the name typed: production labels on the namespace or the object.
    ``namespace_labels=None`` means they could not be read; then we ask, to be safe."""
    reasons = [
        gettext("it is labelled %(label)s") % {"label": f"{key}=production"}
        for key in PRODUCTION_LABELS
        if obj_labels.get(key) == "production"
    ]
    if namespace_labels is None:
        reasons.append(gettext("the namespace's labels could not be read, so it may be a production namespace"))
    else:
        reasons += [
            gettext("its namespace is labelled %(label)s") % {"label": f"{key}=production"}
            for key in PRODUCTION_LABELS
            if namespace_labels.get(key) == "production"
        ]
    return reasons


class DeleteForm(forms.Form):
    """The confirmation. ``uid`` and ``generation`` pin the object the user looked at: a
    re-created object of the same name, or a changed spec, is never deleted from a stale page."""

    uid = forms.CharField(widget=forms.HiddenInput, max_length=64)
    generation = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    confirm_name = forms.CharField(
        required=False,
        max_length=253,
        label=_("Type the name to confirm"),
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
            raise forms.ValidationError(gettext("Type %(name)s exactly to delete it.") % {"name": self.object_name})
        return value
