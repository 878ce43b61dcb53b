"""The Rebalance wizard (issue 17, part 5): "Rebalance…" on an EMQX Enterprise's page opens the
Rebalance add form for it, prefilled with the operator's strategy defaults and their bounds; the
Rebalance is created (audited), its phase and node states are followed live on its page until
Completed (the simulator plays operator 2.2), "Stop…" deletes a running one after a confirmation
(audited), and the instance's page lists its past Rebalances. Not offered for an open-source EMQX,
nor on operator 3.0, which serves no Rebalance."""

from __future__ import annotations

import html as htmllib
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from console import clusters
from console.models import AuditEntry
from emqx.client.clientset import Clientset
from emqx.client.resource import ResourceClient
from emqx.models import apps_v2beta1, apps_v3beta1
from sandbox import Sandbox
from sandbox.operator import Simulator
from tests import factories
from tests.support import eventually, form_data

pytestmark = pytest.mark.django_db

ENTERPRISE = "emqx/emqx-enterprise:5.8.6"


class Instance:
    """An EMQX made Ready by the simulator in the test's namespace, and what acts on it."""

    def __init__(self, clientset: Clientset, namespace: str, name: str, image: str) -> None:
        self.namespace, self.name = namespace, name
        self.emqxes = clientset.apps_v2beta1.emqxes(namespace)
        self.rebalances: ResourceClient[apps_v2beta1.Rebalance] = clientset.apps_v2beta1.rebalances(namespace)
        self.sim = Simulator(clientset, pace=0.01, namespace=namespace)
        self.emqxes.create(
            factories.emqx(name, namespace=namespace, image=image, core_replicas=1, replicant_replicas=2)
        )
        for _ in range(40):
            if _ready(self.emqxes.get(name)):
                break
            self.sim.reconcile_object("EMQX", namespace, name)
        assert _ready(self.emqxes.get(name))

    @property
    def page(self) -> str:
        return f"/clusters/default/emqx/{self.namespace}/{self.name}/"


def _ready(obj: apps_v2beta1.EMQX) -> bool:
    conditions = obj.status.conditions if obj.status else None
    return next((c.type for c in conditions or [] if c.status == "True"), None) == "Ready"


@pytest.fixture
def enterprise(admin: Client, clientset: Clientset, namespace: str) -> Iterator[Instance]:
    yield Instance(clientset, namespace, "ee", ENTERPRISE)


def _seen(kind: str, namespace: str, name: str, check: Any = lambda obj: obj is not None) -> None:
    """Wait until the console's cache shows what the test wrote (pages read the cache)."""
    cluster = clusters.get_cluster("default")
    assert cluster is not None
    eventually(lambda: check(cluster.cache(kind).get(namespace, name)))


def _wizard_link(html: str) -> str:
    found = re.search(r'<a href="([^"]+)" id="rebalance-link"', html)
    assert found is not None, "no Rebalance… link"
    return htmllib.unescape(found.group(1))


def _start(admin: Client, instance: Instance, **changes: str) -> Any:
    """Open the wizard from the instance's page and submit it (with ``changes`` to its fields)."""
    link = _wizard_link(admin.get(instance.page).content.decode())
    data = form_data(admin.get(link).content.decode(), "rebalances-form")
    data.update(changes)
    return admin.post(link.split("?")[0], data)


def test_an_enterprise_instance_offers_the_wizard_prefilled_with_the_operators_defaults(
    admin: Client, enterprise: Instance
) -> None:
    _seen("EMQX", enterprise.namespace, "ee")
    form = admin.get(_wizard_link(admin.get(enterprise.page).content.decode()))
    assert form.status_code == 200
    html = form.content.decode()
    data = form_data(html, "rebalances-form")
    assert data["spec.instanceName"] == "ee"
    assert data["metadata.namespace"] == enterprise.namespace
    assert data["metadata.name"].startswith("ee-rebalance-")
    strategy = "spec.rebalanceStrategy"
    assert data[f"{strategy}.sessEvictRate"] == "500"
    assert data[f"{strategy}.waitTakeover"] == "60"
    assert data[f"{strategy}.waitHealthCheck"] == "60"
    assert data[f"{strategy}.absConnThreshold"] == "1000"
    assert data[f"{strategy}.relConnThreshold"] == "1.1"
    assert "At least 1. The operator&#x27;s default: 500." in html or "At least 1. The operator's default: 500." in html
    assert "Greater than 1." in html


def test_out_of_bounds_strategy_values_are_refused_on_their_fields(admin: Client, enterprise: Instance) -> None:
    _seen("EMQX", enterprise.namespace, "ee")
    strategy = "spec.rebalanceStrategy"
    response = _start(
        admin,
        enterprise,
        **{f"{strategy}.connEvictRate": "0", f"{strategy}.waitTakeover": "-1", f"{strategy}.relSessThreshold": "0.9"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    for field in ("connEvictRate", "waitTakeover", "relSessThreshold"):
        assert re.search(rf'id="errors-{re.escape(strategy)}\.{field}"', html), field
    assert enterprise.rebalances.list().items == []


def test_the_wizard_creates_an_audited_rebalance_followed_to_completed_and_listed_on_the_instance(
    admin: Client, enterprise: Instance
) -> None:
    _seen("EMQX", enterprise.namespace, "ee")
    response = _start(admin, enterprise)
    assert response.status_code == 302
    (created,) = enterprise.rebalances.list().items
    name = created.metadata.name or ""
    assert response["Location"] == f"/clusters/default/rebalances/{enterprise.namespace}/{name}/"
    assert created.spec is not None and created.spec.instance_name == "ee"
    assert AuditEntry.objects.filter(kind="Rebalance", name=name, action="create", outcome="success").exists()

    enterprise.sim.reconcile_object("Rebalance", enterprise.namespace, name)
    _seen("Rebalance", enterprise.namespace, name, lambda o: o is not None and o.status and o.status.phase)
    panel = admin.get(f"{response['Location']}_status").content.decode()
    assert 'id="current-state">Processing' in panel
    enterprise.sim.reconcile_object("Rebalance", enterprise.namespace, name)
    rv = enterprise.rebalances.get(name).metadata.resource_version
    _seen("Rebalance", enterprise.namespace, name, lambda o: o.metadata.resource_version == rv)
    panel = admin.get(f"{response['Location']}_status").content.decode()
    assert "<dt>Rebalance state</dt><dd>wait_health_check</dd>" in panel
    assert "<dt>Recipient nodes</dt>" in panel

    for _ in range(10):
        if (enterprise.rebalances.get(name).status or apps_v2beta1.RebalanceStatus()).phase == "Completed":
            break
        enterprise.sim.reconcile_object("Rebalance", enterprise.namespace, name)
    assert (enterprise.rebalances.get(name).status or apps_v2beta1.RebalanceStatus()).phase == "Completed"
    _seen("Rebalance", enterprise.namespace, name, lambda o: o.status.phase == "Completed")
    page = admin.get(f"{response['Location']}").content.decode()
    assert 'id="current-state">Completed' in page
    assert 'id="stop-rebalance"' not in page  # nothing left to stop
    listed = admin.get(enterprise.page).content.decode()
    row = re.search(r'<tr class="rebalance[^"]*">.*?</tr>', listed, re.S)
    assert row is not None and name in row.group(0) and "Completed" in row.group(0)


def test_stop_deletes_a_running_rebalance_after_a_confirmation_and_is_audited(
    admin: Client, enterprise: Instance
) -> None:
    _seen("EMQX", enterprise.namespace, "ee")
    detail = _start(admin, enterprise)["Location"]
    name = detail.rstrip("/").rsplit("/", 1)[1]
    enterprise.sim.reconcile_object("Rebalance", enterprise.namespace, name)
    _seen("Rebalance", enterprise.namespace, name, lambda o: o is not None and o.status and o.status.phase)
    page = admin.get(detail).content.decode()
    stop = re.search(r'<a href="([^"]+)" id="stop-rebalance"', page)
    assert stop is not None
    confirmation = admin.get(stop.group(1)).content.decode()
    assert "It stops the rebalance." in confirmation
    hidden = dict(re.findall(r'<input type="hidden" name="(uid|generation)" value="([^"]*)"', confirmation))
    assert admin.post(stop.group(1), hidden).status_code == 302
    assert enterprise.rebalances.list().items == []
    assert AuditEntry.objects.filter(kind="Rebalance", name=name, action="delete", outcome="success").exists()


@pytest.mark.parametrize(
    ("image", "offered"),
    [("emqx/emqx:5.8.6", False), (ENTERPRISE, True), ("emqx/emqx:5.9.1", True)],
    ids=["open-source-5.8", "enterprise-5.8", "unified-5.9"],
)
def test_the_wizard_is_offered_only_for_an_instance_the_operator_may_rebalance(
    admin: Client, clientset: Clientset, namespace: str, image: str, offered: bool
) -> None:
    instance = Instance(clientset, namespace, "one", image)  # Ready
    _seen("EMQX", namespace, "one", lambda obj: obj is not None and _ready(obj))
    page = admin.get(instance.page).content.decode()
    assert ('id="rebalance-link"' in page) is offered
    assert 'id="rebalances"' in page  # past Rebalances are listed either way
    assert 'id="rebalance-blocked"' not in page


def test_an_instance_not_ready_yet_offers_no_wizard_and_says_why(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("young", namespace=namespace, image=ENTERPRISE))
    _seen("EMQX", namespace, "young")
    page = admin.get(f"/clusters/default/emqx/{namespace}/young/").content.decode()
    assert 'id="rebalance-link"' not in page
    assert "A Rebalance can start once this instance is Ready" in page


def test_operator_3_0_serves_no_rebalance_so_neither_wizard_nor_list_is_shown(
    settings: Any, admin_client: Client, sandbox_30: Sandbox
) -> None:
    settings.CONSOLE_CLUSTERS = [{"name": "next", "kubeconfig": str(sandbox_30.kubeconfig)}]
    namespace = f"t-rebalance-wizard-30-{secrets.token_hex(3)}"
    sandbox_30.create_namespace(namespace)
    try:
        with Clientset.from_kubeconfig(sandbox_30.kubeconfig) as cs:
            cs.apps_v3beta1.emqxes(namespace).create(
                apps_v3beta1.EMQX.from_dict(
                    {"metadata": {"name": "ee", "namespace": namespace}, "spec": {"image": ENTERPRISE}}
                )
            )
        cluster = clusters.get_cluster("next")
        assert cluster is not None
        eventually(lambda: cluster.cache("EMQX").get(namespace, "ee") is not None)
        page = admin_client.get(f"/clusters/next/emqx/{namespace}/ee/").content.decode()
        assert 'id="api-keys"' in page  # the page's related modules did render
        assert 'id="rebalance-link"' not in page
        assert 'id="rebalances"' not in page
    finally:
        clusters.reset()
