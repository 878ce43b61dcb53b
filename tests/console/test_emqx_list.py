"""The EMQX list page: what an operator sees across namespaces, filtered and sorted."""

from __future__ import annotations

import re
import secrets
import time

import pytest
from django.test import Client

from console import clusters
from console.registry import site
from emqx.client.clientset import Clientset
from sandbox import Sandbox
from tests import factories
from tests.support import eventually

pytestmark = pytest.mark.django_db


def _page(client: Client, **params: str) -> str:
    response = client.get("/clusters/default/emqx/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_it_requires_login(client: Client, console_cluster: clusters.Cluster) -> None:
    response = client.get("/clusters/default/emqx/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_an_unknown_cluster_is_a_404(admin: Client) -> None:
    assert admin.get("/clusters/nowhere/emqx/").status_code == 404


def test_it_lists_instances_of_every_namespace_with_state_version_and_counts(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(factories.emqx("alpha", namespace=namespace, image="emqx/emqx:5.8.6", core_replicas=3))
    emqxes.create(factories.emqx("beta", namespace=namespace, image="emqx/emqx:5.7.2", replicant_replicas=2))
    eventually(lambda: "beta" in _page(admin, namespace=namespace))
    html = _page(admin, namespace=namespace)
    assert "alpha" in html and "5.8.6" in html and "0/3" in html
    assert "5.7.2" in html and "0/2" in html
    assert f"/clusters/default/emqx/{namespace}/alpha/" in html
    assert "2 EMQX instances" in html


def test_search_by_name_and_label_selector_narrow_the_list(admin: Client, clientset: Clientset, namespace: str) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(factories.emqx("eu-broker", namespace=namespace, labels={"tier": "gold"}))
    emqxes.create(factories.emqx("us-broker", namespace=namespace, labels={"tier": "silver"}))
    eventually(lambda: "us-broker" in _page(admin, namespace=namespace))
    found = _page(admin, namespace=namespace, q="eu")
    assert "eu-broker" in found and "us-broker" not in found
    gold = _page(admin, namespace=namespace, labels="tier in (gold)")
    assert "eu-broker" in gold and "us-broker" not in gold
    not_gold = _page(admin, namespace=namespace, labels="tier!=gold")
    assert "us-broker" in not_gold and "eu-broker" not in not_gold


def test_a_malformed_label_selector_is_a_field_error_not_a_failure(admin: Client, namespace: str) -> None:
    html = _page(admin, namespace=namespace, labels="tier in (gold")
    assert "field-labels" in html
    assert "Not a label selector" in html


def test_sorting_by_name_descending(admin: Client, clientset: Clientset, namespace: str) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    for name in ("aaa", "bbb", "ccc"):
        emqxes.create(factories.emqx(name, namespace=namespace))
    eventually(lambda: "ccc" in _page(admin, namespace=namespace))
    html = _page(admin, namespace=namespace, sort="-name")
    assert html.index(">ccc<") < html.index(">bbb<") < html.index(">aaa<")
    # The header says so and offers the other way round; every sortable column is a link.
    assert re.search(r'<a href="\?[^"]*sort=name[^"]*">Name', html), "the Name header sorts the cached list"
    assert re.search(r'<a href="\?[^"]*sort=[-]?version[^"]*">Version', html)


# Four instances whose values put them in a different order in each sortable column and
# direction. States sort by name (Pending: no status yet, Progressing, Ready), ties by namespace
# and name; the age's order is the newest first.
SORTED = {
    "name": ["alpha", "bravo", "charlie", "delta"],
    "namespace": ["charlie", "delta", "alpha", "bravo"],  # the test's namespace, then "<it>-b"
    "version": ["delta", "bravo", "alpha", "charlie"],  # 5.8.4, 5.8.5, 5.8.6, 5.8.7
    "state": ["bravo", "alpha", "charlie", "delta"],  # Pending, Progressing, Ready, Ready
    "age": ["bravo", "delta", "alpha", "charlie"],  # created last ... first
}


def test_every_sortable_column_sorts_both_ways(
    admin: Client, clientset: Clientset, namespace: str, sandbox: Sandbox
) -> None:
    from tests.console.test_dashboard import READY_TYPES, ROLLING, emqx_status

    token = f"srt{secrets.token_hex(3)}"
    other = f"{namespace}-b"
    sandbox.create_namespace(other)
    made = {"charlie": (namespace, "5.8.7"), "alpha": (other, "5.8.6"), "delta": (namespace, "5.8.4")}
    made["bravo"] = (other, "5.8.5")
    for i, (name, (ns, version)) in enumerate(made.items()):  # in this order, a second apart: the ages
        if i:
            time.sleep(1.1)  # creationTimestamp has whole seconds
        emqx = factories.emqx(f"{token}-{name}", namespace=ns, image=f"emqx/emqx:{version}")
        clientset.apps_v2beta1.emqxes(ns).create(emqx)
    emqx_status(clientset, other, f"{token}-alpha", ROLLING, ready=0)
    emqx_status(clientset, namespace, f"{token}-charlie", READY_TYPES)
    emqx_status(clientset, namespace, f"{token}-delta", READY_TYPES)

    def rows(**params: str) -> list[str]:
        html = _page(admin, q=token, **params)
        return [name.removeprefix(f"{token}-") for name in re.findall(rf">({token}-\w+)</a>", html)]

    eventually(lambda: rows(sort="state") == SORTED["state"])
    sortable = [col.key for col in site.for_kind("EMQX").list_display if col.sortable]
    assert sorted(sortable) == sorted(SORTED)  # each sortable column is tried below
    for key in sortable:
        assert rows(sort=key) == SORTED[key], key
        assert rows(sort=f"-{key}") == SORTED[key][::-1], f"-{key}"
    # The node counts are not sortable: no link in their headers, and a sort by them is ignored.
    html = _page(admin, q=token)
    assert re.search(r'<th scope="col">Core ready</th>', html) and "sort=core" not in html
    assert rows(sort="core") == rows()  # the invalid sort is dropped, the search is kept
    assert "field-sort" in _page(admin, q=token, sort="core")


def test_an_empty_namespace_says_what_to_do(admin: Client, namespace: str) -> None:
    html = _page(admin, namespace=namespace)
    assert f"No EMQX instances in namespace {namespace} yet" in html
    assert "kubectl apply" in html


def test_markup_in_labels_is_shown_escaped(admin: Client, clientset: Clientset, namespace: str) -> None:
    # Label values cannot hold markup, but names of namespaces and search text can come back in the page.
    html = _page(admin, namespace=namespace, q="<script>alert(1)</script>")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_list_polls_its_rows_which_render_alone(admin: Client, clientset: Clientset, namespace: str) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("polled", namespace=namespace))
    html = _page(admin, namespace=namespace)
    assert 'hx-trigger="every 5s" data-pause-hidden' in html  # paused while hidden: static/console/live.js
    rows = admin.get("/clusters/default/emqx/_rows", {"namespace": namespace}, HTTP_HX_REQUEST="true")
    assert rows.status_code == 200
    assert "polled" in rows.content.decode()
    assert "<html" not in rows.content.decode()


def test_a_cluster_down_shows_a_banner_and_the_last_known_list(
    admin: Client, clientset: Clientset, namespace: str, sandbox: object
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("remembered", namespace=namespace))
    eventually(lambda: "remembered" in _page(admin, namespace=namespace))
    with sandbox.outage():  # type: ignore[attr-defined]
        eventually(lambda: "is unreachable" in _page(admin, namespace=namespace))
        html = _page(admin, namespace=namespace)
        assert "remembered" in html
        assert "Showing the last known state" in html
    eventually(lambda: "is unreachable" not in _page(admin, namespace=namespace), timeout=30)


def test_a_cluster_that_was_never_reached_shows_a_banner_not_an_error(
    admin_client: Client, settings: object, tmp_path: object
) -> None:
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": "/nonexistent/kubeconfig"}]  # type: ignore[attr-defined]
    try:
        response = admin_client.get("/clusters/default/emqx/")
        assert response.status_code == 200
        assert "Cannot use cluster default" in response.content.decode()
        assert "no kubeconfig found" in response.content.decode()
    finally:
        clusters.reset()
