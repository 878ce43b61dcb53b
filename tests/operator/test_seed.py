"""The demo seed, per emqx-operator line: what it creates (as the README and sandbox/demo_data.py
list it), idempotent, valid for each line's CRDs (the API server validates, CEL rules included),
and shaped for the demo (the states the simulator then gives the instances).

Each test seeds a world of its own: every namespace of the seed under a prefix of the test's
(``seed(cs, prefix=...)``), on the session's cluster of the line (2.2: ``sandbox``, 2.3:
``sandbox_23``, 3.0: ``sandbox_30``). Afterwards every object seeded there is deleted (the
namespaces stay: without a namespace controller a deleted one stays Terminating), so no test,
here or in another module, sees another's seed, in whatever order they run.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from emqx.client import Clientset
from emqx.errors import NotFound
from sandbox import Sandbox, demo_data
from sandbox.operator import FAULT_ANNOTATION, PACE_ANNOTATION, Simulator
from tests.conftest import SANDBOX_OF_BUNDLE
from tests.operator import head

# What each line's seed creates, by kind, as "namespace/name" (namespaces without the prefix).
EXPECTED: dict[str, dict[str, list[str]]] = {
    "2.2": {
        "EMQX": [
            "emqx-prod/mqtt-core",
            "emqx-prod/payments-gw",
            "emqx-prod/telemetry",
            "emqx-staging/broken-config",
            "emqx-staging/canary",
            "emqx-staging/mqtt-core",
            "iot-lab/edge-gateway",
            "iot-lab/fleet-rollout",
            "iot-lab/sandbox-56",
        ],
        "EmqxBroker": ["emqx-staging/legacy-broker"],
        "EmqxEnterprise": ["emqx-prod/legacy-ee"],
        "Rebalance": ["emqx-prod/payments-gw-rebalance"],
    },
    "2.3": {
        "EMQX": [
            "emqx-prod/mqtt-edge",
            "emqx-prod/payments-gw",
            "emqx-prod/telemetry",
            "emqx-staging/mqtt-edge",
            "iot-platform/device-gateway",
        ],
        "Rebalance": [],  # mqtt-edge-rebalance comes once mqtt-edge is Ready (seed_when_ready)
    },
    "3.0": {
        "EMQX": ["emqx-pilot/mqtt-next", "emqx-pilot/single-node"],
        "EMQXAPIKey": ["emqx-pilot/mqtt-next-ci"],
    },
}
# The version each kind is written and read in, per line.
VERSIONS = {
    "2.2": {"EMQX": "v2beta1", "EmqxBroker": "v1beta4", "EmqxEnterprise": "v1beta4", "Rebalance": "v2beta1"},
    "2.3": {"EMQX": "v2", "Rebalance": "v2beta1"},
    "3.0": {"EMQX": "v3beta1", "EMQXAPIKey": "v3beta1"},
}
NAMESPACES = {
    "2.2": {"emqx-prod": "production", "emqx-staging": "staging", "iot-lab": "lab"},
    "2.3": {"emqx-prod": "production", "emqx-staging": "staging", "iot-platform": "production"},
    "3.0": {"emqx-pilot": "staging"},
}


def _sandbox(request: pytest.FixtureRequest, line: str) -> Sandbox:
    sandbox: Sandbox = request.getfixturevalue(SANDBOX_OF_BUNDLE[line])
    return sandbox


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """In front of every namespace the test seeds: a world of the test's own, emptied afterwards
    on each of the session's clusters the test used."""
    value = f"t{secrets.token_hex(3)}-"
    yield value
    for fixture in sorted(set(SANDBOX_OF_BUNDLE.values()) & set(request.fixturenames)):
        _remove_world(request.getfixturevalue(fixture), value)


def _remove_world(sandbox: Sandbox, prefix: str) -> None:
    """Delete every seed-labelled apps.emqx.io object in the namespaces under ``prefix``, of every
    kind the cluster serves (the later steps' Rebalances included). Nothing holds them: no
    simulator or operator sets a finalizer. Through the project's client, which waits out a 429
    (API priority and fairness, right after another test's API server outage) as it asks."""
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        group = cs.transport.request_json("GET", "/apis/apps.emqx.io")
        preferred = group["preferredVersion"]["groupVersion"]
        versions = [preferred] + [v["groupVersion"] for v in group["versions"] if v["groupVersion"] != preferred]
        plurals: dict[str, str] = {}  # plural -> the group version to list it through (the preferred one first)
        for group_version in versions:
            for resource in cs.transport.request_json("GET", f"/apis/{group_version}")["resources"]:
                if "/" not in resource["name"]:
                    plurals.setdefault(resource["name"], group_version)
        for plural, group_version in plurals.items():
            for namespace, name in _seeded(cs, group_version, plural, prefix):
                with contextlib.suppress(NotFound):
                    cs.transport.request("DELETE", f"/apis/{group_version}/namespaces/{namespace}/{plural}/{name}")
            assert _seeded(cs, group_version, plural, prefix) == [], f"{plural} left under {prefix}"


def _seeded(cs: Clientset, group_version: str, plural: str, prefix: str) -> list[tuple[str, str]]:
    """(namespace, name) of the seed-labelled ``plural`` objects under ``prefix``."""
    listed = cs.transport.request_json(
        "GET", f"/apis/{group_version}/{plural}", query=[("labelSelector", demo_data.SEED_LABEL)]
    )
    return [
        (item["metadata"]["namespace"], item["metadata"]["name"])
        for item in listed["items"]
        if item["metadata"]["namespace"].startswith(prefix)
    ]


@pytest.fixture
def line_cs(request: pytest.FixtureRequest) -> Iterator[tuple[str, Clientset]]:
    """(line, a client of the session's cluster of that line), for tests parametrized by ``line``."""
    line: str = request.param
    with Clientset.from_kubeconfig(_sandbox(request, line).kubeconfig) as cs:
        yield line, cs


def _names(cs: Clientset, kind: str, version: str, prefix: str) -> list[str]:
    """The seeded objects of ``kind`` in the test's namespaces, without the prefix."""
    items = cs.for_kind(kind, None, version=version).list(label_selector=demo_data.SEED_LABEL).items
    return sorted(
        f"{o.metadata.namespace.removeprefix(prefix)}/{o.metadata.name}"
        for o in items
        if o.metadata.namespace.startswith(prefix)
    )


def _raw(cs: Clientset, version: str, namespace: str, name: str, plural: str = "emqxes") -> dict[str, Any]:
    path = f"/apis/apps.emqx.io/{version}/namespaces/{namespace}/{plural}/{name}"
    data: dict[str, Any] = cs.transport.request_json("GET", path)
    return data


def _ready(emqx: dict[str, Any]) -> bool:
    conditions = (emqx.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _settle(cs: Clientset, prefix: str, namespaces: Any, rounds: int = 25) -> dict[str, Simulator]:
    """One simulator per seeded namespace (the other tests' objects are not this test's
    business), ``rounds`` reconciles of each object."""
    sims = {ns: Simulator(cs, pace=0.05, namespace=prefix + ns) for ns in namespaces}
    for _ in range(rounds):
        for sim in sims.values():
            sim.reconcile_once()
    return sims


LINES = pytest.mark.parametrize("line_cs", ["2.2", "2.3", "3.0"], indirect=True)


@LINES
def test_each_line_seeds_what_the_readme_lists_once(line_cs: tuple[str, Clientset], prefix: str) -> None:
    line, cs = line_cs
    assert demo_data.detect_line(cs) == line

    first = demo_data.seed(cs, prefix=prefix)

    assert first.line == line and first.skipped == []
    seeded = {kind: _names(cs, kind, VERSIONS[line][kind], prefix) for kind in EXPECTED[line]}
    assert seeded == EXPECTED[line]
    assert sorted(first.created) == sorted(
        [f"Namespace {prefix}{ns}" for ns in NAMESPACES[line]]
        + [f"{kind} {prefix}{name}" for kind, names in EXPECTED[line].items() for name in names]
    )

    second = demo_data.seed(cs, prefix=prefix)

    assert second.created == [] and sorted(second.existing) == sorted(first.created)
    assert {kind: _names(cs, kind, VERSIONS[line][kind], prefix) for kind in EXPECTED[line]} == seeded


@LINES
def test_the_namespaces_carry_their_environment_label(
    line_cs: tuple[str, Clientset], prefix: str, request: pytest.FixtureRequest
) -> None:
    line, cs = line_cs
    demo_data.seed(cs, prefix=prefix)
    for name, environment in NAMESPACES[line].items():
        status, body = _sandbox(request, line).request("GET", f"/api/v1/namespaces/{prefix}{name}")
        assert status == 200
        assert body["metadata"]["labels"]["environment"] == environment


def test_the_seed_leaves_what_a_person_changed_alone(cs: Clientset, prefix: str) -> None:
    demo_data.seed(cs, line="2.2", prefix=prefix)
    client = cs.apps_v2beta1.emqxes(f"{prefix}iot-lab")
    client.patch("sandbox-56", {"spec": {"coreTemplate": {"spec": {"replicas": 2}}}})

    demo_data.seed(cs, line="2.2", prefix=prefix)

    assert client.get("sandbox-56").spec.core_template.spec.replicas == 2


def test_the_2_2_instances_show_the_states_the_demo_promises(cs: Clientset, prefix: str) -> None:
    demo_data.seed(cs, prefix=prefix)
    sims = _settle(cs, prefix, NAMESPACES["2.2"])
    emqx = {
        f"{o.metadata.namespace.removeprefix(prefix)}/{o.metadata.name}": o
        for o in cs.apps_v2beta1.emqxes(None).list().items
        if o.metadata.namespace.startswith(prefix)
    }

    assert head(emqx["emqx-prod/mqtt-core"]) == ("Ready", "Ready")
    assert head(emqx["iot-lab/sandbox-56"]) == ("Ready", "Ready")
    assert head(emqx["emqx-prod/payments-gw"])[0] == "CoreNodesProgressing"  # core-node-down
    assert emqx["emqx-prod/payments-gw"].metadata.annotations[FAULT_ANNOTATION] == "core-node-down"
    assert head(emqx["iot-lab/edge-gateway"])[0] == "ReplicantNodesProgressing"  # replicant-node-down
    assert emqx["emqx-staging/broken-config"].status is None  # InvalidConfig: no status at all
    images = {o.spec.image for o in emqx.values()}
    assert {"emqx/emqx:5.6.1", "emqx/emqx:5.7.2", "emqx/emqx:5.8.6", "emqx/emqx-enterprise:5.8.6"} <= images
    brokers = cs.apps_v1beta4.emqx_brokers(f"{prefix}emqx-staging").get("legacy-broker")
    assert brokers.spec.template.spec.emqx_container.image.version == "4.4.19"  # an upgrade blocker for 2.3
    rebalances = cs.apps_v2beta1.rebalances(f"{prefix}emqx-prod")
    assert rebalances.get("payments-gw-rebalance").status.phase == "Failed"

    assert demo_data.seed_when_ready(cs, prefix=prefix, timeout=5, interval=0.05)
    for _ in range(8):
        sims["emqx-prod"].reconcile_once()
    assert rebalances.get("mqtt-core-rebalance").status.phase == "Completed"


def test_the_2_3_fleet_has_its_shapes_and_rolls_payments_gw_once_ready(sandbox_23: Sandbox, prefix: str) -> None:
    with Clientset.from_kubeconfig(sandbox_23.kubeconfig) as cs:
        demo_data.seed(cs, prefix=prefix)
        prod = cs.apps_v2.emqxes(f"{prefix}emqx-prod")
        edge, telemetry, payments = (prod.get(n) for n in ("mqtt-edge", "telemetry", "payments-gw"))
        assert edge.api_version == "apps.emqx.io/v2"
        assert (edge.spec.core_template.spec.replicas, edge.spec.replicant_template.spec.replicas) == (3, 4)
        assert "max_packet_size = 1MB" in edge.spec.config.data
        assert telemetry.spec.core_template.spec.replicas == 3 and telemetry.spec.replicant_template is None
        assert payments.spec.image == demo_data.ROLLOUT_FROM
        # Not Ready yet: the rollout waits, and so does the Rebalance.
        assert not demo_data.seed_when_ready(cs, prefix=prefix, timeout=0.2, interval=0.05)

        _settle(cs, prefix, NAMESPACES["2.3"])
        for name in ("mqtt-edge", "telemetry", "payments-gw"):
            assert _ready(_raw(cs, "v2", f"{prefix}emqx-prod", name)), name
        assert demo_data.seed_when_ready(cs, prefix=prefix, timeout=5, interval=0.05)

        rolled = prod.get("payments-gw")
        assert rolled.spec.image == demo_data.ROLLOUT_TO
        assert rolled.metadata.annotations[PACE_ANNOTATION] == demo_data.ROLLOUT_PACE
        rebalance = cs.apps_v2beta1.rebalances(f"{prefix}emqx-prod").get("mqtt-edge-rebalance")
        assert rebalance.spec.instance_name == "mqtt-edge"
        # Done once: a second run changes nothing (a person's later image stays).
        prod.patch("payments-gw", {"spec": {"image": "emqx/emqx-enterprise:5.10.2"}})
        assert demo_data.seed_when_ready(cs, prefix=prefix, timeout=5, interval=0.05)
        assert prod.get("payments-gw").spec.image == "emqx/emqx-enterprise:5.10.2"


def test_the_3_0_cluster_gets_config_roots_and_an_api_key(sandbox_30: Sandbox, prefix: str) -> None:
    with Clientset.from_kubeconfig(sandbox_30.kubeconfig) as cs:
        demo_data.seed(cs, prefix=prefix)
        namespace = f"{prefix}emqx-pilot"
        nxt = cs.apps_v3beta1.emqxes(namespace).get("mqtt-next")
        assert nxt.spec.config.roots == {"mqtt": {"max_packet_size": "1MB"}, "log": {"console": {"level": "warning"}}}
        # The CRD's CEL rule: replicants need at least two core nodes (the API server took it).
        assert (nxt.spec.core_template.spec.replicas, nxt.spec.replicant_template.spec.replicas) == (2, 2)
        single = cs.apps_v3beta1.emqxes(namespace).get("single-node")
        assert single.spec.core_template.spec.replicas == 1 and single.spec.replicant_template.spec.replicas == 0
        key = cs.apps_v3beta1.emqx_api_keys(namespace).get("mqtt-next-ci")
        assert (key.spec.emqx_ref.name, key.spec.secret_ref.name, key.spec.role) == (
            "mqtt-next",
            "mqtt-next-ci-api-key",
            "Viewer",
        )
        assert demo_data.seed_when_ready(cs, prefix=prefix, timeout=1)  # nothing later on 3.0
