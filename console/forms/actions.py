"""The forms of the change list's actions (console/actions.py): what an action asks before it runs
(Django admin's intermediate pages, such as ``delete_selected``'s confirmation).

- :class:`ActionSelectionForm`: which action, on which objects: the rows ticked (``selected``,
  ``namespace/name`` each), or every object the list's filters match (``select_across``, with the
  list's own query string, ``changelist_query``, re-evaluated on the server);
- the forms of the actions' own values: :class:`ScaleForm`, :class:`ImageForm`, :class:`LabelForm`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from console import selectors
from console.validators import image_reference

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = [
    "MAX_SELECTED",
    "ActionSelectionForm",
    "ImageForm",
    "LabelForm",
    "ScaleField",
    "ScaleForm",
]

MAX_SELECTED = 5000
"""Ticked rows one request may carry. The list pages 50 rows at a time; "all matching" carries none."""


class _Selected(forms.Field):
    """``namespace/name`` values, as (namespace, name) pairs, each as Kubernetes could name it."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[tuple[str, str]]:
        from emqx.client.names import validate_name, validate_namespace
        from emqx.errors import InvalidName

        values = value if isinstance(value, list | tuple) else [value] if value else []
        if len(values) > MAX_SELECTED:
            raise forms.ValidationError(
                gettext("At most %(max)s rows may be selected at once; use 'all matching'.") % {"max": MAX_SELECTED}
            )
        pairs: list[tuple[str, str]] = []
        for item in values:
            namespace, _, name = str(item).partition("/")
            try:
                validate_namespace(namespace)
                validate_name(name)
            except InvalidName:
                raise forms.ValidationError(gettext("%(item)s names no object.") % {"item": repr(item)}) from None
            if (namespace, name) not in pairs:
                pairs.append((namespace, name))
        return pairs


class ActionSelectionForm(forms.Form):
    """What the change list's action bar posts: the action and the objects (Django admin's
    ``action``, ``_selected_action`` and ``select_across``). ``actions``: the admin's action names."""

    action = forms.ChoiceField(label=_("Action"))
    selected = _Selected(required=False)
    select_across = forms.BooleanField(required=False)
    changelist_query = forms.CharField(required=False, max_length=4096, widget=forms.HiddenInput)
    step = forms.ChoiceField(required=False, choices=[("", "choose"), ("confirm", "confirm")])
    """``confirm``: the confirmation page is posted (its objects are pinned in it, not selected here)."""

    def __init__(self, *args: Any, actions: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "---------"), *actions]  # type: ignore[attr-defined]
        self.fields["action"].error_messages["required"] = _("No action was chosen; nothing was changed.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = data.get("select_across") or data.get("selected") or data.get("step") == "confirm"
        if not self.errors and not chosen:
            # Django admin's own words for it.
            raise forms.ValidationError(
                _("Items must be selected in order to perform actions on them. No items have been changed.")
            )
        return data


@dataclass(frozen=True)
class ScaleField:
    """One replica count the Scale action sets: its form field (``key``), label, JSON path in the
    spec (``spec.replicas``), bounds, and whether the CRD's scale subresource maps that path
    (``specReplicasPath``: then the count goes through ``/scale``, as ``kubectl scale`` sends it)."""

    key: str
    label: StrOrPromise
    """In the page's language when shown (gettext_lazy)."""
    path: str
    minimum: int
    maximum: int
    subresource: bool = False


class ScaleForm(forms.Form):
    """One optional count per :class:`ScaleField`; at least one must be given."""

    def __init__(self, *args: Any, fields: Sequence[ScaleField], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for f in fields:
            self.fields[f.key] = forms.IntegerField(
                label=f.label, required=len(fields) == 1, min_value=f.minimum, max_value=f.maximum
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and all(data.get(key) is None for key in self.fields):
            raise forms.ValidationError(_("Give at least one replica count; empty counts stay as they are."))
        return data


class ImageForm(forms.Form):
    """The image every selected object is set to run (``example``: a reference of the kind's)."""

    image = forms.CharField(label=_("Image"), max_length=512)

    def __init__(self, *args: Any, example: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["image"]
        field.validators.append(image_reference(example))
        field.help_text = gettext("A full image reference with its tag, e.g. %(example)s.") % {"example": example}
        field.widget.attrs.update({"placeholder": example, "spellcheck": "false", "autocomplete": "off"})


class LabelForm(forms.Form):
    """A label to add (or overwrite) or remove, by Kubernetes' label rules."""

    operation = forms.ChoiceField(
        label=pgettext_lazy("noun: what the Label action does", "Change"),
        choices=[("add", _("Add or overwrite the label")), ("remove", _("Remove the label"))],
        initial="add",
    )
    key = forms.CharField(
        label=_("Label key"),
        max_length=317,
        help_text=mark_safe(_("e.g. <code>team</code> or <code>example.com/tier</code>.")),
    )
    value = forms.CharField(
        label=_("Value"),
        max_length=63,
        required=False,
        help_text=mark_safe(_("For adding: e.g. <code>iot</code>. Not used when removing.")),
    )

    def clean_key(self) -> str:
        key: str = self.cleaned_data["key"].strip()
        try:
            selectors.parse(key)  # a bare key is the "exists" requirement: checked by the label key rules
        except selectors.SelectorError:
            raise forms.ValidationError(
                _(
                    "Not a label key: letters, digits, '-', '_' and '.', at most 63, with an optional DNS prefix"
                    " and '/'."
                )
            ) from None
        return key

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        key, value = data.get("key"), (data.get("value") or "").strip()
        data["value"] = value
        if key and data.get("operation") == "add":
            try:
                selectors.parse(f"{key}={value}")
            except selectors.SelectorError:
                self.add_error("value", _("Not a label value: at most 63 letters, digits, '-', '_' and '.'."))
        return data
