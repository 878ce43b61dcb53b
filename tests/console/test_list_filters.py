"""The change list's filter sidebar (console/forms/filters.py, templates/console/object/_facets.html):
Django admin's ``list_filter`` with facets. Each facet (namespace, state, EMQX version, the label keys
the admin declares) lists its choices with how many objects each would list, counted from the watch
cache under every OTHER active filter (the name search, the label selector and the other facets);
the choices live in the URL, invalid ones are field errors that drop only themselves, and the list's
"select all N matching" and its API pages follow them.

The fleet below lives in two namespaces of this module's own; the counts are read with the list
filtered by one of them, so no other test's objects ever count."""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.test import Client

from console.forms.filters import ObjectFilterForm, filter_objects
from console.registry import site
from emqx.client.clientset import Clientset
from emqx.models import apps_v2beta1
from sandbox import Sandbox
from tests import factories
from tests.console.kind_cases import World
from tests.support import eventually, write_emqx_status

pytestmark = pytest.mark.django_db

LIST = "/clusters/default/emqx/"
READY = ("Ready", "ClusterReady", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

# The fleet: (namespace, name, EMQX version, Ready or not, tier label). "a" holds five, "b" two.
# south-2 is written through the deprecated v2alpha1 (WRITTEN_AS_V2ALPHA1), the others through v2beta1.
FLEET = [
    ("a", "north-1", "5.8.6", True, "edge"),
    ("a", "north-2", "5.8.6", True, "edge"),
    ("a", "north-3", "5.8.6", False, "backend"),
    ("a", "south-1", "5.7.2", True, "backend"),
    ("a", "south-2", "5.7.2", False, ""),
    ("b", "west-1", "5.8.6", True, "edge"),
    ("b", "west-2", "5.7.2", False, "edge"),
]
WRITTEN_AS_V2ALPHA1 = {"south-2"}


@dataclass(frozen=True)
class Fleet:
    a: str
    b: str


@pytest.fixture(scope="module")
def fleet(sandbox: Sandbox) -> Iterator[Fleet]:
    """FLEET in two fresh namespaces, only read by the tests (the Ready ones with the operator's Ready status)."""
    fleet = Fleet(f"facets-a-{secrets.token_hex(3)}", f"facets-b-{secrets.token_hex(3)}")
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        for ns in (fleet.a, fleet.b):
            sandbox.create_namespace(ns)
        for key, name, version, ready, tier in FLEET:
            ns = getattr(fleet, key)
            emqxes = cs.apps_v2beta1.emqxes(ns)
            labels = {"tier": tier} if tier else None
            if name in WRITTEN_AS_V2ALPHA1:
                old = factories.emqx_v2alpha1(name, namespace=ns, image=f"emqx/emqx:{version}")
                cs.apps_v2alpha1.emqxes(ns).create(old)
            else:
                emqxes.create(factories.emqx(name, namespace=ns, image=f"emqx/emqx:{version}", labels=labels))
            if ready:
                write_emqx_status(emqxes, name, [READY], coreNodesStatus={"readyReplicas": 1, "replicas": 1})
    yield fleet


@pytest.fixture
def console(admin: Client, fleet: Fleet) -> Client:
    """The admin's client once the list shows the whole fleet with its states."""

    def loaded() -> bool:
        ready = [sidebar(_get(admin, namespace=ns)).get("By state", {}).get("Ready") for ns in (fleet.a, fleet.b)]
        return ready == [3, 1]

    eventually(loaded)
    return admin


def _get(client: Client, url: str = LIST, **params: str) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


_SECTION = re.compile(r'<section class="facet"[^>]*>\s*<h2[^>]*>(?P<title>[^<]+)</h2>(?P<body>.*?)</section>', re.S)
_CHOICE = re.compile(
    r'<li(?P<selected> class="selected")?><a href="\?(?P<query>[^"]*)"[^>]*>(?P<value>[^<]*?) '
    r'<span class="facet-count">\((?P<count>\d+)\)</span></a></li>'
)


def choices(page: str) -> dict[str, list[dict[str, Any]]]:
    """The sidebar of a list page: {facet title: [{value, count, selected, query}]}, "All" first."""
    found: dict[str, list[dict[str, Any]]] = {}
    for section in _SECTION.finditer(page):
        found[html.unescape(section["title"])] = [
            {
                "value": html.unescape(m["value"]),
                "count": int(m["count"]),
                "selected": bool(m["selected"]),
                "query": html.unescape(m["query"]),
            }
            for m in _CHOICE.finditer(section["body"])
        ]
    return found


def sidebar(page: str) -> dict[str, dict[str, int]]:
    """{facet title: {choice: count}} of a list page, "All" included."""
    return {title: {c["value"]: c["count"] for c in cs} for title, cs in choices(page).items()}


def rows(page: str) -> list[str]:
    """The names the table lists."""
    return re.findall(r'<td><a href="/clusters/default/emqx/[^/]+/([^/]+)/">', page)


def test_the_sidebar_counts_each_state_version_and_label_of_the_namespace(console: Client, fleet: Fleet) -> None:
    counts = sidebar(_get(console, namespace=fleet.a))
    assert counts["By state"] == {"All": 5, "Ready": 3, "Pending": 2}
    assert counts["By EMQX version"] == {"All": 5, "5.7.2": 2, "5.8.6": 3}
    assert counts["By label tier"] == {"All": 5, "backend": 2, "edge": 2}  # south-2 has no tier
    assert counts["By kind version"] == {"All": 5, "v2alpha1": 1, "v2beta1": 4}
    assert "By label environment" not in counts, "a label nothing carries has no choices to offer"
    namespaces = counts["By namespace"]
    assert (namespaces[fleet.a], namespaces[fleet.b]) == (5, 2), "the namespace facet ignores its own choice"


def test_each_facets_counts_follow_the_other_filters_but_not_its_own_choice(console: Client, fleet: Fleet) -> None:
    page = _get(console, namespace=fleet.a, state="Ready")
    assert sorted(rows(page)) == ["north-1", "north-2", "south-1"]
    counts = sidebar(page)
    assert counts["By state"] == {"All": 5, "Ready": 3, "Pending": 2}, "its own choice does not narrow it"
    assert counts["By EMQX version"] == {"All": 3, "5.7.2": 1, "5.8.6": 2}
    assert counts["By label tier"] == {"All": 3, "backend": 1, "edge": 2}
    assert counts["By namespace"][fleet.b] == 1  # west-1 is the Ready one there

    page = _get(console, namespace=fleet.a, state="Ready", version="5.8.6")
    assert sorted(rows(page)) == ["north-1", "north-2"]
    counts = sidebar(page)
    assert counts["By state"] == {"All": 3, "Ready": 2, "Pending": 1}, "north-3 is Pending on 5.8.6"
    assert counts["By EMQX version"] == {"All": 3, "5.7.2": 1, "5.8.6": 2}, "south-1 is Ready on 5.7.2"
    assert counts["By label tier"] == {"All": 2, "edge": 2}, "a choice with nothing left under it is not offered"
    assert "2 EMQX instances" in page


def test_the_name_search_and_the_label_selector_narrow_every_facets_counts(console: Client, fleet: Fleet) -> None:
    counts = sidebar(_get(console, namespace=fleet.a, q="north"))
    assert counts["By state"] == {"All": 3, "Ready": 2, "Pending": 1}
    assert counts["By EMQX version"] == {"All": 3, "5.8.6": 3}
    counts = sidebar(_get(console, namespace=fleet.a, labels="tier=backend"))
    assert counts["By state"] == {"All": 2, "Ready": 1, "Pending": 1}
    assert counts["By EMQX version"] == {"All": 2, "5.7.2": 1, "5.8.6": 1}
    page = _get(console, namespace=fleet.a, q="south", labels="tier", state="Ready")
    assert rows(page) == ["south-1"]
    assert sidebar(page)["By state"] == {"All": 1, "Ready": 1}


def test_the_kind_version_finds_what_a_deprecated_version_wrote(console: Client, fleet: Fleet) -> None:
    page = _get(console, namespace=fleet.a, kind_version="v2alpha1")
    assert rows(page) == ["south-2"]
    assert sidebar(page)["By state"] == {"All": 1, "Pending": 1}
    page = _get(console, namespace=fleet.a, kind_version="v2 beta")
    assert "field-kind_version" in page and "Not a version of a Kubernetes kind" in page
    assert len(rows(page)) == 5, "an invalid version drops only itself"


def test_the_kind_version_follows_the_specs_writers_not_labels_or_the_operators_status(
    console: Client, sandbox: Sandbox
) -> None:
    namespace = f"facets-moved-{secrets.token_hex(3)}"
    sandbox.create_namespace(namespace)

    def kind_versions() -> dict[str, int]:
        return sidebar(_get(console, namespace=namespace)).get("By kind version", {})

    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        # imagePullPolicy set: a write through v2alpha1 would default it (in the spec, owned by that writer)
        pulled = factories.emqx("moved", namespace=namespace, spec={"imagePullPolicy": "IfNotPresent"})
        cs.apps_v2beta1.emqxes(namespace).create(pulled)
        eventually(lambda: kind_versions() == {"All": 1, "v2beta1": 1})
        old = cs.apps_v2alpha1.emqxes(namespace)
        old.patch("moved", {"metadata": {"labels": {"tier": "edge"}}}, field_manager="an-old-script")
        write_emqx_status(cs.apps_v2beta1.emqxes(namespace), "moved", [READY])  # the status subresource
        eventually(lambda: sidebar(_get(console, namespace=namespace)).get("By state") == {"All": 1, "Ready": 1})
        assert kind_versions() == {"All": 1, "v2beta1": 1}, "a label and a status are not the spec"
        old.patch("moved", {"spec": {"image": "emqx/emqx:5.8.9"}}, field_manager="an-old-script")
        eventually(
            lambda: kind_versions() == {"All": 1, "v2alpha1": 1},
            message="a spec field written through v2alpha1 shows it",
        )


def test_a_chosen_choice_that_lists_nothing_stays_in_the_sidebar_at_zero(console: Client, fleet: Fleet) -> None:
    page = _get(console, namespace=fleet.a, version="9.9.9", state="Failed")
    assert rows(page) == []
    assert "matches these filters" in page
    state = {c["value"]: c for c in choices(page)["By state"]}
    assert state["Failed"]["count"] == 0 and state["Failed"]["selected"]
    version = {c["value"]: c for c in choices(page)["By EMQX version"]}
    assert version["9.9.9"]["count"] == 0 and version["9.9.9"]["selected"]


def test_the_choices_live_in_the_url_and_round_trip(console: Client, fleet: Fleet) -> None:
    page = _get(console, namespace=fleet.a, sort="-name", page="1")
    ready = next(c for c in choices(page)["By state"] if c["value"] == "Ready")
    assert parse_qs(ready["query"]) == {"namespace": [fleet.a], "sort": ["-name"], "state": ["Ready"]}, (
        "a choice keeps the other filters and the sort, and goes back to page 1"
    )
    page = _get(console, **{k: v[0] for k, v in parse_qs(ready["query"]).items()})
    assert rows(page) == ["south-1", "north-2", "north-1"]
    state = choices(page)["By state"]
    assert [c["value"] for c in state if c["selected"]] == ["Ready"]
    assert 'aria-current="true">Ready' in page
    # The filter bar keeps the choice when the search is submitted.
    assert '<input type="hidden" name="state" value="Ready">' in page
    edge = next(c for c in choices(page)["By label tier"] if c["value"] == "edge")
    assert parse_qs(edge["query"])["label.tier"] == ["edge"]
    assert sorted(rows(_get(console, **{k: v[0] for k, v in parse_qs(edge["query"]).items()}))) == [
        "north-1",
        "north-2",
    ]
    everything = state[0]
    assert everything["value"] == "All" and "state" not in parse_qs(everything["query"])


def test_an_invalid_choice_is_a_field_error_that_drops_only_itself(console: Client, fleet: Fleet) -> None:
    page = _get(console, namespace=fleet.a, state="Bogus", version="5.7.2")
    assert 'class="errornote field-state"' in page and "Bogus is not a state the console gives objects" in page
    assert sorted(rows(page)) == ["south-1", "south-2"], "the version still applies"
    page = _get(console, namespace=fleet.a, state="Ready", **{"label.tier": "not a value!"})
    assert "field-label.tier" in page and "is not a label value" in page
    assert sorted(rows(page)) == ["north-1", "north-2", "south-1"], "the state still applies"
    page = _get(console, namespace=fleet.a, version="5.8 6", q="north")
    assert "field-version" in page
    assert sorted(rows(page)) == ["north-1", "north-2", "north-3"], "the search still applies"


def test_select_all_matching_takes_the_sidebars_choices(console: Client, fleet: Fleet) -> None:
    query = f"namespace={fleet.a}&state=Ready&label.tier=edge"
    response = console.post(
        LIST + "actions/", {"action": "delete_selected", "changelist_query": query, "select_across": "1"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    listed = set(re.findall(r"north-\d|south-\d|west-\d", page))
    assert listed == {"north-1", "north-2"}, "only the Ready edge instances of the namespace are to be deleted"


def test_the_action_bar_counts_what_the_choices_match(console: Client, fleet: Fleet) -> None:
    page = _get(console, namespace=fleet.a, version="5.8.6")
    assert "All 3 matching these filters" in page


def test_api_pages_apply_the_choices_but_say_they_cannot_be_counted(console: Client, fleet: Fleet) -> None:
    page = _get(console, namespace=fleet.a, source="api", state="Ready")
    assert "No counts here" in page
    assert choices(page) == {}
    assert sorted(rows(page)) == ["north-1", "north-2", "south-1"]
    assert "By state: Ready" in page, "the active choice is listed, to remove it"


def test_the_counts_cost_the_api_server_nothing(console: Client, fleet: Fleet, sandbox: Sandbox) -> None:
    from tests.console.test_polls_cost_nothing import _made, _served

    _get(console, namespace=fleet.a, state="Ready")  # every cache the page reads is warm
    before = _served(sandbox)
    for params in ({"state": "Ready"}, {"version": "5.8.6", "label.tier": "edge"}, {"q": "south"}):
        assert choices(_get(console, namespace=fleet.a, **params))
    assert _made(before, _served(sandbox)) == {}


def test_a_thousand_objects_are_counted_from_one_summary_each() -> None:
    """Counting, filtering and sorting 1,000 cached objects reads one summary each and summarizes nothing
    itself (the summaries come from the cache: console.sharedcache.summaries)."""
    admin = site.for_kind("EMQX")
    objects = [
        apps_v2beta1.EMQX.from_dict(
            {
                "metadata": {"name": f"e-{i}", "namespace": f"ns-{i % 7}", "resourceVersion": str(i + 1)},
                "spec": {"image": f"emqx/emqx:5.8.{i % 3}"},
            }
        )
        for i in range(1000)
    ]
    seen: Counter[str] = Counter()

    class Counting(type(admin)):  # type: ignore[misc]
        def summarize(self, obj: Any) -> Any:
            seen[obj.metadata.name] += 1
            return super().summarize(obj)

    counting = Counting()
    form = ObjectFilterForm({"version": "5.8.1", "state": "Pending"}, admin=counting)
    summaries = [counting.summarize(o) for o in objects]
    for _ in range(2):  # filtering and counting again summarizes nothing again
        listing = filter_objects(summaries, form)
    assert listing.page.paginator.count == 333
    assert {c.value: c.count for c in listing.facets[2].choices} == {"5.8.0": 334, "5.8.1": 333, "5.8.2": 333}
    assert set(seen.values()) == {1} and len(seen) == 1000


# ----- every kind ---------------------------------------------------------------------------------------


def test_every_kind_has_a_sidebar_with_state_counts(world: World) -> None:
    world.new("one")
    world.new("two")
    world.write_status("one", world.case.settled)
    expected = Counter(world.case.admin.summarize(world.objects.get(n)).state for n in ("one", "two"))
    assert len(expected) == 2, expected  # a settled state and the state before the operator answers

    def counted() -> dict[str, int]:
        return sidebar(world.html(world.url("list"), namespace=world.namespace)).get("By state", {})

    eventually(lambda: counted() == {"All": 2, **expected})
    settled = world.case.admin.summarize(world.objects.get("one")).state
    page = world.html(world.url("list"), namespace=world.namespace, state=settled)
    assert ">one<" in page and ">two<" not in page
