"""EmqxBroker, EmqxEnterprise and Rebalance pages, in whichever version the cluster serves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from console import clusters
from emqx.client.clientset import Clientset
from sandbox import Sandbox
from tests import factories
from tests.support import eventually

pytestmark = pytest.mark.django_db


def _html(client: Client, url: str, **params: str) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_brokers_are_listed_with_version_and_ready_counts(admin: Client, clientset: Clientset, namespace: str) -> None:
    clientset.apps_v1beta4.emqx_brokers(namespace).create(
        factories.emqx_broker("v4-broker", namespace=namespace, image="emqx/emqx:4.4.19", replicas=3)
    )
    url = "/clusters/default/emqxbrokers/"
    eventually(lambda: "v4-broker" in _html(admin, url, namespace=namespace))
    html = _html(admin, url, namespace=namespace)
    assert "4.4.19" in html and "0/3" in html


def test_a_broker_detail_shows_its_running_condition(admin: Client, clientset: Clientset, namespace: str) -> None:
    client = clientset.apps_v1beta4.emqx_enterprises(namespace)
    client.create(factories.emqx_enterprise("ee", namespace=namespace, replicas=3))
    doc = client.get("ee").to_dict()
    doc["status"] = {
        "conditions": [
            {
                "type": "Running",
                "status": "True",
                "reason": "ClusterReady",
                "message": "All resources are ready",
                "lastTransitionTime": "2026-11-26T10:00:00Z",
                "lastUpdateTime": "2026-11-26T10:00:00Z",
            }
        ],
        "replicas": 3,
        "readyReplicas": 3,
    }
    client.update_status(type(client.get("ee")).from_dict(doc))
    url = f"/clusters/default/emqxenterprises/{namespace}/ee/"
    eventually(lambda: "ClusterReady" in _html(admin, url))
    html = _html(admin, url)
    assert "3/3" in html and "apps.emqx.io/v1beta4" in html
    assert admin.get(url + "_status", HTTP_HX_REQUEST="true").status_code == 286


def test_a_rebalance_shows_its_target_and_phase(admin: Client, clientset: Clientset, namespace: str) -> None:
    clientset.apps_v2beta1.rebalances(namespace).create(
        factories.rebalance("rb", namespace=namespace, instance_name="emqx-ee")
    )
    url = "/clusters/default/rebalances/"
    eventually(lambda: "rb" in _html(admin, url, namespace=namespace))
    assert "EMQX emqx-ee" in _html(admin, url, namespace=namespace)
    assert "Connection evict rate" in _html(admin, f"/clusters/default/rebalances/{namespace}/rb/")


def test_a_rebalances_start_and_end_times_are_live(admin: Client, clientset: Clientset, namespace: str) -> None:
    client = clientset.apps_v2beta1.rebalances(namespace)
    client.create(factories.rebalance("timed", namespace=namespace, instance_name="emqx-ee"))
    status = f"/clusters/default/rebalances/{namespace}/timed/_status"
    eventually(lambda: admin.get(status, HTTP_HX_REQUEST="true").status_code == 200)
    doc = client.get("timed").to_dict()
    doc["status"] = {
        "phase": "Completed",
        "startedTime": "2026-11-26T10:00:00Z",
        "completedTime": "2026-11-26T10:05:00Z",
    }
    client.update_status(type(client.get("timed")).from_dict(doc))
    # The status poll carries them (the summary box above it is not polled).
    eventually(lambda: "2026-11-26 10:05:00" in admin.get(status, HTTP_HX_REQUEST="true").content.decode())


def test_an_unknown_kind_in_the_url_is_a_404(admin: Client) -> None:
    assert admin.get("/clusters/default/pods/").status_code == 404


@pytest.fixture
def console_2021(settings: object, sandbox_2021: Sandbox) -> Iterator[Sandbox]:
    settings.CONSOLE_CLUSTERS = [{"name": "legacy", "kubeconfig": str(sandbox_2021.kubeconfig)}]  # type: ignore[attr-defined]
    yield sandbox_2021
    clusters.reset()


def test_a_2021_cluster_shows_its_v1beta1_brokers(admin_client: Client, console_2021: Sandbox) -> None:
    cs = Clientset.from_kubeconfig(console_2021.kubeconfig)
    console_2021.create_namespace("legacy-ns")
    if "old-broker" not in [o.metadata.name for o in cs.apps_v1beta1.emqx_brokers("legacy-ns").list().items]:
        cs.apps_v1beta1.emqx_brokers("legacy-ns").create(
            factories.emqx_broker_v1beta1("old-broker", namespace="legacy-ns", image="emqx/emqx:4.3.10", replicas=3)
        )
    url = "/clusters/legacy/emqxbrokers/"
    eventually(lambda: "old-broker" in _html(admin_client, url))
    assert "4.3.10" in _html(admin_client, url)
    assert "apps.emqx.io/v1beta1" in _html(admin_client, "/clusters/legacy/emqxbrokers/legacy-ns/old-broker/")


def test_a_2021_cluster_without_emqx_v2_says_so_on_the_emqx_page(admin_client: Client, console_2021: Sandbox) -> None:
    html = _html(admin_client, "/clusters/legacy/emqx/")
    assert "does not serve EMQX v3beta1, v2, v2beta1" in html  # the versions the console reads
