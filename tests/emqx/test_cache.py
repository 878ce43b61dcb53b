"""The shared watch cache: one LIST+WATCH per kind, reads that cost the API server nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from emqx.cache import Informer
from emqx.client.clientset import Clientset
from emqx.models.apps_v2beta1 import EMQX
from emqx.store import MemoryStore, SqliteStore, Store
from sandbox import Sandbox
from tests import factories
from tests.support import eventually


@pytest.fixture(params=["memory", "sqlite"])
def informer(request: pytest.FixtureRequest, clientset: Clientset, tmp_path: Path) -> Iterator[Informer[EMQX]]:
    """An informer of every EMQX, keeping them in memory or in a SQLite file (emqx.store): each test of the
    cache runs against both."""
    store: Store[EMQX] = (
        MemoryStore()
        if request.param == "memory"
        else SqliteStore(tmp_path / "store.sqlite3", cluster="sandbox", kind="EMQX", model=EMQX, columns=summary)
    )
    inf = Informer(clientset.apps_v2beta1.emqxes(None), store=store).start()
    assert inf.wait_for_sync(15)
    yield inf
    inf.stop()
    store.close()


def summary(obj: EMQX) -> dict[str, str]:
    """Summary columns as a caller (the console) would give them: the image, and whether the model fits."""
    return {"image": getattr(obj.spec, "image", None) or "", "understood": "no" if obj.problems else "yes"}


def test_it_holds_objects_that_existed_before_it_started(clientset: Clientset, namespace: str) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("before", namespace=namespace))
    inf = Informer(clientset.apps_v2beta1.emqxes(None)).start()
    try:
        assert inf.wait_for_sync(15)
        cached = inf.get(namespace, "before")
        assert cached is not None and cached.spec.image == factories.EMQX5_IMAGE
    finally:
        inf.stop()


def test_it_sees_creation_change_and_deletion(clientset: Clientset, informer: Informer[EMQX], namespace: str) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(factories.emqx("live", namespace=namespace))
    eventually(lambda: informer.get(namespace, "live") is not None)

    emqxes.patch("live", {"spec": {"image": "emqx/emqx:5.7.0"}})
    eventually(lambda: informer.get(namespace, "live").spec.image == "emqx/emqx:5.7.0")  # type: ignore[union-attr]

    emqxes.delete("live")
    eventually(lambda: informer.get(namespace, "live") is None)
    assert [o.metadata.name for o in informer.list(namespace)] == []


def test_it_keeps_who_wrote_through_which_version_but_not_the_field_sets(
    clientset: Clientset, informer: Informer[EMQX], namespace: str
) -> None:
    clientset.apps_v2alpha1.emqxes(namespace).create(factories.emqx_v2alpha1("old-writer", namespace=namespace))
    clientset.apps_v2beta1.emqxes(namespace).patch("old-writer", {"metadata": {"labels": {"tier": "edge"}}})
    eventually(lambda: getattr(informer.get(namespace, "old-writer"), "metadata", None) is not None)
    eventually(lambda: informer.get(namespace, "old-writer").metadata.labels == {"tier": "edge"})  # type: ignore[union-attr]
    cached = informer.get(namespace, "old-writer")
    assert cached is not None and cached.metadata.managed_fields is not None
    live = clientset.apps_v2beta1.emqxes(namespace).get("old-writer")
    assert live.metadata.managed_fields is not None
    assert [(e.manager, e.api_version, sorted(e.fields_v1 or {})) for e in cached.metadata.managed_fields] == [
        (e.manager, e.api_version, sorted(e.fields_v1 or {})) for e in live.metadata.managed_fields
    ], "every writer and its version is kept, with the top-level parts it owns"
    assert [v for e in cached.metadata.managed_fields for v in (e.fields_v1 or {}).values() if v] == [], "no field sets"
    assert any((e.fields_v1 or {}).get("f:spec") for e in live.metadata.managed_fields)
    # The label patch came later, through v2beta1, but owns no part of the spec.
    assert cached.metadata.spec_api_version() == "v2alpha1"


def test_reading_the_cache_costs_the_api_server_no_request(
    sandbox: Sandbox, clientset: Clientset, informer: Informer[EMQX], namespace: str
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("quiet", namespace=namespace))
    eventually(lambda: informer.get(namespace, "quiet") is not None)
    before = sandbox.requests_served("emqxes")
    for _ in range(500):
        assert informer.get(namespace, "quiet") is not None
        informer.list(namespace)
    assert sandbox.requests_served("emqxes") == before


def test_generation_moves_only_when_something_changed(
    clientset: Clientset, informer: Informer[EMQX], namespace: str
) -> None:
    start = informer.state().generation
    assert informer.wait_for_change(start, timeout=0.3) == start
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("mover", namespace=namespace))
    assert informer.wait_for_change(start, timeout=15) > start


def test_an_outage_keeps_the_last_known_state_and_recovers(
    sandbox: Sandbox, clientset: Clientset, informer: Informer[EMQX], namespace: str
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    emqxes.create(factories.emqx("steady", namespace=namespace))
    eventually(lambda: informer.get(namespace, "steady") is not None)
    with sandbox.outage():
        eventually(lambda: not informer.state().healthy)
        state = informer.state()
        assert state.error_kind == "unreachable"
        assert re.search(r"refused|unreachable|connect", state.error, re.I)
        assert informer.get(namespace, "steady") is not None  # last known state kept
    eventually(lambda: informer.state().healthy, timeout=30)
    emqxes.create(factories.emqx("after", namespace=namespace))
    eventually(lambda: informer.get(namespace, "after") is not None)


def test_an_object_that_does_not_fit_the_model_is_kept_as_not_understood(
    clientset: Clientset, informer: Informer[EMQX], namespace: str
) -> None:
    """v2alpha1 lets an EMQX be stored without an image, which v2beta1 requires: a watch of
    v2beta1 must go on with the others, keep that object (not understood, with the reason) and
    say which it is."""
    odd = {"apiVersion": "apps.emqx.io/v2alpha1", "kind": "EMQX", "metadata": {"name": "odd"}, "spec": {}}
    clientset.apps_v2alpha1.emqxes(namespace).create(odd)
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("fine", namespace=namespace))
    eventually(lambda: informer.get(namespace, "fine") is not None)
    eventually(lambda: (namespace, "odd") in informer.invalid())
    kept = informer.get(namespace, "odd")
    assert kept is not None and kept.problems == ("spec.image: Field required",)
    assert "image" not in kept.to_dict()["spec"]  # the document as stored
    assert "image" in informer.invalid()[(namespace, "odd")]
    assert informer.state().healthy

    # A fresh cache (a console restart) lists past it too.
    fresh = Informer(clientset.apps_v2beta1.emqxes(None)).start()
    try:
        assert fresh.wait_for_sync(15)
        assert fresh.get(namespace, "fine") is not None and (namespace, "odd") in fresh.invalid()
    finally:
        fresh.stop()
        # The sandbox is shared by the session: leave no unreadable object for other tests.
        clientset.apps_v2alpha1.emqxes(namespace).delete("odd")


def test_during_an_outage_it_never_claims_to_be_healthy(
    sandbox: Sandbox, clientset: Clientset, informer: Informer[EMQX]
) -> None:
    with sandbox.outage():
        eventually(lambda: not informer.state().healthy)
        before = informer.state().generation
        # Every health flip bumps the generation: across several retries (backoff 0.2, 0.4,
        # 0.8, 1.6 s) it must not move, nor may the cache look healthy.
        assert informer.wait_for_change(before, timeout=3.5) == before
        assert not informer.state().healthy
    eventually(lambda: informer.state().healthy, timeout=30)


def test_a_writer_reads_its_own_write_at_once_and_never_an_older_one(
    clientset: Clientset, informer: Informer[EMQX], namespace: str
) -> None:
    """What the console's save does (console/views/edit.py): observe() the server's answer, forget() a delete."""
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    created = emqxes.create(factories.emqx("mine", namespace=namespace))
    informer.observe(created)
    assert informer.get(namespace, "mine") is not None  # at once, whether or not the watch event is in

    changed = emqxes.patch("mine", {"spec": {"image": "emqx/emqx:5.7.0"}})
    informer.observe(changed)
    informer.observe(created)  # an older answer arriving late changes nothing
    assert informer.get(namespace, "mine").spec.image == "emqx/emqx:5.7.0"  # type: ignore[union-attr]

    emqxes.delete("mine")
    informer.forget(namespace, "mine")
    assert informer.get(namespace, "mine") is None
