"""Every registered kind in every version a cluster serves, as test data: a valid spec, a change
through the form, the status the operator writes once settled, and a field the API server
refuses. Used by the suites parametrized over kinds (the ``world`` fixture in conftest.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.test import Client

from console.forms.schema import FormSpec, ResourceForm, values_as_data
from console.registry import FormContext, ResourceAdmin, site
from emqx.client.clientset import Clientset
from emqx.client.resource import ResourceClient
from emqx.models import apps_v1beta1, apps_v1beta4, apps_v2, apps_v2beta1, apps_v3beta1
from emqx.models._base import Resource
from sandbox import Sandbox
from tests.support import rfc3339

# When the statuses the tests write say they were set: an hour ago, so that a status the operator
# writes in answer to a save (World.write_status(..., now=True)) is recognisably newer.
SETTLED_AT = rfc3339(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))


def _condition(type_: str, reason: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "status": "True",
        "reason": reason,
        "message": f"{type_} reached",
        "lastTransitionTime": SETTLED_AT,
        "lastUpdateTime": SETTLED_AT,
        **extra,
    }


@dataclass(frozen=True)
class Case:
    """One kind in one version, and what the suite does with it."""

    model: type[Resource]
    era: str
    """The operator line whose CRDs the cluster has: 'current' (2.2), '2.3', '3.0' or '2021'
    (operator 1.0's v1beta1 brokers); see tests.conftest.SANDBOX_OF_BUNDLE."""
    spec: Callable[[str], dict[str, Any]]
    """A valid spec, given a suffix for names it refers to."""
    change: tuple[str, Any]
    """(form field path, new value) of a change made through the form."""
    settled: Callable[[Resource], dict[str, Any]]
    """A status the operator writes once the object has settled (Ready, Completed)."""
    refused: str
    """An int32 form field path (the API server refuses 3000000000 on the dry-run: where does it land?);
    '' for a kind whose form has no integer field (EMQXAPIKey)."""
    form: dict[str, Any] = field(default_factory=dict)
    """Values the add form needs beyond name and namespace (by path)."""

    @property
    def admin(self) -> ResourceAdmin:
        return site.for_kind(self.model.kind)

    @property
    def id(self) -> str:
        # One kind and version may be served by several operator lines with different schemas
        # (Rebalance v2beta1 on 2.2 and 2.3): the line tells them apart.
        line = "" if self.era in ("current", "2021") else f"-on-{self.era}"
        return f"{self.model.kind}-{self.model.version}{line}"

    def form_spec(self) -> FormSpec:
        return self.admin.get_form_spec(self.model, FormContext())


def _emqx_settled(obj: Resource) -> dict[str, Any]:
    generation = obj.metadata.generation
    return {
        "conditions": [
            _condition("Ready", "ClusterReady", observedGeneration=generation),
            _condition("Available", "ClusterAvailable", observedGeneration=generation),
        ],
        "coreNodesStatus": {"readyReplicas": 1, "replicas": 1},
    }


def _emqx_v2_settled(obj: Resource) -> dict[str, Any]:
    # Operator 2.3's state machine (model A): the newest condition first, no observedGeneration.
    ready = {**_condition("Ready", "Ready"), "message": "Cluster is ready"}
    return {
        "conditions": [ready, _condition("Available", "Available"), _condition("CoreNodesReady", "CoreNodesReady")],
        "coreNodesStatus": {"readyReplicas": 1, "replicas": 1, "updateReplicas": 1, "currentReplicas": 1},
    }


def _emqx_v3beta1_settled(obj: Resource) -> dict[str, Any]:
    # Operator 3.0: every condition by type, True or False, with the generation it judged.
    generation = obj.metadata.generation

    def cond(type_: str, status: str, reason: str, message: str) -> dict[str, Any]:
        return {**_condition(type_, reason, observedGeneration=generation), "status": status, "message": message}

    return {
        "conditions": [
            cond("EMQXAPIAvailable", "True", "RequestSucceeded", "EMQX API is available"),
            cond("CoreNodesProgressing", "False", "Converged", "1 core pods up to date"),
            cond("Available", "True", "CorePodsAvailable", "1/1 core pods available"),
            cond("Ready", "True", "Ready", "Cluster is ready"),
            cond("ConfigApplied", "True", "Applied", "Desired configuration is active"),
            cond("Paused", "False", "AnnotationNotSet", "Reconciliation is active"),
        ],
        "coreReplicas": 1,
        "replicantReplicas": 0,
        "coreNodesStatus": {"readyReplicas": 1, "updatedReplicas": 1, "currentReplicas": 1},
    }


def _running(obj: Resource) -> dict[str, Any]:
    replicas = obj.to_dict()["spec"].get("replicas", 3)  # every node of the current spec is there and ready
    return {"conditions": [_condition("Running", "ClusterReady")], "replicas": replicas, "readyReplicas": replicas}


def _healthy(obj: Resource) -> dict[str, Any]:
    return {"conditions": [_condition("Healthy", "ClusterReady")]}


def _v4_image(repository: str) -> dict[str, Any]:
    return {"template": {"spec": {"emqxContainer": {"image": {"repository": repository, "version": "4.4.19"}}}}}


CASES = [
    Case(
        apps_v2beta1.EMQX,
        "current",
        lambda _: {"image": "emqx/emqx:5.8.6"},
        ("spec.coreTemplate.spec.replicas", 3),
        _emqx_settled,
        refused="spec.updateStrategy.initialDelaySeconds",
        form={"spec.image": "emqx/emqx:5.8.6"},
    ),
    Case(
        apps_v1beta4.EmqxBroker,
        "current",
        lambda _: {"replicas": 3, **_v4_image("emqx/emqx")},
        ("spec.replicas", 5),
        _running,
        refused="spec.replicas",
    ),
    Case(
        apps_v1beta4.EmqxEnterprise,
        "current",
        lambda _: {"replicas": 3, **_v4_image("emqx/emqx-ee")},
        ("spec.replicas", 5),
        _running,
        refused="spec.replicas",
    ),
    Case(
        apps_v2beta1.Rebalance,
        "current",
        lambda target: {"instanceKind": "EMQX", "instanceName": target, "rebalanceStrategy": {"connEvictRate": 10}},
        ("spec.rebalanceStrategy.connEvictRate", 20),
        lambda obj: {"phase": "Completed", "conditions": [_condition("Completed", "Completed")]},
        refused="spec.rebalanceStrategy.connEvictRate",
        form={"spec.instanceName": "target", "spec.instanceKind": "EMQX"},
    ),
    Case(
        apps_v2.EMQX,
        "2.3",
        lambda _: {"image": "emqx/emqx:5.8.6"},
        ("spec.coreTemplate.spec.replicas", 3),
        _emqx_v2_settled,
        refused="spec.updateStrategy.initialDelaySeconds",
        form={"spec.image": "emqx/emqx:5.8.6"},
    ),
    Case(
        apps_v3beta1.EMQX,
        "3.0",
        lambda _: {"image": "emqx/emqx:5.10.0", "config": {"roots": {"mqtt": {"max_packet_size": "1MB"}}}},
        ("spec.coreTemplate.spec.replicas", 3),
        _emqx_v3beta1_settled,
        refused="spec.revisionHistoryLimit",
        form={"spec.image": "emqx/emqx:5.10.0"},
    ),
    Case(
        apps_v3beta1.EMQXAPIKey,
        "3.0",
        lambda target: {"emqxRef": {"name": target}, "secretRef": {"name": f"{target}-api-key"}},
        ("spec.role", "Viewer"),
        lambda obj: {
            "conditions": [
                {**_condition("Ready", "SecretCreated", observedGeneration=obj.metadata.generation), "message": "ok"}
            ]
        },
        refused="",
        form={"spec.emqxRef.name": "target", "spec.secretRef.name": "target-api-key", "spec.role": "Viewer"},
    ),
    Case(
        # Operator 2.3's Rebalance CRD has no instanceKind (EMQX is the only kind left to rebalance).
        apps_v2beta1.Rebalance,
        "2.3",
        lambda target: {"instanceName": target, "rebalanceStrategy": {"connEvictRate": 10}},
        ("spec.rebalanceStrategy.connEvictRate", 20),
        lambda obj: {"phase": "Completed", "conditions": [_condition("Completed", "Completed")]},
        refused="spec.rebalanceStrategy.connEvictRate",
        form={"spec.instanceName": "target"},
    ),
    Case(
        apps_v1beta1.EmqxBroker,
        "2021",
        lambda _: {"image": "emqx/emqx:4.3.10", "replicas": 3, "labels": {"cluster": "emqx"}},
        ("spec.replicas", 4),
        _healthy,
        refused="spec.replicas",
        form={"spec.labels": {"cluster": "emqx"}},
    ),
    Case(
        apps_v1beta1.EmqxEnterprise,
        "2021",
        lambda _: {"image": "emqx/emqx-ee:4.3.10", "replicas": 3, "labels": {"cluster": "emqx"}},
        ("spec.replicas", 4),
        _healthy,
        refused="spec.replicas",
        form={"spec.labels": {"cluster": "emqx"}},
    ),
]


@dataclass
class World:
    """Where a case runs: the console's cluster name, a namespace of the test's own, a client."""

    case: Case
    cluster: str
    namespace: str
    clientset: Clientset
    sandbox: Sandbox
    client: Client

    @property
    def objects(self) -> ResourceClient[Any]:
        return self.clientset.resource(self.case.model, self.namespace)

    def url(self, action: str, name: str = "") -> str:
        base = f"/clusters/{self.cluster}/{self.case.admin.slug}/"
        return base + {"list": "", "add": "add/", "detail": f"{self.namespace}/{name}/"}.get(
            action, f"{self.namespace}/{name}/{action}"
        )

    def new(self, name: str, **labels: str) -> Resource:
        doc = {"metadata": {"name": name, "namespace": self.namespace}, "spec": self.case.spec("target")}
        if labels:
            doc["metadata"]["labels"] = labels
        return self.objects.create(self.case.model.from_dict(doc))

    def add_data(self, name: str) -> dict[str, str]:
        """The add form, filled in with ``name``, as a browser posts it."""
        spec = self.case.form_spec()
        values = {**ResourceForm(spec=spec).initial, **self.case.form}
        values.update({"metadata.name": name, "metadata.namespace": self.namespace})
        return values_as_data(spec, values)

    def write_status(self, name: str, status: Callable[[Resource], dict[str, Any]], *, now: bool = False) -> None:
        """Write a status as the operator would; ``now``: its conditions set now, not an hour ago."""
        obj = self.objects.get(name)
        doc = obj.to_dict()
        doc["status"] = status(obj)
        for condition in doc["status"].get("conditions", ()) if now else ():
            condition["lastTransitionTime"] = condition["lastUpdateTime"] = rfc3339(dt.datetime.now(dt.UTC))
        self.objects.update_status(self.case.model.from_dict(doc))

    def html(self, url: str, **params: str) -> str:
        response = self.client.get(url, params)
        assert response.status_code == 200, (url, response.status_code)
        return str(response.content.decode())
