"""EMQXAPIKey v3beta1 (operator 3.0) as the simulator plays it: upstream's controller writes
nothing yet, so this is the simulator's decided behaviour (sandbox/operator/apikey.py): the
Secret ``spec.secretRef.name`` once the referenced EMQX is Ready, and one ``Ready`` condition."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from emqx.client import Clientset, ResourceClient
from emqx.discovery import GROUP
from emqx.errors import NotFound
from emqx.events import EventsClient
from emqx.models.apps_v3beta1 import EMQXAPIKey
from emqx.rest import api_path
from sandbox.operator import FAULT_ANNOTATION, Simulator

pytestmark = pytest.mark.usefixtures("sandbox_30")


@pytest.fixture
def keys(cs_30: Clientset, namespace_30: str) -> ResourceClient[EMQXAPIKey]:
    return cs_30.apps_v3beta1.emqx_api_keys(namespace_30)


def _key(name: str, *, emqx: str = "emqx", secret: str = "emqx-api-key", description: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"emqxRef": {"name": emqx}, "secretRef": {"name": secret}, "role": "Viewer"}
    if description:
        spec["description"] = description
    return {"metadata": {"name": name}, "spec": spec}


def _create_emqx(cs: Clientset, namespace: str, name: str = "emqx") -> None:
    body = {
        "apiVersion": f"{GROUP}/v3beta1",
        "kind": "EMQX",
        "metadata": {"name": name},
        "spec": {"image": "emqx/emqx:5.8.6", "coreTemplate": {"spec": {"replicas": 1}}},
    }
    cs.transport.request_json("POST", api_path(GROUP, "v3beta1", "emqxes", namespace=namespace), body=body)


def _emqx_ready(sim: Simulator, cs: Clientset, namespace: str, name: str = "emqx") -> None:
    path = api_path(GROUP, "v3beta1", "emqxes", namespace=namespace, name=name)
    for _ in range(20):
        sim.reconcile_object("EMQX", namespace, name)
        conditions = (cs.transport.request_json("GET", path).get("status") or {}).get("conditions") or []
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            return
    raise AssertionError(f"EMQX {name} never became Ready: {conditions}")


def _secret(cs: Clientset, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        secret: dict[str, Any] = cs.transport.request_json("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
    except NotFound:
        return None
    return secret


def _ready(key: EMQXAPIKey) -> tuple[str, str, str, int | None]:
    assert key.status is not None and key.status.conditions is not None
    [condition] = key.status.conditions
    assert condition.type == "Ready"
    return condition.status, condition.reason, condition.message, condition.observed_generation


def test_an_api_key_waits_for_its_emqx_then_gets_its_secret_and_becomes_ready(
    sim_30, cs_30, namespace_30, keys
) -> None:
    keys.create(_key("viewer"))

    assert sim_30.reconcile_object("EMQXAPIKey", namespace_30, "viewer")
    missing = keys.get("viewer")
    assert _ready(missing) == ("False", "EMQXNotFound", f"EMQX emqx does not exist in namespace {namespace_30}", 1)
    assert _secret(cs_30, namespace_30, "emqx-api-key") is None

    _create_emqx(cs_30, namespace_30)
    sim_30.reconcile_object("EMQX", namespace_30, "emqx")
    assert sim_30.reconcile_object("EMQXAPIKey", namespace_30, "viewer")
    assert _ready(keys.get("viewer")) == ("False", "EMQXNotReady", "EMQX emqx is not ready", 1)
    assert _secret(cs_30, namespace_30, "emqx-api-key") is None

    _emqx_ready(sim_30, cs_30, namespace_30)
    assert sim_30.reconcile_object("EMQXAPIKey", namespace_30, "viewer")
    ready = keys.get("viewer")
    assert _ready(ready) == ("True", "SecretCreated", "The API key and its secret are in Secret emqx-api-key", 1)
    assert ready.status.conditions[0].last_transition_time >= missing.status.conditions[0].last_transition_time

    secret = _secret(cs_30, namespace_30, "emqx-api-key")
    assert secret is not None and secret["type"] == "Opaque"
    assert set(secret["data"]) == {"key", "secret"}
    assert all(base64.b64decode(v) for v in secret["data"].values())
    [owner] = secret["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "EMQXAPIKey",
        "viewer",
        ready.metadata.uid,
        True,
    )
    assert secret["metadata"]["labels"] == {"apps.emqx.io/instance": "emqx", "apps.emqx.io/managed-by": "emqx-operator"}
    reasons = [
        (e.type, e.reason) for e in EventsClient(cs_30.transport, namespace_30).list(involved_object=ready).items
    ]
    assert reasons == [("Normal", "SecretCreated")]

    # Settled: nothing is rewritten, the key and secret are not regenerated.
    assert not sim_30.reconcile_object("EMQXAPIKey", namespace_30, "viewer")
    assert _secret(cs_30, namespace_30, "emqx-api-key")["data"] == secret["data"]


def test_an_existing_secret_is_left_as_it_is(sim_30, cs_30, namespace_30, keys) -> None:
    mine = {"key": base64.b64encode(b"my-key").decode(), "secret": base64.b64encode(b"my-secret").decode()}
    cs_30.transport.request_json(
        "POST",
        f"/api/v1/namespaces/{namespace_30}/secrets",
        body={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "given"}, "data": mine},
    )
    _create_emqx(cs_30, namespace_30)
    _emqx_ready(sim_30, cs_30, namespace_30)
    keys.create(_key("bring-your-own", secret="given"))

    assert sim_30.reconcile_object("EMQXAPIKey", namespace_30, "bring-your-own")

    assert _ready(keys.get("bring-your-own")) == (
        "True",
        "SecretExists",
        "Secret given already exists; its key and secret are used",
        1,
    )
    secret = _secret(cs_30, namespace_30, "given")
    assert secret is not None and secret["data"] == mine and "ownerReferences" not in secret["metadata"]


def test_the_ready_condition_follows_the_emqx_and_the_generation(sim_30, cs_30, namespace_30, keys) -> None:
    _create_emqx(cs_30, namespace_30)
    _emqx_ready(sim_30, cs_30, namespace_30)
    keys.create(_key("ops"))
    sim_30.reconcile_object("EMQXAPIKey", namespace_30, "ops")
    created = _secret(cs_30, namespace_30, "emqx-api-key")

    cs_30.transport.request_json(
        "PATCH",
        api_path(GROUP, "v3beta1", "emqxes", namespace=namespace_30, name="emqx"),
        body={"metadata": {"annotations": {FAULT_ANNOTATION: "core-node-down"}}},
        content_type="application/merge-patch+json",
    )
    for _ in range(3):
        sim_30.reconcile_object("EMQX", namespace_30, "emqx")
    keys.patch("ops", {"spec": {"description": "operations dashboard"}})
    assert sim_30.reconcile_object("EMQXAPIKey", namespace_30, "ops")

    assert _ready(keys.get("ops")) == ("False", "EMQXNotReady", "EMQX emqx is not ready", 2)
    assert _secret(cs_30, namespace_30, "emqx-api-key") == created  # kept, untouched


def test_no_api_key_controller_runs_where_the_kind_is_not_served(cs_23) -> None:
    assert "EMQXAPIKey" not in Simulator(cs_23).controllers()
