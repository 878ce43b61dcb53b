"""The list page's filter bar: namespace, name search, label selector, sort, page."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.core.paginator import Page, Paginator

from console import selectors
from console.emqx_summary import EmqxSummary, summarize
from emqx.models.apps_v2beta1 import EMQX

PAGE_SIZE = 50

SORTS = {
    "name": lambda s: (s.name, s.namespace),
    "namespace": lambda s: (s.namespace, s.name),
    "state": lambda s: (s.state, s.namespace, s.name),
    "version": lambda s: (s.version, s.namespace, s.name),
    "age": lambda s: (-(s.created.timestamp() if s.created else 0), s.namespace, s.name),
}
SORT_CHOICES = [(k, k) for k in SORTS] + [(f"-{k}", f"-{k}") for k in SORTS]


class EMQXFilterForm(forms.Form):
    namespace = forms.CharField(required=False, max_length=63)
    q = forms.CharField(required=False, max_length=253, label="Name contains")
    labels = forms.CharField(required=False, max_length=1024, label="Label selector")
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def clean_labels(self) -> str:
        value: str = self.cleaned_data.get("labels") or ""
        try:
            selectors.parse(value)
        except selectors.SelectorError as error:
            raise forms.ValidationError(f"Not a label selector: {error}.") from None
        return value


@dataclass(frozen=True)
class EMQXListing:
    page: Page[EmqxSummary]
    total_in_scope: int
    """How many instances the namespace holds before search and label filters."""


def filter_emqx(items: list[EMQX], form: EMQXFilterForm) -> EMQXListing:
    """Filter, sort and paginate cached EMQX objects by a (valid or not) filter form."""
    data = form.cleaned_data if form.is_valid() else {}
    namespace = data.get("namespace") or ""
    in_scope = [o for o in items if not namespace or o.metadata.namespace == namespace]
    query = (data.get("q") or "").lower()
    match = selectors.parse(data.get("labels") or "")
    rows = [
        summarize(o)
        for o in in_scope
        if query in (o.metadata.name or "").lower() and match(o.metadata.labels or {})
    ]
    sort = data.get("sort") or "namespace"
    rows.sort(key=SORTS[sort.lstrip("-")], reverse=sort.startswith("-"))
    page = Paginator(rows, PAGE_SIZE).get_page(data.get("page") or 1)
    return EMQXListing(page=page, total_in_scope=len(in_scope))
