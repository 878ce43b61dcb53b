"""None of the CRDs requires a spec, so the API server stores a custom resource without one
(``kubectl apply`` of a bare manifest). One such object must not break any page, for anyone."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from emqx.client.clientset import Clientset
from emqx.models import apps_v1beta4, apps_v2beta1
from sandbox.operator import Simulator
from tests.support import eventually

pytestmark = pytest.mark.django_db

BARE = {"metadata": {"name": "bare"}}


@pytest.fixture
def bare(clientset: Clientset, namespace: str, console_cluster: Any) -> str:
    clientset.apps_v2beta1.emqxes(namespace).create(apps_v2beta1.EMQX.from_dict(BARE))
    clientset.apps_v1beta4.emqx_brokers(namespace).create(apps_v1beta4.EmqxBroker.from_dict(BARE))
    clientset.apps_v1beta4.emqx_enterprises(namespace).create(apps_v1beta4.EmqxEnterprise.from_dict(BARE))
    clientset.apps_v2beta1.rebalances(namespace).create(apps_v2beta1.Rebalance.from_dict(BARE))
    for kind in ("EMQX", "EmqxBroker", "EmqxEnterprise", "Rebalance"):
        cache = console_cluster.cache("EMQX") if kind == "EMQX" else console_cluster.cache(kind)
        eventually(lambda c=cache: c.get(namespace, "bare") is not None)
    return namespace


def test_an_instance_without_a_spec_breaks_no_page(admin: Client, bare: str) -> None:
    ns = bare
    pages = [
        f"/clusters/default/emqx/?namespace={ns}",
        f"/clusters/default/emqx/?namespace={ns}&source=api",
        f"/clusters/default/emqx/{ns}/bare/",
        f"/clusters/default/emqx/{ns}/bare/_status",
        f"/clusters/default/emqx/{ns}/bare/change/",
        f"/clusters/default/emqx/{ns}/bare/change/?mode=yaml",
        f"/clusters/default/emqx/{ns}/bare/delete/",
        f"/clusters/default/emqx/{ns}/bare/timeline/",
        "/clusters/default/",
        "/dashboard/",
    ]
    for kind in ("emqxbrokers", "emqxenterprises", "rebalances"):
        pages += [f"/clusters/default/{kind}/?namespace={ns}", f"/clusters/default/{kind}/{ns}/bare/"]
        pages.append(f"/clusters/default/{kind}/{ns}/bare/_status")
    for url in pages:
        assert admin.get(url).status_code in (200, 286), url
    listed = admin.get(f"/clusters/default/emqx/?namespace={ns}").content.decode()
    assert f"/clusters/default/emqx/{ns}/bare/" in listed


def test_the_simulated_operator_gets_past_an_object_without_a_spec(clientset: Clientset, bare: str) -> None:
    sim = Simulator(clientset, pace=0.05, namespace=bare)
    for kind in ("EMQX", "EmqxBroker", "EmqxEnterprise", "Rebalance"):
        sim.reconcile_object(kind, bare, "bare")  # no exception: the operator would report, not crash
