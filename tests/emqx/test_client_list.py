"""LIST: typed lists, limit/continue pagination, label and field selectors, all namespaces."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from emqx.client import ALL, Clientset
from emqx.errors import BadRequest
from emqx.models import ResourceList, apps_v2beta1
from emqx.rest import gc_paused
from tests.factories import emqx, unique_name


def test_list_returns_a_typed_list_with_its_resource_version(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    client.create(emqx(name="a"))
    client.create(emqx(name="b"))
    listed = client.list()
    assert isinstance(listed, ResourceList)
    assert listed.kind == "EMQXList"
    assert all(isinstance(item, apps_v2beta1.EMQX) for item in listed.items)
    assert [item.metadata.name for item in listed.items] == ["a", "b"]
    assert listed.metadata.resource_version
    assert not listed.metadata.continue_


def test_an_empty_namespace_lists_no_items(cs: Clientset, namespace: str) -> None:
    assert cs.apps_v2beta1.emqxes(namespace).list().items == []


def test_limit_and_continue_walk_every_page_once(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    names = sorted(f"page-{i}" for i in range(7))
    for name in names:
        client.create(emqx(name=name))

    first = client.list(limit=3)
    assert len(first.items) == 3
    assert first.metadata.continue_
    assert first.metadata.remaining_item_count == 4

    seen = [item.metadata.name for item in first.items]
    token = first.metadata.continue_
    pages = 1
    while token:
        page = client.list(limit=3, continue_=token)
        seen += [item.metadata.name for item in page.items]
        token = page.metadata.continue_
        pages += 1
    assert pages == 3
    assert seen == names


def test_iterate_follows_continue_tokens(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    for i in range(5):
        client.create(emqx(name=f"it-{i}"))
    assert [o.metadata.name for o in client.iterate(page_size=2)] == [f"it-{i}" for i in range(5)]


def test_pages_keep_the_snapshot_of_the_first_page(cs: Clientset, namespace: str) -> None:
    # A continue token pins the list to the first page's resourceVersion: objects created
    # between pages do not show up, so a paginated list is one consistent snapshot.
    client = cs.apps_v2beta1.emqxes(namespace)
    for name in ("snap-a", "snap-b"):
        client.create(emqx(name=name))
    first = client.list(limit=1)
    client.create(emqx(name="snap-c"))
    rest = client.list(limit=10, continue_=first.metadata.continue_)
    assert [o.metadata.name for o in first.items + rest.items] == ["snap-a", "snap-b"]


def test_label_selector_as_a_string_or_a_mapping(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    client.create(emqx(name="prod-edge", labels={"env": "prod", "tier": "edge"}))
    client.create(emqx(name="prod-core", labels={"env": "prod", "tier": "core"}))
    client.create(emqx(name="dev-edge", labels={"env": "dev", "tier": "edge"}))

    def names(**kwargs: object) -> list[str]:
        return [o.metadata.name for o in client.list(**kwargs).items]  # type: ignore[arg-type]

    assert names(label_selector={"env": "prod", "tier": "edge"}) == ["prod-edge"]
    assert names(label_selector="env=prod") == ["prod-core", "prod-edge"]
    assert names(label_selector="tier!=edge") == ["prod-core"]
    assert names(label_selector="env in (dev),tier=edge") == ["dev-edge"]
    assert names(label_selector="!missing") == ["dev-edge", "prod-core", "prod-edge"]


def test_a_malformed_label_selector_is_a_bad_request(cs: Clientset, namespace: str) -> None:
    with pytest.raises(BadRequest):
        cs.apps_v2beta1.emqxes(namespace).list(label_selector="env in (")


def test_field_selector_on_name_and_namespace(cs: Clientset, namespace: str, sandbox) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    client.create(emqx(name="wanted"))
    client.create(emqx(name="other"))
    assert [o.metadata.name for o in client.list(field_selector="metadata.name=wanted").items] == ["wanted"]
    assert [o.metadata.name for o in client.list(field_selector={"metadata.name": "other"}).items] == ["other"]
    everywhere = cs.apps_v2beta1.emqxes(ALL).list(field_selector=f"metadata.namespace={namespace}")
    assert sorted(o.metadata.name for o in everywhere.items) == ["other", "wanted"]


def test_an_all_namespaces_client_lists_across_namespaces(cs: Clientset, namespace: str, sandbox) -> None:
    second = f"{namespace[:50]}-two"
    sandbox.create_namespace(second)
    marker = unique_name("marker")
    cs.apps_v2beta1.emqxes(namespace).create(emqx(name="one", labels={"marker": marker}))
    cs.apps_v2beta1.emqxes(second).create(emqx(name="two", labels={"marker": marker}))
    listed = cs.apps_v2beta1.emqxes(None).list(label_selector={"marker": marker})
    assert sorted((o.metadata.namespace, o.metadata.name) for o in listed.items) == [
        (namespace, "one"),
        (second, "two"),
    ]


def test_list_all_gathers_every_page_under_the_first_pages_resource_version(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    for i in range(5):
        client.create(emqx(name=f"all-{i}"))
    everything = client.list_all(page_size=2)
    assert [o.metadata.name for o in everything.items] == [f"all-{i}" for i in range(5)]
    assert everything.kind == "EMQXList"
    assert everything.metadata.resource_version
    assert everything.to_dict()["metadata"] == {"resourceVersion": everything.metadata.resource_version}
    # a watch from there replays nothing that the list already holds
    with client.watch(resource_version=everything.metadata.resource_version, timeout_seconds=1) as watch:
        assert [e for e in watch if e.type != "BOOKMARK"] == []


def test_list_pages_hand_out_one_page_at_a_time_from_one_snapshot(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    for i in range(5):
        client.create(emqx(name=f"paged-{i}"))
    pages = client.list_pages(page_size=2, first_page_size=1)
    first = next(pages)
    client.create(emqx(name="paged-late"))  # after the snapshot: not in any page of this LIST
    rest = list(pages)
    assert [[o.metadata.name for o in p.items] for p in [first, *rest]] == [
        ["paged-0"],
        ["paged-1", "paged-2"],
        ["paged-3", "paged-4"],
    ]
    assert all(p.metadata.resource_version == first.metadata.resource_version for p in rest)


@pytest.fixture
def thousand(cs: Clientset, namespace: str) -> Iterator[None]:
    """1,000 EMQX in the test's namespace, deleted afterwards: left in the session's cluster, every
    later watch cache (and every all-namespaces list) of any test would load them."""
    client = cs.apps_v2beta1.emqxes(namespace)
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: client.create(emqx(name=f"many-{i:04d}", core_replicas=3)), range(1000)))
        yield
    finally:
        client.delete_collection()
        assert client.list().items == []


def test_a_list_of_1000_emqx_arrives_in_one_request_decoded_once(cs: Clientset, namespace: str, thousand: None) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    opened = cs.transport.connections_opened

    began = time.perf_counter()
    listed = client.list()
    elapsed = time.perf_counter() - began

    assert len(listed.items) == 1000
    assert not listed.metadata.continue_
    assert all(isinstance(o, apps_v2beta1.EMQX) for o in listed.items)
    assert listed.items[999].spec.core_template.spec.replicas == 3
    assert cs.transport.connections_opened == opened  # the pooled connection was reused
    # ~0.3 s on an idle 2-core machine (6 MB with managedFields); the bound only catches
    # a decode that went quadratic or per item.
    assert elapsed < 15, elapsed


def test_gc_pause_nests_and_restores_the_collector_as_it_was() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pauser is still decoding
    assert gc.isenabled()

    gc.disable()  # an application that runs without the collector keeps it off
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_large_list_leaves_the_collector_enabled(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    blob = "x" * 200_000  # annotations may hold 256 KiB; two objects pass the pause threshold
    for name in ("big-1", "big-2"):
        client.create(emqx(name=name, annotations={"blob": blob}))
    assert [o.metadata.annotations for o in client.list().items] == [{"blob": blob}] * 2
    assert gc.isenabled()
