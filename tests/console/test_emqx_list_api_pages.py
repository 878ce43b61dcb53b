"""The EMQX list paging through the API server itself (limit/continue): while the cache loads,
after a "next" link, or when someone asks for the API's live answer (``source=api``)."""

from __future__ import annotations

import base64
import html
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User
from django.http import QueryDict
from django.test import Client

from console import clusters, impersonation, listing
from console.models import RoleGrant
from emqx.cache import CacheState
from emqx.client.clientset import Clientset
from sandbox import Sandbox
from tests import factories
from tests.conftest import KubectlRunner, wait_until_allowed
from tests.support import eventually

pytestmark = pytest.mark.django_db

LIST_URL = "/clusters/default/emqx/"
ROW_RE = re.compile(r'<a href="/clusters/default/emqx/([^/"]+)/([^/"]+)/">')
NEXT_RE = re.compile(r'<a href="\?([^"]*)" rel="next"')


def _get(client: Client, query: str = "", **params: str) -> str:
    """The list page for a query string (as a link gives it) and more parameters after it."""
    merged = QueryDict(query, mutable=True)
    for key, value in params.items():
        merged[key] = value
    response = client.get(f"{LIST_URL}?{merged.urlencode()}")
    assert response.status_code == 200
    return response.content.decode()


def _rows(page: str) -> list[tuple[str, str]]:
    return ROW_RE.findall(page)


def _next(page: str) -> str | None:
    found = NEXT_RE.search(page)
    return html.unescape(found.group(1)) if found else None


def _lists_served(sandbox: Sandbox) -> int:
    """LIST requests for EMQX the API server has served so far (its own count)."""
    count = 0
    for line in sandbox.metrics().splitlines():
        if line.startswith("apiserver_request_total{") and 'resource="emqxes"' in line and 'verb="LIST"' in line:
            count += int(float(line.rsplit(" ", 1)[1]))
    return count


def _create_many(clientset: Clientset, names: list[tuple[str, str]], labels: dict[str, str]) -> None:
    def one(where: tuple[str, str]) -> None:
        ns, name = where
        clientset.apps_v2beta1.emqxes(ns).create(factories.emqx(name, namespace=ns, labels=labels))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, names))


@pytest.fixture
def fleet(
    clientset: Clientset, namespace: str, sandbox: Sandbox, console_cluster: clusters.Cluster
) -> Iterator[dict[str, object]]:
    """120 instances in two namespaces (70 + 50), labelled with a batch of their own, so that
    a selector isolates them from the rest of the session's cluster; the cache is synced."""
    # Not the first one's name plus a suffix: the API orders by "namespace/name" (its etcd key),
    # which puts "ns-b/x" before "ns/x", where the cache's (namespace, name) order does not.
    other = "u" + namespace[1:50]
    sandbox.create_namespace(other)
    batch = f"b{namespace[-6:]}"
    names = [(namespace, f"e-{i:03d}") for i in range(70)] + [(other, f"e-{i:03d}") for i in range(50)]
    _create_many(clientset, names, {"batch": batch})
    cache = console_cluster.cache("EMQX")
    eventually(lambda: all(cache.get(ns, name) is not None for ns, name in names), timeout=30)
    yield {"a": namespace, "b": other, "batch": batch, "names": sorted(names, key="/".join)}
    # 120 instances per test would slow every later cache sync of the session's shared cluster.
    for ns in (namespace, other):
        clientset.apps_v2beta1.emqxes(ns).delete_collection(label_selector=f"batch={batch}")


def test_api_pages_follow_the_continue_token_to_the_end_one_list_request_each(
    admin: Client, fleet: dict[str, object], sandbox: Sandbox
) -> None:
    seen: list[tuple[str, str]] = []
    query = f"source=api&labels=batch%3D{fleet['batch']}"
    sizes = []
    for number in (1, 2, 3):
        before = _lists_served(sandbox)
        page = _get(admin, query)
        assert _lists_served(sandbox) == before + 1
        rows = _rows(page)
        assert rows == sorted(rows, key="/".join), "the API's order: its key, namespace/name"
        assert f"page {number}" in page
        sizes.append(len(rows))
        seen += rows
        query = _next(page) or ""
        if number < 3:
            assert "continue=" in query and f"page={number + 1}" in query and "batch%3D" in query
    assert sizes == [50, 50, 20]
    assert query == "", "the last page offers no next page"
    assert seen == fleet["names"], "every instance once, none twice"


def test_page_one_from_the_api_looks_like_the_cached_list(admin: Client, fleet: dict[str, object]) -> None:
    labels = f"batch={fleet['batch']}"
    cached = _get(admin, labels=labels)
    from_api = _get(admin, source="api", labels=labels)
    assert _rows(from_api) == _rows(cached)[:50]
    assert "Read from the API server" in cached  # the way there
    assert "Back to the cached list (sortable)" in from_api  # and back


def test_api_pages_offer_no_sorting_and_no_previous_page(admin: Client, fleet: dict[str, object]) -> None:
    first = _get(admin, source="api", labels=f"batch={fleet['batch']}")
    assert "sort=" not in first and "sorting needs the cached list" in first
    second = _get(admin, _next(first) or "")
    assert ">\u2039 previous<" not in second and "there is no previous page" in second
    assert "first page</a>" in second


def test_a_chosen_namespace_lists_only_it_and_says_how_many_more(admin: Client, fleet: dict[str, object]) -> None:
    page = _get(admin, source="api", namespace=str(fleet["a"]))
    rows = _rows(page)
    assert len(rows) == 50 and {ns for ns, _ in rows} == {fleet["a"]}
    assert "about 20 more" in page  # remainingItemCount
    rest = _rows(_get(admin, _next(page) or ""))
    assert len(rest) == 20 and {ns for ns, _ in rest} == {fleet["a"]}


def test_the_label_selector_is_applied_by_the_api_server(
    admin: Client, clientset: Clientset, namespace: str, console_cluster: clusters.Cluster
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(factories.emqx("gold-one", namespace=namespace, labels={"tier": "gold"}))
    emqxes.create(factories.emqx("silver-one", namespace=namespace, labels={"tier": "silver"}))
    gold = _get(admin, source="api", namespace=namespace, labels="tier in (gold)")
    assert [name for _, name in _rows(gold)] == ["gold-one"]
    not_gold = _get(admin, source="api", namespace=namespace, labels="tier!=gold")
    assert [name for _, name in _rows(not_gold)] == ["silver-one"]


def test_a_selector_the_api_server_refuses_is_a_field_error_not_a_failure(
    admin: Client, namespace: str, console_cluster: clusters.Cluster
) -> None:
    # The console's own parser accepts it; the API server limits a key's prefix to 253 bytes.
    page = _get(admin, source="api", namespace=namespace, labels="a" * 254 + "/tier=gold")
    assert "field-labels" in page and "The API server refused it" in page
    assert "prefix part must be no more than 253 bytes" in page


def test_a_malformed_selector_is_a_field_error_in_api_mode_too(
    admin: Client, namespace: str, console_cluster: clusters.Cluster
) -> None:
    page = _get(admin, source="api", namespace=namespace, labels="tier in (gold")
    assert "field-labels" in page and "Not a label selector" in page


def test_a_forged_continue_token_asks_to_start_again(
    admin: Client, namespace: str, console_cluster: clusters.Cluster
) -> None:
    page = _get(admin, "source=api&continue=not-a-token&page=4", namespace=namespace)
    assert "This listing expired on the API server" in page
    assert f'href="?source=api&amp;namespace={namespace}">start again from the first page' in page


def _compact_etcd(sandbox: Sandbox, revision: int) -> None:
    """Compact etcd's history up to ``revision``, as the API server does every five minutes."""
    body = json.dumps({"revision": revision}).encode()
    url = f"http://127.0.0.1:{sandbox.etcd_port}/v3/kv/compaction"
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=10).read()
    except urllib.error.HTTPError as error:
        assert b"compacted" in error.read(), "etcd refused the compaction"  # already compacted further: as good


def test_an_expired_continue_token_asks_to_start_again(
    admin: Client, namespace: str, sandbox: Sandbox, console_cluster: clusters.Cluster
) -> None:
    # A token of an old snapshot: etcd has compacted that revision away, and the API server
    # answers 410 Expired, as it does for a "next" link left open for longer than 5 minutes.
    _compact_etcd(sandbox, 10)
    old = {"v": "meta.k8s.io/v1", "rv": 5, "start": f"/{namespace}/a\u0000"}
    raw = base64.urlsafe_b64encode(json.dumps(old).encode()).decode().rstrip("=")
    # The "next" link of that old page: the token sealed for this user and listing.
    token = listing.seal(raw, [str(User.objects.get(username="admin").pk), "default", "EMQX", namespace, ""])
    page = _get(admin, f"continue={token}&page=2", namespace=namespace)
    assert "This listing expired on the API server (continue tokens last about 5 minutes)" in page
    assert "start again from the first page" in page


def test_a_continue_token_is_followed_even_after_the_cache_has_synced(
    admin: Client, fleet: dict[str, object], console_cluster: clusters.Cluster
) -> None:
    first = _get(admin, source="api", namespace=str(fleet["a"]))
    following = QueryDict(_next(first) or "", mutable=True)
    following.pop("source")
    assert console_cluster.cache("EMQX").state().synced
    rest = _get(admin, following.urlencode())
    assert len(_rows(rest)) == 20 and "page 2" in rest
    assert "hx-trigger" not in rest, "a page further on is not polled"


def test_a_user_restricted_to_one_namespace_sees_only_its_rows(
    client: Client, fleet: dict[str, object], sandbox: Sandbox
) -> None:
    user = User.objects.create_user("one-ns-viewer", password="pw-one-ns-viewer-1")
    RoleGrant.objects.create(user=user, role="viewer", namespace=str(fleet["a"]))
    client.force_login(user)
    before = _lists_served(sandbox)
    page = _get(client, source="api")
    assert _lists_served(sandbox) == before + 1
    rows = _rows(page)
    assert len(rows) == 50 and {ns for ns, _ in rows} == {fleet["a"]}
    assert str(fleet["b"]) not in page
    # A namespace the user may not read: the same answer as the cached list, and no request.
    before = _lists_served(sandbox)
    hidden = _get(client, source="api", namespace=str(fleet["b"]))
    cached = _get(client, namespace=str(fleet["b"]))
    assert _lists_served(sandbox) == before
    assert _rows(hidden) == _rows(cached) == []
    assert f"No EMQX instances in namespace {fleet['b']} yet" in hidden and "e-000" not in hidden


def test_a_user_of_some_namespaces_never_sees_the_others_or_their_count(
    client: Client, fleet: dict[str, object], clientset: Clientset, sandbox: Sandbox
) -> None:
    third = "v" + str(fleet["a"])[1:50]
    sandbox.create_namespace(third)
    clientset.apps_v2beta1.emqxes(third).create(
        factories.emqx("e-third", namespace=third, labels={"batch": str(fleet["batch"])})
    )
    user = User.objects.create_user("two-ns-viewer", password="pw-two-ns-viewer-1")
    RoleGrant.objects.create(user=user, role="viewer", namespace=str(fleet["b"]))
    RoleGrant.objects.create(user=user, role="viewer", namespace=third)
    client.force_login(user)
    query = f"source=api&labels=batch%3D{fleet['batch']}"
    seen: list[tuple[str, str]] = []
    while query:
        page = _get(client, query)
        footer = page.split('class="paginator api-pager">')[1].split("</p>")[0]
        assert str(fleet["a"]) not in page and "more" not in footer, "nothing about the namespace it may not read"
        seen += _rows(page)
        query = _next(page) or ""
    assert {ns for ns, _ in seen} == {fleet["b"], third} and len(seen) == 51


def test_the_name_search_filters_each_page_and_says_so(admin: Client, fleet: dict[str, object]) -> None:
    page = _get(admin, source="api", namespace=str(fleet["a"]), q="e-04")
    assert [name for _, name in _rows(page)] == [f"e-04{i}" for i in range(10)]
    assert "search applies page by page while reading from the API server" in page
    assert "q=e-04" in (_next(page) or "")
    rest = _get(admin, _next(page) or "")
    assert _rows(rest) == [] and "No EMQX on this page matches the search" in rest


def test_the_cached_list_still_costs_the_api_server_nothing(
    admin: Client, fleet: dict[str, object], sandbox: Sandbox
) -> None:
    before = sandbox.requests_served("emqxes")
    for _ in range(10):
        assert len(_rows(_get(admin, labels=f"batch={fleet['batch']}"))) == 50
        assert admin.get("/clusters/default/emqx/_rows", {"namespace": fleet["a"]}).status_code == 200
    assert sandbox.requests_served("emqxes") == before


def test_a_cluster_down_in_api_mode_shows_the_banner_and_the_last_known_list(
    admin: Client, clientset: Clientset, namespace: str, sandbox: Sandbox, console_cluster: clusters.Cluster
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("remembered", namespace=namespace))
    eventually(lambda: console_cluster.cache("EMQX").get(namespace, "remembered") is not None)
    with sandbox.outage():
        page = _get(admin, source="api", namespace=namespace)
        assert "is unreachable" in page and "Showing the last known state" in page
        assert [name for _, name in _rows(page)] == ["remembered"]


# ----- the cache has not synced yet ------------------------------------------------------------

BLIND_CONSOLE_RBAC = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: emqx-console-blind}
rules:
- apiGroups: [""]
  resources: [users, groups]
  verbs: [impersonate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: emqx-console-blind}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: emqx-console-blind}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: emqx-console-blind}
"""


@pytest.fixture
def cache_never_syncs(
    settings: object, sandbox: Sandbox, kubectl: KubectlRunner, namespace: str, client: Client
) -> Iterator[Client]:
    """A console whose own identity may impersonate but not read EMQX, so its watch cache
    cannot load, and a user (rita) whom the cluster lets list EMQX in ``namespace``."""
    applied = kubectl("apply", "-f", "-", input=BLIND_CONSOLE_RBAC)
    assert applied.returncode == 0, applied.stderr
    wait_until_allowed(kubectl, "impersonate", "users", user="emqx-console-blind")
    kubectl("-n", namespace, "create", "role", "reader", "--verb=get,list,watch", "--resource=emqxes.apps.emqx.io")
    kubectl("-n", namespace, "create", "rolebinding", "rita-reads", "--role=reader", "--user=console:rita")
    wait_until_allowed(kubectl, "list", "emqxes.apps.emqx.io", user="console:rita", namespace=namespace)
    settings.CONSOLE_CLUSTERS = [  # type: ignore[attr-defined]
        {"name": "default", "kubeconfig": str(sandbox.user_kubeconfig("emqx-console-blind"))}
    ]
    settings.CONSOLE_IMPERSONATE = True  # type: ignore[attr-defined]
    user = User.objects.create_user("rita", password="pw-rita-123456")
    RoleGrant.objects.create(user=user, role="viewer", namespace=namespace)
    client.force_login(user)
    yield client
    impersonation.forget()
    clusters.reset()


def test_while_the_cache_cannot_load_page_one_comes_from_the_api(
    cache_never_syncs: Client, clientset: Clientset, namespace: str, sandbox: Sandbox
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("early", namespace=namespace))
    page = _get(cache_never_syncs)
    assert "Loading…" not in page
    assert _rows(page) == [(namespace, "early")]
    assert "Read from the API server while the cache loads" in page
    assert "The console may not read EMQX instances" in page  # the banner says why the cache is empty
    assert "Back to the cached list" not in page
    assert "hx-trigger" in page, "page 1 keeps polling, to switch to the cache once it has loaded"
    # The poll does not list again: htmx keeps the table (204) until the cache is in.
    before = _lists_served(sandbox)
    poll = cache_never_syncs.get("/clusters/default/emqx/_rows", HTTP_HX_REQUEST="true")
    assert poll.status_code == 204
    assert _lists_served(sandbox) == before


# ----- which source, given the cache's state ---------------------------------------------------


def _state(*, synced: bool, error_kind: str = "") -> CacheState:
    return CacheState(
        synced=synced,
        healthy=not error_kind,
        error="x" if error_kind else "",
        error_kind=error_kind,
        last_sync=None,
        generation=1,
    )


@pytest.mark.parametrize(
    ("params", "state", "source"),
    [
        ({}, _state(synced=True), "cache"),
        ({}, _state(synced=False), "api"),  # still loading: the API's first page, not "Loading…"
        ({}, _state(synced=False, error_kind="forbidden"), "api"),  # the user may read what the console may not
        ({}, _state(synced=False, error_kind="unreachable"), "cache"),  # the API would not answer either
        ({}, _state(synced=False, error_kind="not-served"), "cache"),
        ({}, None, "cache"),  # no cache at all: its banner says why
        ({"continue": "token"}, _state(synced=True), "api"),  # a next link goes on from the API
        ({"source": "api"}, _state(synced=True), "api"),
        ({"source": "cache"}, _state(synced=True), "cache"),
    ],
)
def test_the_list_reads_the_api_only_while_loading_or_when_asked(
    params: dict[str, str], state: CacheState | None, source: str
) -> None:
    assert listing.choose_source(params, state) == source


def test_a_next_link_never_carries_the_api_servers_key_and_works_only_for_its_user(
    client: Client, fleet: dict[str, object], sandbox: Sandbox
) -> None:
    """A raw continue token is the next storage key (namespace/name): a user of two namespaces,
    whose pages are a cluster-wide LIST, must not learn the others' names from it, nor walk them
    with a forged one (issue 15, item 9)."""
    user = User.objects.create_user("two-ns-pager", password="pw-two-ns-pager-1")
    RoleGrant.objects.create(user=user, role="viewer", namespace=str(fleet["b"]))
    RoleGrant.objects.create(user=user, role="viewer", namespace="elsewhere")
    client.force_login(user)
    query = f"source=api&labels=batch%3D{fleet['batch']}"
    following = QueryDict(_next(_get(client, query)) or "")
    sealed = following["continue"]
    for text in (sealed, base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4)).decode("latin-1")):
        assert str(fleet["a"]) not in text and "start" not in text and "meta.k8s.io" not in text
    # A forged token of the API's own format, pointing into the namespace the user may not read.
    forged = {"v": "meta.k8s.io/v1", "rv": 1, "start": f"{fleet['a']}/e-010\u0000"}
    raw = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    before = _lists_served(sandbox)
    page = _get(client, query, **{"continue": raw, "page": "2"})
    assert "This listing expired" in page and _rows(page) == []
    assert _lists_served(sandbox) == before, "a token the console did not seal is never sent"
    # The link works for its user, and for nobody else.
    assert len(_rows(_get(client, following.urlencode()))) > 0
    other = User.objects.create_user("link-borrower", password="pw-link-borrower-1")
    RoleGrant.objects.create(user=other, role="viewer", namespace=str(fleet["b"]))
    client.force_login(other)
    assert "This listing expired" in _get(client, following.urlencode())
