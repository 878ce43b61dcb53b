"""Discovery: which versions of each kind a cluster serves and which to use, on today's CRDs
and on a 2021 cluster (EmqxBroker/EmqxEnterprise v1beta1 only)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from emqx.client import Clientset
from emqx.discovery import KNOWN_KINDS, version_priority_key
from emqx.errors import ClusterUnreachable, UnknownKind
from emqx.models import apps_v1beta1, apps_v1beta4, apps_v2beta1
from sandbox.cluster import free_port
from tests.factories import emqx_broker_v1beta1

# ----- version priority (no cluster) ------------------------------------------------------


def test_versions_sort_in_kubernetes_priority_order() -> None:
    expected = ["v2", "v1", "v2beta1", "v1beta4", "v1beta3", "v1beta1", "v2alpha1", "v1alpha1", "foo", "zeta"]
    shuffled = expected[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=version_priority_key) == expected


def test_a_beta_outranks_a_newer_major_alpha() -> None:
    assert sorted(["v2alpha1", "v1beta4"], key=version_priority_key) == ["v1beta4", "v2alpha1"]


# ----- today's cluster ---------------------------------------------------------------------


def test_the_current_cluster_serves_every_kind_in_its_versions(cs: Clientset) -> None:
    kinds = cs.discovery.kinds()
    assert set(KNOWN_KINDS) <= set(kinds)
    assert kinds["EMQX"].versions == ("v2beta1", "v2alpha1")
    assert kinds["EmqxBroker"].versions == ("v1beta4", "v1beta3")
    assert kinds["EmqxEnterprise"].versions == ("v1beta4", "v1beta3")
    assert kinds["Rebalance"].versions == ("v2beta1", "v1beta4")
    assert kinds["EmqxPlugin"].versions == ("v1beta4", "v1beta3")
    assert cs.discovery.preferred_group_version == "v2beta1"


def test_the_preferred_version_is_the_storage_version(cs: Clientset) -> None:
    assert cs.discovery.preferred_version("EMQX") == "v2beta1"
    assert cs.discovery.preferred_version("EmqxBroker") == "v1beta4"
    assert cs.discovery.preferred_version("Rebalance") == "v2beta1"
    emqx_kind = cs.discovery.kind("EMQX")
    assert emqx_kind.storage_version == "v2beta1"
    assert emqx_kind.deprecated_versions == frozenset({"v2alpha1"})


def test_discovery_reports_plural_scope_and_subresources(cs: Clientset) -> None:
    broker = cs.discovery.kind("EmqxBroker")
    assert broker.plural == "emqxbrokers"
    assert broker.namespaced
    assert broker.subresources == frozenset({"status", "scale"})
    assert cs.discovery.kind("EMQX").short_names == ("emqx",)
    assert "watch" in broker.verbs


def test_without_rights_on_crds_the_preferred_version_is_the_highest_priority(sandbox) -> None:
    # Every authenticated user may read discovery, not CustomResourceDefinitions.
    with Clientset.from_kubeconfig(sandbox.user_kubeconfig("discoverer")) as cs:
        broker = cs.discovery.kind("EmqxBroker")
        assert broker.storage_version is None
        assert broker.preferred_version == "v1beta4"
        assert cs.discovery.preferred_version("EMQX") == "v2beta1"


def test_for_kind_picks_the_best_served_version_with_a_model(cs: Clientset, namespace: str) -> None:
    assert cs.for_kind("EMQX", namespace).resource is apps_v2beta1.EMQX
    assert cs.for_kind("EmqxBroker", namespace).resource is apps_v1beta4.EmqxBroker
    assert cs.for_kind("EmqxBroker", namespace, version="v1beta4").resource is apps_v1beta4.EmqxBroker


def test_an_unknown_kind_is_an_unknown_kind_error(cs: Clientset) -> None:
    with pytest.raises(UnknownKind, match="unknown kind 'Mosquitto'"):
        cs.discovery.kind("Mosquitto")


# ----- the 2021 cluster ----------------------------------------------------------------------


@pytest.fixture
def cs_2021(sandbox_2021) -> Iterator[Clientset]:
    with Clientset.from_kubeconfig(sandbox_2021.kubeconfig) as clientset:
        yield clientset


def test_a_2021_cluster_serves_brokers_in_v1beta1_only(cs_2021: Clientset) -> None:
    d = cs_2021.discovery
    assert d.versions == ("v1beta1",)
    assert d.kind("EmqxBroker").versions == ("v1beta1",)
    assert d.preferred_version("EmqxBroker") == "v1beta1"
    assert d.preferred_version("EmqxEnterprise") == "v1beta1"
    assert d.kind("EmqxBroker").short_names == ("emqx",)


def test_a_2021_cluster_does_not_serve_emqx_or_rebalance(cs_2021: Clientset) -> None:
    assert not cs_2021.discovery.kind("EMQX").served
    assert cs_2021.discovery.preferred_version("EMQX") is None
    assert not cs_2021.discovery.kind("Rebalance").served
    with pytest.raises(UnknownKind, match="serves EMQX in no version"):
        cs_2021.for_kind("EMQX", "default")


def test_on_a_2021_cluster_for_kind_gives_the_v1beta1_client_that_works(cs_2021: Clientset, sandbox_2021) -> None:
    sandbox_2021.create_namespace("discovery-2021")
    client = cs_2021.for_kind("EmqxBroker", "discovery-2021")
    assert client.resource is apps_v1beta1.EmqxBroker
    created = client.create(emqx_broker_v1beta1(name="seed", replicas=3))
    assert created.spec.replicas == 3
    assert [o.metadata.name for o in client.list().items] == ["seed"]


def test_discovery_is_cached_until_refresh(cs_2021: Clientset) -> None:
    before = cs_2021.discovery.group()
    assert cs_2021.discovery.group() is before  # cached
    assert cs_2021.discovery.refresh() is not before


@pytest.mark.parametrize(("bundle", "line"), [("2.2", "2.2"), ("2021", "1.0"), ("2.3", "2.3"), ("3.0", "3.0")])
def test_the_operator_line_is_told_by_what_the_cluster_serves(
    bundle: str, line: str, request: pytest.FixtureRequest
) -> None:
    from tests.conftest import SANDBOX_OF_BUNDLE

    sb = request.getfixturevalue(SANDBOX_OF_BUNDLE[bundle])
    with Clientset.from_kubeconfig(sb.kubeconfig) as fresh:
        assert fresh.discovery.operator_line() is None  # nothing discovered yet, and it asks nothing
        fresh.discovery.group()
        assert fresh.discovery.operator_line() == line


# ----- many callers at once (a console starting every kind's cache of a cluster together) ---------


def _at_once(callers: int, call: Callable[[], object]) -> list[object]:
    """``call`` from ``callers`` threads released together; each thread's result or exception."""
    start = threading.Barrier(callers)

    def one(_: int) -> object:
        start.wait()
        try:
            return call()
        except Exception as error:
            return error

    with ThreadPoolExecutor(callers) as pool:
        return list(pool.map(one, range(callers)))


def test_kinds_asked_at_once_share_one_discovery(sandbox) -> None:
    served = sum(1 for k in KNOWN_KINDS if k != "EMQXAPIKey")  # the 2.2 bundle: a CRD read per served kind
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        before = sandbox.requests_served("customresourcedefinitions")
        answers = _at_once(8, lambda: cs.discovery.group())
        crd_reads = sandbox.requests_served("customresourcedefinitions") - before
    assert all(a is answers[0] for a in answers)  # one answer, shared
    assert crd_reads == served  # one discovery's reads, not eight


def test_callers_waiting_on_a_discovery_that_fails_get_its_error_and_the_next_call_asks_again(
    tmp_path: Path,
) -> None:
    kubeconfig = tmp_path / "dead.kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "dead", "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
                "current-context": "dead",
            }
        )
    )
    with Clientset.from_kubeconfig(kubeconfig) as cs:
        answers = _at_once(4, lambda: cs.discovery.group())
        assert all(isinstance(a, ClusterUnreachable) for a in answers), answers
        with pytest.raises(ClusterUnreachable):  # not a remembered failure: asked again
            cs.discovery.group()
        assert cs.discovery.cached() is None
