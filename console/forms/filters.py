"""The change list's filter bar, for every kind: namespace, name search, label selector, sort, page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.paginator import Page, Paginator

from console import selectors
from console.registry import ResourceAdmin
from console.summaries import Summary

PAGE_SIZE = 50


def valid_fields(form: forms.Form) -> dict[str, Any]:
    """The values of ``form``'s valid fields: ``{field name: cleaned value}``. A field whose value
    is invalid is left out, so its default applies and the others still count: a mistyped
    ``?sort=`` keeps the name search, rather than listing everything unfiltered. The form shows
    the invalid field's error as usual (Django keeps the valid fields in ``cleaned_data``). An
    unbound form (no query at all) gives {}."""
    form.is_valid()
    return dict(getattr(form, "cleaned_data", {}))


class ObjectFilterForm(forms.Form):
    """``admin`` gives the sortable columns (``?sort=version``, ``?sort=-age``) and the default sort."""

    namespace = forms.CharField(required=False, max_length=63)
    q = forms.CharField(required=False, max_length=253, label="Name contains")
    labels = forms.CharField(required=False, max_length=1024, label="Label selector")
    sort = forms.ChoiceField(required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def __init__(self, *args: Any, admin: ResourceAdmin, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.admin = admin
        keys = [c.key for c in admin.list_display if c.sort is not None]
        self.fields["sort"].choices = [(k, k) for k in keys] + [(f"-{k}", f"-{k}") for k in keys]  # type: ignore[attr-defined]

    def clean_labels(self) -> str:
        value: str = self.cleaned_data.get("labels") or ""
        try:
            selectors.parse(value)
        except selectors.SelectorError as error:
            raise forms.ValidationError(f"Not a label selector: {error}.") from None
        return value


@dataclass(frozen=True)
class Listing:
    page: Page[Summary]
    total_in_scope: int
    """How many objects the namespace holds before search and label filters."""


def _in_scope(items: list[Any], data: dict[str, Any]) -> list[Any]:
    namespace = data.get("namespace") or ""
    return [o for o in items if not namespace or o.metadata.namespace == namespace]


def _matcher(data: dict[str, Any]) -> Callable[[Any], bool]:
    """Whether an object matches the name search and the label selector of ``data``."""
    query = (data.get("q") or "").lower()
    selector = selectors.parse(data.get("labels") or "")
    return lambda o: query in (o.metadata.name or "").lower() and selector(o.metadata.labels or {})


def matching_objects(items: list[Any], form: ObjectFilterForm) -> list[Any]:
    """The objects of ``items`` the list's filters match, every page of them (the actions' "select
    all N matching": Django admin's ``select_across``), in ``items``' order."""
    data = valid_fields(form)
    return list(filter(_matcher(data), _in_scope(items, data)))


def filter_objects(items: list[Any], form: ObjectFilterForm) -> Listing:
    """Filter, sort and paginate cached objects by a (valid or not) filter form."""
    admin = form.admin
    data = valid_fields(form)
    in_scope = _in_scope(items, data)
    rows = [admin.summarize(o) for o in filter(_matcher(data), in_scope)]
    sort = data.get("sort") or admin.ordering
    column = next(c for c in admin.list_display if c.key == sort.lstrip("-"))
    assert column.sort is not None
    rows.sort(key=column.sort, reverse=sort.startswith("-"))
    page = Paginator(rows, PAGE_SIZE).get_page(data.get("page") or 1)
    return Listing(page=page, total_in_scope=len(in_scope))
