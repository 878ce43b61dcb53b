"""The change list's filters, for every kind: namespace, name search, label selector, sort, page, and
the filter sidebar's facets with their counts (Django admin's ``list_filter`` with facets, "Show counts").

A facet is one thing the list can be narrowed by, one choice at a time (``?state=Ready&version=5.8.6``):
the namespace, the state (``Summary.state``: the admin's own state values), the EMQX version
(``Summary.version``, for kinds with an image), the kind version its spec was written through
(``Summary.kind_version``: ``?kind_version=v2alpha1`` finds what a deprecated version wrote) and each
label key the admin declares
(``ResourceAdmin.list_filter_labels``: ``?label.tier=edge``). The kinds declare theirs in
``ResourceAdmin.list_filter``. Counts follow Django admin's facet semantics (Django 5.0,
``ChangeList.get_queryset`` with ``add_facets``): a facet's counts are of the objects every OTHER
active filter (search, label selector, the other facets) matches, so a facet's own choice does not
narrow its own counts. Everything is counted from the watch cache, summarizing each object once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.paginator import Page, Paginator
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from console import selectors
from console.registry import ResourceAdmin
from console.summaries import STATE_CLASSES, STATE_NAMES, Summary

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PAGE_SIZE = 50
LABEL_PREFIX = "label."
"""The URL parameter of a label facet: ``label.<key>`` (``?label.tier=edge``)."""


def valid_fields(form: forms.Form) -> dict[str, Any]:
    """The values of ``form``'s valid fields: ``{field name: cleaned value}``. A field whose value
    is invalid is left out, so its default applies and the others still count: a mistyped
    ``?sort=`` keeps the name search, rather than listing everything unfiltered. The form shows
    the invalid field's error as usual (Django keeps the valid fields in ``cleaned_data``). An
    unbound form (no query at all) gives {}."""
    form.is_valid()
    return dict(getattr(form, "cleaned_data", {}))


@dataclass(frozen=True)
class Facet:
    """One filter of the sidebar. ``key``: its URL parameter and form field; ``title``: what the
    sidebar calls it ("By state"); ``value``: the choice an object falls under ('' for none: such an
    object counts under no choice, and any active choice of this facet leaves it out)."""

    key: str
    title: StrOrPromise
    value: Callable[[Summary], str]


def _label_facet(key: str) -> Facet:
    return Facet(LABEL_PREFIX + key, gettext("By label %(key)s") % {"key": key}, lambda s: s.labels.get(key, ""))


NAMESPACE_FACET = Facet("namespace", _("By namespace"), lambda s: s.namespace)
FACETS = {
    "namespace": NAMESPACE_FACET,
    "state": Facet("state", _("By state"), lambda s: s.state),
    "version": Facet("version", _("By EMQX version"), lambda s: s.version),
    "kind_version": Facet("kind_version", _("By kind version"), lambda s: s.kind_version),
}
"""The facets a kind may name in ``list_filter`` (besides ``labels``, the label selector of the filter bar)."""


def facets_of(admin: ResourceAdmin) -> tuple[Facet, ...]:
    """The sidebar's facets of ``admin``'s kind, in order: ``list_filter``'s, then one per key of
    ``list_filter_labels``."""
    named = tuple(FACETS[name] for name in admin.list_filter if name in FACETS)
    return named + tuple(_label_facet(key) for key in admin.list_filter_labels)


def _state_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        required=False,
        choices=[("", pgettext_lazy("any state", "Any"))] + [(s, STATE_NAMES[s]) for s in STATE_CLASSES],
        error_messages={"invalid_choice": _("%(value)s is not a state the console gives objects.")},
    )


def _label_value_field(key: str) -> forms.CharField:
    def valid(value: str) -> None:
        try:
            selectors.parse(f"{key}={value}")
        except selectors.SelectorError:
            raise forms.ValidationError(
                gettext(
                    "%(value)s is not a label value (Kubernetes: at most 63 letters, digits, '-', '_' or '.',"
                    " beginning and ending with a letter or digit)."
                )
                % {"value": repr(value)}
            ) from None

    return forms.CharField(
        required=False, max_length=63, validators=[valid], label=gettext("Label %(key)s") % {"key": key}
    )


class ObjectFilterForm(forms.Form):
    """``admin`` gives the sortable columns (``?sort=version``, ``?sort=-age``), the default sort and
    the facets (:func:`facets_of`: one optional field each, named as its URL parameter)."""

    namespace = forms.CharField(required=False, max_length=63)
    q = forms.CharField(required=False, max_length=253, label=_("Name contains"))
    labels = forms.CharField(required=False, max_length=1024, label=_("Label selector"))
    sort = forms.ChoiceField(required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def __init__(self, *args: Any, admin: ResourceAdmin, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.admin = admin
        keys = [c.key for c in admin.list_display if c.sort is not None]
        self.fields["sort"].choices = [(k, k) for k in keys] + [(f"-{k}", f"-{k}") for k in keys]  # type: ignore[attr-defined]
        self.facets = facets_of(admin)
        for facet in self.facets:
            if facet.key == "state":
                self.fields["state"] = _state_field()
                self.fields["state"].label = _("State")
            elif facet.key == "version":
                self.fields["version"] = forms.CharField(
                    required=False, max_length=255, label=_("EMQX version"), validators=[_printable]
                )
            elif facet.key == "kind_version":
                self.fields["kind_version"] = forms.RegexField(
                    regex=r"^v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?$",
                    required=False,
                    max_length=20,
                    label=_("Kind version"),
                    error_messages={"invalid": _("Not a version of a Kubernetes kind (v2, v2beta1).")},
                )
            elif facet.key.startswith(LABEL_PREFIX):
                self.fields[facet.key] = _label_value_field(facet.key.removeprefix(LABEL_PREFIX))

    def clean_labels(self) -> str:
        value: str = self.cleaned_data.get("labels") or ""
        try:
            selectors.parse(value)
        except selectors.SelectorError as error:
            raise forms.ValidationError(gettext("Not a label selector: %(error)s.") % {"error": error}) from None
        return value

    def chosen(self) -> dict[str, str]:
        """The active (valid, non-empty) choice of each facet but the namespace: ``{URL parameter: value}``.
        The namespace is the list's scope, chosen in the filter bar as well as in the sidebar."""
        data = valid_fields(self)
        return {f.key: str(data[f.key]) for f in self.facets if f.key != "namespace" and data.get(f.key)}

    def active_choices(self) -> list[tuple[str, str, str]]:
        """(facet title, value, the list's query without it) of each active choice: where nothing is
        counted (the API server's pages), the sidebar lists these to remove them one by one."""
        chosen = self.chosen()
        return [(str(f.title), chosen[f.key], _query(self.data, f.key, "")) for f in self.facets if f.key in chosen]


def _printable(value: str) -> None:
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise forms.ValidationError(gettext("A version has no spaces or control characters (e.g. 5.8.6)."))


@dataclass(frozen=True)
class Choice:
    """One choice of a facet: its value, how many objects it would list (the other filters kept),
    whether it is the active one, and the list's query string with it chosen (page 1)."""

    value: str
    count: int
    selected: bool
    query: str


@dataclass(frozen=True)
class FacetCounts:
    """One facet of the sidebar: its "All" choice (``all_query``: the list's query without this facet;
    ``total``: how many that lists) and its choices by value, those with a count of 0 left out except
    the active one (a bookmark of a choice nothing has any more still shows it, at 0)."""

    facet: Facet
    choices: list[Choice]
    total: int
    all_query: str

    @property
    def active(self) -> bool:
        return any(c.selected for c in self.choices)


@dataclass(frozen=True)
class Listing:
    page: Page[Summary]
    total_in_scope: int
    """How many objects the namespace holds before search, label and facet filters."""
    facets: list[FacetCounts]
    """The sidebar, in the admin's facet order."""


def _in_scope(items: list[Summary], data: dict[str, Any]) -> list[Summary]:
    namespace = data.get("namespace") or ""
    return [s for s in items if not namespace or s.namespace == namespace]


def _matcher(data: dict[str, Any]) -> Callable[[Summary], bool]:
    """Whether a summary's object matches the name search and the label selector of ``data``."""
    query = (data.get("q") or "").lower()
    selector = selectors.parse(data.get("labels") or "")
    return lambda s: query in s.name.lower() and selector(s.labels)


def facet_matcher(form: ObjectFilterForm) -> Callable[[Summary], bool]:
    """Whether a summary matches the form's active facet choices (the namespace aside: see
    :meth:`ObjectFilterForm.chosen`). Used where nothing is counted: the API server's pages and
    the actions' "all matching"."""
    chosen = form.chosen()
    wanted = [(f, chosen[f.key]) for f in form.facets if f.key in chosen]
    return lambda s: all(f.value(s) == value for f, value in wanted)


def matching_objects(items: list[Summary], form: ObjectFilterForm) -> list[Summary]:
    """The summaries of ``items`` the list's filters match, every page of them (the actions' "select
    all N matching": Django admin's ``select_across``), in ``items``' order."""
    data = valid_fields(form)
    return [s for s in filter(_matcher(data), _in_scope(items, data)) if facet_matcher(form)(s)]


def _query(params: Mapping[str, Any], key: str, value: str) -> str:
    """``params`` (the list's query) on page 1 with ``key`` set to ``value`` ('' removes it)."""
    query = QueryDict(mutable=True)
    if isinstance(params, MultiValueDict):
        for name, values in params.lists():
            query.setlist(name, values)
    query.pop("page", None)
    query.pop(key, None)
    if value:
        query[key] = value
    return str(query.urlencode())


def count_facets(
    summaries: Iterable[Summary], facets: tuple[Facet, ...], chosen: Mapping[str, str]
) -> tuple[list[Summary], list[Counter[str]], list[int]]:
    """One pass over ``summaries`` (those the search and label selector match, in every namespace the
    user may see): the summaries every active choice matches; per facet, a Counter of its values
    among the summaries every OTHER active choice matches; and per facet how many those are (its
    "All"). ``chosen``: {facet key: value} of the active choices. Django's facet semantics: an object
    that misses one active choice counts only in that choice's facet; one that misses two, nowhere."""
    counters: list[Counter[str]] = [Counter() for _ in facets]
    totals = [0 for _ in facets]
    matched: list[Summary] = []
    for summary in summaries:
        values = [f.value(summary) for f in facets]
        missed = [i for i, f in enumerate(facets) if f.key in chosen and values[i] != chosen[f.key]]
        if not missed:
            matched.append(summary)
            for i, value in enumerate(values):
                totals[i] += 1
                if value:
                    counters[i][value] += 1
        elif len(missed) == 1:
            i = missed[0]
            totals[i] += 1
            if values[i]:
                counters[i][values[i]] += 1
    return matched, counters, totals


def filter_objects(items: list[Summary], form: ObjectFilterForm) -> Listing:
    """Filter, count, sort and paginate cached objects by a (valid or not) filter form. ``items``: the
    summary of every cached object the user may see (all namespaces: the namespace facet counts them;
    console.sharedcache.summaries gives them)."""
    admin = form.admin
    data = valid_fields(form)
    chosen = {**form.chosen(), **({"namespace": data["namespace"]} if data.get("namespace") else {})}
    facets = tuple(form.facets) if NAMESPACE_FACET in form.facets else (NAMESPACE_FACET, *form.facets)
    rows, counters, totals = count_facets(filter(_matcher(data), items), facets, chosen)
    sort = data.get("sort") or admin.ordering
    column = next(c for c in admin.list_display if c.key == sort.lstrip("-"))
    assert column.sort is not None
    rows.sort(key=column.sort, reverse=sort.startswith("-"))
    page = Paginator(rows, PAGE_SIZE).get_page(data.get("page") or 1)
    params = form.data
    sidebar = []
    for facet, counter, total in zip(facets, counters, totals, strict=True):
        if facet not in form.facets:
            continue
        active = chosen.get(facet.key, "")
        values = sorted({*counter, *([active] if active else [])}, key=_natural)
        choices = [Choice(v, counter[v], v == active, _query(params, facet.key, v)) for v in values]
        shown = [c for c in choices if c.count or c.selected]
        sidebar.append(FacetCounts(facet, shown, total, _query(params, facet.key, "")))
    return Listing(page=page, total_in_scope=len(_in_scope(items, data)), facets=sidebar)


def _natural(value: str) -> tuple[Any, ...]:
    """Sort key: versions in numeric order (5.8.10 after 5.8.9), other text alphabetically."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in value.replace("-", ".").split("."))
