"""Open tabs cost the API server nothing: once the caches are warm, the polls of every page (each
kind's status panel and list rows, both dashboards) make no request at all, counted by the API
server itself (``apiserver_request_total``) over every resource but the two the API server asks for
itself: ``leases`` (its renewals, every 10 s) and ``services`` (the repair loops of Service IPs and
node ports LIST them every 3 minutes; the console never reads Services), with the console acting as
itself and in impersonation mode. (Requests for no resource, such as the API server's own fetch of
``/openapi/v3`` now and then, are not counted.) In impersonation mode a user's read right on a kind
in a namespace is checked with one impersonated LIST and remembered for 30 s
(``console.impersonation.READ_CHECK_TTL_S``): after that, the next poll makes that one LIST again,
and nothing else.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from console import clusters, impersonation
from console.models import RoleGrant
from emqx.client.clientset import Clientset
from sandbox import Sandbox
from tests.conftest import KubectlRunner, wait_until_allowed
from tests.console.kind_cases import CASES
from tests.support import eventually

pytestmark = pytest.mark.django_db

KINDS = [case for case in CASES if case.era == "current"]  # what the session's 2.2 cluster serves
# The console's identity in impersonation mode, as the chart's ClusterRole has it ("impersonating":
# deploy/chart), under a name of this module's own: a ClusterRole is shared by every test.
IDENTITY = "emqx-console-polls"
IDENTITY_RBAC = f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {IDENTITY}}}
rules:
- apiGroups: [apps.emqx.io]
  resources: ["*"]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [events]
  verbs: [get, list]
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get]
- apiGroups: [""]
  resources: [users, groups]
  verbs: [impersonate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {IDENTITY}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {IDENTITY}}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: {IDENTITY}}}
"""
ROUNDS = 10
# What kube-apiserver requests of itself on a timer: Lease renewals (10 s), and the LIST of every
# Service by its bootstrap controller's ClusterIP and NodePort repair loops (every 3 min). The
# console reads neither.
OWN_LOOPS = frozenset({"leases", "services"})
CONSOLE_GROUP = "apps.emqx.io"
"""The only group whose objects the console watches. kube-apiserver's own informers watch many other
resources (resourceclaims, namespaces, secrets ...) and re-open each watch every 5-10 minutes: a
WATCH outside this group is the API server's, never the console's (which opens none there)."""
_REQUEST = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<count>\S+)$")


def _served(sandbox: Sandbox) -> collections.Counter[str]:
    """The API server's count of the requests for resources it answered, by "VERB resource": every
    resource but those it asks for itself (OWN_LOOPS, and WATCHes outside CONSOLE_GROUP). Requests for
    no resource are not counted: the API server fetches its own /openapi/v3 now and then (its OpenAPI
    aggregation)."""
    counts: collections.Counter[str] = collections.Counter()
    for line in sandbox.metrics().splitlines():
        found = _REQUEST.match(line)
        if not found:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', found.group("labels")))
        resource = labels.get("resource", "")
        theirs = resource in OWN_LOOPS or (labels.get("verb") == "WATCH" and labels.get("group") != CONSOLE_GROUP)
        if resource and not theirs:
            key = f"{labels['verb']} {resource}" + (f"/{labels['subresource']}" if labels.get("subresource") else "")
            counts[key] += int(float(found.group("count")))
    return counts


def _made(before: collections.Counter[str], after: collections.Counter[str]) -> dict[str, int]:
    """The requests answered between two counts."""
    return {key: after[key] - before[key] for key in after if after[key] != before[key]}


@pytest.fixture
def objects(clientset: Clientset, namespace: str) -> list[str]:
    """An object of every kind the cluster serves in the test's namespace; the polls' URLs."""
    urls = ["/dashboard/_dashboard", "/clusters/default/_dashboard"]
    for case in KINDS:
        doc = {"metadata": {"name": "polled", "namespace": namespace}, "spec": case.spec("polled")}
        clientset.resource(case.model, namespace).create(case.model.from_dict(doc))
        slug = case.admin.slug
        urls += [
            f"/clusters/default/{slug}/{namespace}/polled/_status",
            f"/clusters/default/{slug}/_rows?namespace={namespace}",
        ]
    return urls


def _warm(client: Client, urls: list[str], namespace: str) -> None:
    """Every poll answers from warm caches: each object is in its kind's cache, the dashboards'
    Events poller has listed once (then sleeps: CONSOLE_EVENTS_POLL_SECONDS)."""
    for url in urls:
        if "/_status" in url:
            eventually(lambda u=url: client.get(u, HTTP_HX_REQUEST="true").status_code == 200)
        else:
            assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200
    cluster = clusters.get_cluster("default")
    assert cluster is not None
    eventually(lambda: cluster.warning_events().snapshot().fetched_at is not None)
    for case in KINDS:  # the list rows show the object: read from the cache, not the API server
        url = f"/clusters/default/{case.admin.slug}/_rows?namespace={namespace}"
        eventually(lambda u=url: "polled" in client.get(u, HTTP_HX_REQUEST="true").content.decode())


def _poll(client: Client, urls: list[str]) -> None:
    for url in urls:
        response = client.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, (url, response.status_code)  # not settled: no status yet


@pytest.fixture
def viewer(client: Client, namespace: str) -> Client:
    """A console Viewer of the test's namespace only."""
    user = User.objects.create_user("pia", password="pw-pia-123456")
    RoleGrant.objects.create(user=user, role="viewer", namespace=namespace)
    client.force_login(user)
    return client


@pytest.fixture
def own_identity(settings: Any, sandbox: Sandbox) -> Iterator[None]:
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.kubeconfig)}]
    settings.CONSOLE_EVENTS_POLL_SECONDS = 3600  # the Events poller lists once, then sleeps
    yield
    clusters.reset()


@pytest.fixture
def impersonating(settings: Any, sandbox: Sandbox, kubectl: KubectlRunner, namespace: str) -> Iterator[None]:
    """The console as IDENTITY (may impersonate, and read what fills its caches), acting for each
    user; console:pia may read every apps.emqx.io kind in the test's namespace."""
    applied = kubectl("apply", "-f", "-", input=IDENTITY_RBAC)
    assert applied.returncode == 0, applied.stderr
    wait_until_allowed(kubectl, "impersonate", "users", user=IDENTITY)
    wait_until_allowed(kubectl, "list", "events", user=IDENTITY)
    resources = ",".join(f"{case.model.plural}.apps.emqx.io" for case in KINDS)
    kubectl("-n", namespace, "create", "role", "reader", "--verb=get,list,watch", f"--resource={resources}")
    kubectl("-n", namespace, "create", "rolebinding", "pia-reads", "--role=reader", "--user=console:pia")
    for case in KINDS:
        wait_until_allowed(
            kubectl, "list", f"{case.model.plural}.apps.emqx.io", user="console:pia", namespace=namespace
        )
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.user_kubeconfig(IDENTITY))}]
    settings.CONSOLE_IMPERSONATE = True
    settings.CONSOLE_EVENTS_POLL_SECONDS = 3600
    impersonation.forget()
    yield
    impersonation.forget()
    clusters.reset()


def test_polls_cost_the_api_server_nothing_once_the_caches_are_warm(
    own_identity: None, objects: list[str], viewer: Client, namespace: str, sandbox: Sandbox
) -> None:
    _warm(viewer, objects, namespace)
    before = _served(sandbox)
    for _ in range(ROUNDS):
        _poll(viewer, objects)
    assert _made(before, _served(sandbox)) == {}, f"{ROUNDS} rounds of {len(objects)} polls"


def test_in_impersonation_mode_polls_cost_nothing_while_read_rights_are_remembered(
    impersonating: None, objects: list[str], viewer: Client, namespace: str, sandbox: Sandbox
) -> None:
    _warm(viewer, objects, namespace)
    _poll(viewer, objects)  # every read right of pia's checked once, and remembered
    before = _served(sandbox)
    for _ in range(ROUNDS):
        _poll(viewer, objects)
    assert _made(before, _served(sandbox)) == {}, f"{ROUNDS} rounds of {len(objects)} polls"


def test_in_impersonation_mode_a_forgotten_read_right_costs_one_list_per_kind_and_namespace(
    impersonating: None, objects: list[str], viewer: Client, namespace: str, sandbox: Sandbox
) -> None:
    _warm(viewer, objects, namespace)
    _poll(viewer, objects)
    impersonation.forget()  # as READ_CHECK_TTL_S (30 s) after the last check
    before = _served(sandbox)
    for _ in range(ROUNDS):
        _poll(viewer, objects)
    made = _made(before, _served(sandbox))
    # One impersonated LIST of each kind (limit=1), for pia's namespace; the list rows and the
    # dashboards ask about the same namespace, so the first round's checks serve every later poll.
    assert made == {f"LIST {case.model.plural}": 1 for case in KINDS}, made
