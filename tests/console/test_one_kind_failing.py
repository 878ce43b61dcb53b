"""One kind failing on the API server (issue 15, item 16): EMQX's conversion webhook is down, so
every LIST of EMQX answers 500 after the API server has tried it. The EMQX pages say so with the
API server's reason; the other kinds' pages, the cluster's page and the header do not call the
cluster unreadable, and are not slowed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from console import clusters
from emqx.client.clientset import Clientset
from emqx.errors import EmqxClientError
from sandbox import Sandbox
from tests import factories
from tests.support import eventually

pytestmark = pytest.mark.django_db

CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/emqxes.apps.emqx.io"


@pytest.fixture(scope="module")
def broken() -> Iterator[Sandbox]:
    """A cluster of the module's own: an EMQX stored as v2alpha1, and a conversion webhook that
    does not answer, so listing EMQX in v2beta1 (what the console reads) fails."""
    sb = Sandbox.create(crds="2.2", prefix="emqx-sandbox-webhook-")
    sb.start()
    try:
        sb.create_namespace("fleet")
        with Clientset.from_kubeconfig(sb.kubeconfig) as cs:
            cs.apps_v1beta4.emqx_brokers("fleet").create(factories.emqx_broker("broker", namespace="fleet"))
            _, crd = sb.request("GET", CRD)
            for version in crd["spec"]["versions"]:
                version["storage"] = version["name"] == "v2alpha1"
            crd["spec"]["conversion"] = {
                "strategy": "Webhook",
                "webhook": {
                    "conversionReviewVersions": ["v1"],
                    "clientConfig": {"url": "https://127.0.0.1:9/convert"},  # nothing listens on port 9
                },
            }
            status, answer = sb.request("PUT", CRD, crd)
            assert status == 200, answer
            attempts = iter(range(1, 1000))
            eventually(lambda: _stored_as_v2alpha1(cs, f"old-{next(attempts)}"), timeout=30)
        yield sb
    finally:
        sb.destroy()


BROKEN: list[str] = []
"""The name of the EMQX stored as v2alpha1 (set by the ``broken`` fixture)."""


def _stored_as_v2alpha1(cs: Clientset, name: str) -> bool:
    """Create ``name`` through v2alpha1 and tell whether it is stored as v2alpha1: a read in v2beta1
    then needs the (dead) webhook. The CRD change takes effect a moment after the PUT; an object
    created before that is stored as v2beta1, is readable, and stays (another name is tried)."""
    doc = {"apiVersion": "apps.emqx.io/v2alpha1", "kind": "EMQX", "metadata": {"name": name}, "spec": {}}
    try:
        cs.apps_v2alpha1.emqxes("fleet").create(doc)
    except EmqxClientError:  # converted on the way in, by the webhook: not stored
        return False
    try:
        cs.apps_v2beta1.emqxes("fleet").get(name)
    except EmqxClientError as error:
        if "conversion webhook" in str(error):
            BROKEN[:] = [name]
            return True
    return False


@pytest.fixture
def console(settings: Any, broken: Sandbox) -> Iterator[None]:
    settings.CONSOLE_CLUSTERS = [{"name": "webhooked", "kubeconfig": str(broken.kubeconfig)}]
    yield
    clusters.reset()


def test_the_failing_kinds_pages_give_the_api_servers_reason(admin: Client, console: None) -> None:
    # The console's watch cache reads through the API server's own cache, which leaves the object it
    # cannot convert out; a LIST from the API itself, and a read of that object, fail with the reason.
    page = admin.get("/clusters/webhooked/emqx/", {"source": "api"}).content.decode()
    assert "could not list EMQX instances" in page and "conversion webhook" in page
    assert "webhooked is unreachable" not in page
    edit = admin.get(f"/clusters/webhooked/emqx/fleet/{BROKEN[0]}/change/")
    html = edit.content.decode()
    assert edit.status_code == 503
    assert "could not read it" in html and "conversion webhook" in html
    assert "cannot be reached" not in html


def test_the_other_kinds_pages_are_not_touched(admin: Client, console: None) -> None:
    admin.get("/clusters/webhooked/emqx/", {"source": "api"})
    page = admin.get("/clusters/webhooked/emqxbrokers/").content.decode()
    assert ">broker<" in page
    assert "conversion webhook" not in page and 'role="alert"' not in page.split("<main", 1)[1].split("<table", 1)[0]


def test_the_cluster_page_does_not_call_the_cluster_unreadable(admin: Client, console: None) -> None:
    admin.get("/clusters/webhooked/emqx/", {"source": "api"})
    page = admin.get("/clusters/webhooked/").content.decode()
    assert "webhooked is unreachable" not in page, page[page.index("webhooked is unreachable") - 2000 :][:2600]
    cluster = clusters.get_cluster("webhooked")
    assert cluster is not None
    eventually(lambda: cluster.health() != "unreachable" and cluster.peek("EmqxBroker").state() is not None)
    assert cluster.health() != "unreachable"
