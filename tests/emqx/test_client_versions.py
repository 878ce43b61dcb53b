"""The clients of the newer operator lines, each against its own CRD bundle: EMQX ``v2`` (operator
2.3, ``sandbox_23``), EMQX ``v3beta1`` and EMQXAPIKey (operator 3.0, ``sandbox_30``).

Every verb of ResourceClient on each; discovery on the 2.2, 2.3 and 3.0 bundles (also for an
identity that may not read CRDs); one stored object read through v2beta1 and v2 on 2.3; unknown
fields; and the 422s of the CEL rules (``x-kubernetes-validations``), each on its field.
Facts asserted here are what the sandbox's kube-apiserver answers, not what the CRD's
descriptions promise (see /work/shared/crds/OPERATOR-STATUS.md, "Operator lines 2.3 and 3.0").
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from emqx.client import Clientset, EventType, ResourceClient, Watch, WatchEvent
from emqx.errors import BadRequest, Invalid, NotFound, UnknownKind
from emqx.models import apps_v2, apps_v2beta1, apps_v3beta1
from emqx.models._base import Resource
from sandbox import Sandbox
from tests.conftest import SANDBOX_OF_BUNDLE, KubectlRunner, run_kubectl, wait_until_allowed
from tests.factories import EMQX5_IMAGE, unique_name
from tests.support import emqx_reader_rbac

NEW_IMAGE = "emqx/emqx:5.9.0"
READY = {
    "type": "Ready",
    "status": "True",
    "reason": "Ready",
    "message": "Cluster is ready",
    "lastTransitionTime": "2026-01-01T00:00:00Z",
}


def _new_namespace(sb: Sandbox, hint: str) -> str:
    name = f"t-{hint}-{secrets.token_hex(3)}"
    sb.create_namespace(name)
    return name


def _kubectl(sb: Sandbox) -> KubectlRunner:
    """kubectl as this sandbox's admin (the session ``kubectl`` fixture is the 2.2 cluster's)."""

    def run(*args: str, input: str | None = None, kubeconfig: Any = None) -> Any:
        return run_kubectl(kubeconfig or sb.kubeconfig, *args, input=input)

    return run


# ----- the three typed clients, one case each ------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One kind in one version on the bundle that serves it, with what its verbs need."""

    id: str
    fixture: str
    model: type[Resource]
    client_of: Callable[[Clientset, str | None], ResourceClient[Any]]
    spec: dict[str, Any]
    field: str  # a top-level spec field the edits change
    values: tuple[str, str, str]  # its value as created, and two changed values
    status: dict[str, Any]
    # (spec.replicas, status.replicas, status.selector) the /scale subresource answers after
    # `status` was written; None: the CRD has no scale subresource.
    scale: tuple[int, int, str | None] | None


V2_EMQX = Case(
    id="EMQX v2 on 2.3",
    fixture="sandbox_23",
    model=apps_v2.EMQX,
    client_of=lambda cs, ns: cs.apps_v2.emqxes(ns),
    # Replicants set: without replicantTemplate the v2 scale subresource answers 500 (its spec path is missing).
    spec={"image": EMQX5_IMAGE, "replicantTemplate": {"spec": {"replicas": 2}}},
    field="image",
    values=(EMQX5_IMAGE, NEW_IMAGE, "emqx/emqx:5.9.1"),
    status={
        "conditions": [READY],
        "replicantNodesStatus": {"replicas": 2, "readyReplicas": 2},
        # The scale subresource's statusReplicasPath; the v2 status schema has no such field, so it is pruned.
        "replicantNodeReplicas": 2,
    },
    # v2's scale reads `.status.replicantNodeReplicas`, which the schema lacks: always 0, no selector.
    scale=(2, 0, None),
)
V3_EMQX = Case(
    id="EMQX v3beta1 on 3.0",
    fixture="sandbox_30",
    model=apps_v3beta1.EMQX,
    client_of=lambda cs, ns: cs.apps_v3beta1.emqxes(ns),
    # Replicants need at least 2 core replicas (the spec's CEL rule).
    spec={
        "image": EMQX5_IMAGE,
        "coreTemplate": {"spec": {"replicas": 2}},
        "replicantTemplate": {"spec": {"replicas": 2}},
    },
    field="image",
    values=(EMQX5_IMAGE, NEW_IMAGE, "emqx/emqx:5.9.1"),
    status={
        "conditions": [{**READY, "observedGeneration": 1}],
        "coreReplicas": 2,  # required
        "replicantReplicas": 1,  # required
        "replicantSelector": "apps.emqx.io/db-role=replicant",
    },
    scale=(2, 1, "apps.emqx.io/db-role=replicant"),
)
V3_API_KEY = Case(
    id="EMQXAPIKey v3beta1 on 3.0",
    fixture="sandbox_30",
    model=apps_v3beta1.EMQXAPIKey,
    client_of=lambda cs, ns: cs.apps_v3beta1.emqx_api_keys(ns),
    spec={"emqxRef": {"name": "broker"}, "secretRef": {"name": "broker-api-key"}, "description": "ops"},
    field="description",
    values=("ops", "on-call", "audit"),
    # No condition type is defined by the operator yet (PR #1194); the schema takes any.
    status={"conditions": [READY]},
    scale=None,
)
CASES = [V2_EMQX, V3_EMQX, V3_API_KEY]


@dataclass
class Line:
    """A case on its session cluster: an admin clientset and a fresh namespace of the test's own."""

    case: Case
    sandbox: Sandbox
    cs: Clientset
    namespace: str

    @property
    def client(self) -> ResourceClient[Any]:
        return self.case.client_of(self.cs, self.namespace)

    def obj(self, name: str | None = None, *, labels: dict[str, str] | None = None, **spec: Any) -> Resource:
        metadata: dict[str, Any] = {"name": name or unique_name(self.case.model.kind.lower())}
        if labels:
            metadata["labels"] = labels
        return self.case.model.from_dict({"metadata": metadata, "spec": {**self.case.spec, **spec}})


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def line(request: pytest.FixtureRequest) -> Iterator[Line]:
    case: Case = request.param
    sb: Sandbox = request.getfixturevalue(case.fixture)
    with Clientset.from_kubeconfig(sb.kubeconfig) as cs:
        yield Line(case, sb, cs, _new_namespace(sb, "versions"))


def _spec(obj: Resource) -> dict[str, Any]:
    return dict(obj.to_dict()["spec"])


def _status(obj: Resource) -> dict[str, Any]:
    return dict(obj.to_dict().get("status") or {})


# ----- every verb ------------------------------------------------------------------------------------


def test_create_returns_the_stored_object_as_its_model_and_get_reads_the_same(line: Line) -> None:
    created = line.client.create(line.obj(name="first", labels={"app": "emqx"}))
    assert type(created) is line.case.model
    assert created.to_dict()["apiVersion"] == line.client.api_version
    assert created.metadata.namespace == line.namespace
    assert created.metadata.uid and created.metadata.resource_version
    assert created.metadata.generation == 1
    assert created.metadata.labels == {"app": "emqx"}
    assert _spec(created)[line.case.field] == line.case.values[0]
    assert [m.manager for m in created.metadata.managed_fields or ()] == ["emqx-console"]
    assert line.client.get("first").to_dict() == created.to_dict()


def test_a_dry_run_create_answers_the_defaulted_object_and_stores_nothing(line: Line) -> None:
    answer = line.client.create(line.obj(name="ghost"), dry_run=True)
    assert answer.metadata.name == "ghost"
    assert _spec(answer)[line.case.field] == line.case.values[0]
    with pytest.raises(NotFound):
        line.client.get("ghost")


def test_list_covers_one_namespace_or_all_of_them(line: Line) -> None:
    other = _new_namespace(line.sandbox, "versions-other")
    line.client.create(line.obj(name="here"))
    line.case.client_of(line.cs, other).create(line.obj(name="there"))

    mine = line.client.list()
    assert [o.metadata.name for o in mine.items] == ["here"]
    assert all(type(o) is line.case.model for o in mine.items)
    assert mine.metadata.resource_version

    everywhere = line.case.client_of(line.cs, None).list()
    seen = {(o.metadata.namespace, o.metadata.name) for o in everywhere.items}
    assert {(line.namespace, "here"), (other, "there")} <= seen


def test_update_replaces_the_spec_and_bumps_the_generation(line: Line) -> None:
    created = line.client.create(line.obj())
    changed = line.case.model.from_dict(
        {**created.to_dict(), "spec": {**_spec(created), line.case.field: line.case.values[1]}}
    )
    updated = line.client.update(changed)
    assert _spec(updated)[line.case.field] == line.case.values[1]
    assert updated.metadata.generation == 2
    assert _spec(line.client.get(created.metadata.name))[line.case.field] == line.case.values[1]


def test_merge_and_json_patches_change_only_the_given_fields(line: Line) -> None:
    name = line.client.create(line.obj(labels={"keep": "me"})).metadata.name
    merged = line.client.patch(
        name, {"metadata": {"labels": {"added": "yes"}}, "spec": {line.case.field: line.case.values[1]}}
    )
    assert merged.metadata.labels == {"keep": "me", "added": "yes"}
    assert _spec(merged)[line.case.field] == line.case.values[1]

    json_patched = line.client.patch(
        name,
        [
            {"op": "test", "path": f"/spec/{line.case.field}", "value": line.case.values[1]},
            {"op": "replace", "path": f"/spec/{line.case.field}", "value": line.case.values[2]},
            {"op": "remove", "path": "/metadata/labels/keep"},
        ],
        patch_type="json",
    )
    assert _spec(json_patched)[line.case.field] == line.case.values[2]
    assert json_patched.metadata.labels == {"added": "yes"}


def test_server_side_apply_creates_then_changes_what_the_console_owns(line: Line) -> None:
    applied = line.client.apply(line.obj(name="applied", labels={"team": "iot"}))
    entry = next(m.to_dict() for m in applied.metadata.managed_fields or () if m.manager == "emqx-console")
    assert entry["operation"] == "Apply"
    assert entry["apiVersion"] == line.client.api_version
    assert f"f:{line.case.field}" in entry["fieldsV1"]["f:spec"]

    again = line.client.apply(line.obj(name="applied", **{line.case.field: line.case.values[1]}))
    assert _spec(again)[line.case.field] == line.case.values[1]
    assert not again.metadata.labels  # applied again without the label: the owner dropped it


def test_status_is_written_only_through_the_status_subresource(line: Line) -> None:
    created = line.client.create(line.obj())
    with_status = line.case.model.from_dict({**created.to_dict(), "status": line.case.status})
    assert not _status(line.client.update(with_status))  # the main resource ignores status

    current = line.client.get(created.metadata.name)
    changed = line.case.model.from_dict(
        {
            **current.to_dict(),
            "status": line.case.status,
            "spec": {**_spec(current), line.case.field: line.case.values[1]},
        }
    )
    written = line.client.update_status(changed)
    expected = {k: v for k, v in line.case.status.items() if k != "replicantNodeReplicas"}  # pruned by v2's schema
    assert _status(written) == expected
    assert _spec(written)[line.case.field] == line.case.values[0]  # the status subresource ignores spec

    patched = line.client.patch(
        created.metadata.name,
        {"status": {"conditions": [{**READY, "status": "False", "reason": "Paused"}]}},
        subresource="status",
    )
    assert [(c["type"], c["status"]) for c in _status(patched)["conditions"]] == [("Ready", "False")]
    assert written.metadata.generation == patched.metadata.generation == created.metadata.generation


def test_the_scale_subresource_answers_what_the_crd_maps(line: Line) -> None:
    created = line.client.create(line.obj())
    name = created.metadata.name
    line.client.update_status(line.case.model.from_dict({**created.to_dict(), "status": line.case.status}))
    if line.case.scale is None:
        with pytest.raises(NotFound):  # the EMQXAPIKey CRD has no scale subresource
            line.client.get_scale(name)
        return
    spec_replicas, status_replicas, selector = line.case.scale
    scale = line.client.get_scale(name)
    assert (scale.spec.replicas, scale.status and scale.status.replicas, scale.status and scale.status.selector) == (
        spec_replicas,
        status_replicas,
        selector,
    )
    assert line.client.update_scale(name, 3).spec.replicas == 3
    assert line.client.get(name).to_dict()["spec"]["replicantTemplate"]["spec"]["replicas"] == 3


def test_on_3_0_an_emqx_without_replicants_scales_from_zero(sandbox_30: Sandbox) -> None:
    # The server leaves a zero out of Scale.spec (autoscaling/v1 omitempty): the client reads 0, not None.
    namespace = _new_namespace(sandbox_30, "scale-zero")
    with Clientset.from_kubeconfig(sandbox_30.kubeconfig) as cs:
        client = cs.apps_v3beta1.emqxes(namespace)
        client.create({"metadata": {"name": "core-only"}, "spec": {"image": EMQX5_IMAGE}})
        scale = client.get_scale("core-only")
        assert scale.spec.replicas == 0
        assert "replicas" not in scale.to_dict().get("spec", {})  # read, not set: a PUT sends no zero of ours


def _take(watch: Watch[Any], count: int) -> list[WatchEvent[Any]]:
    events = []
    for event in watch:
        if event.type is not EventType.BOOKMARK:
            events.append(event)
            if len(events) == count:
                break
    return events


def test_watch_sees_added_modified_deleted_as_the_model(line: Line) -> None:
    start = line.client.list().metadata.resource_version
    created = line.client.create(line.obj(name="watched"))
    line.client.patch("watched", {"spec": {line.case.field: line.case.values[1]}})
    line.client.delete("watched")
    with line.client.watch(resource_version=start, timeout_seconds=20) as watch:
        events = _take(watch, 3)
    assert [(str(e.type), e.object.metadata.name) for e in events] == [
        ("ADDED", "watched"),
        ("MODIFIED", "watched"),
        ("DELETED", "watched"),
    ]
    assert all(type(e.object) is line.case.model for e in events)
    assert events[0].object.metadata.uid == created.metadata.uid
    assert _spec(events[1].object)[line.case.field] == line.case.values[1]


def test_delete_removes_the_object_and_a_dry_run_delete_does_not(line: Line) -> None:
    created = line.client.create(line.obj())
    name = created.metadata.name
    line.client.delete(name, dry_run=True)
    assert line.client.get(name).metadata.deletion_timestamp is None
    assert line.client.delete(name, precondition_uid=created.metadata.uid) is None
    with pytest.raises(NotFound):
        line.client.get(name)


# ----- discovery on each bundle ----------------------------------------------------------------------

SERVED: dict[str, dict[str, tuple[str, ...]]] = {
    "2.2": {
        "EMQX": ("v2beta1", "v2alpha1"),
        "Rebalance": ("v2beta1", "v1beta4"),
        "EmqxBroker": ("v1beta4", "v1beta3"),
        "EMQXAPIKey": (),
    },
    "2.3": {"EMQX": ("v2", "v2beta1"), "Rebalance": ("v2beta1",), "EmqxBroker": (), "EMQXAPIKey": ()},
    "3.0": {"EMQX": ("v3beta1",), "Rebalance": (), "EmqxBroker": (), "EMQXAPIKey": ("v3beta1",)},
}
PREFERRED_EMQX = {"2.2": apps_v2beta1.EMQX, "2.3": apps_v2.EMQX, "3.0": apps_v3beta1.EMQX}


@pytest.fixture
def admin_of(request: pytest.FixtureRequest) -> Iterator[Callable[[str], tuple[Sandbox, Clientset]]]:
    """The session cluster of a bundle and an admin clientset on it (closed after the test)."""
    opened: list[Clientset] = []

    def open_(bundle: str) -> tuple[Sandbox, Clientset]:
        sb: Sandbox = request.getfixturevalue(SANDBOX_OF_BUNDLE[bundle])
        cs = Clientset.from_kubeconfig(sb.kubeconfig)
        opened.append(cs)
        return sb, cs

    yield open_
    for cs in opened:
        cs.close()


@pytest.mark.parametrize("bundle", ["2.2", "2.3", "3.0"])
def test_each_bundle_serves_each_kind_in_its_own_versions(admin_of: Any, bundle: str) -> None:
    _, cs = admin_of(bundle)
    for kind, versions in SERVED[bundle].items():
        served = cs.discovery.kind(kind)
        assert served.versions == versions, kind
        assert served.preferred_version == (versions[0] if versions else None), kind
        assert served.storage_version == (versions[0] if versions else None), kind


@pytest.mark.parametrize("bundle", ["2.2", "2.3", "3.0"])
def test_for_kind_emqx_gives_the_client_of_the_bundles_storage_version(admin_of: Any, bundle: str) -> None:
    sb, cs = admin_of(bundle)
    namespace = _new_namespace(sb, "for-kind")
    client = cs.for_kind("EMQX", namespace)
    assert client.resource is PREFERRED_EMQX[bundle]
    created = client.create({"metadata": {"name": "picked"}, "spec": {"image": EMQX5_IMAGE}})
    assert type(created) is PREFERRED_EMQX[bundle]
    assert [o.metadata.name for o in client.list().items] == ["picked"]


def test_on_2_3_v2beta1_is_still_served_but_deprecated_and_v2_is_stored(admin_of: Any) -> None:
    _, cs = admin_of("2.3")
    emqx_kind = cs.discovery.kind("EMQX")
    assert emqx_kind.deprecated_versions == frozenset({"v2beta1"})
    assert emqx_kind.subresources == frozenset({"status", "scale"})
    assert cs.discovery.preferred_group_version == "v2"
    assert cs.for_kind("EMQX", "default", version="v2beta1").resource is apps_v2beta1.EMQX
    assert cs.for_kind("Rebalance", "default").resource is apps_v2beta1.Rebalance


def test_on_3_0_api_keys_have_a_client_and_rebalances_do_not(admin_of: Any) -> None:
    _, cs = admin_of("3.0")
    assert cs.for_kind("EMQXAPIKey", "default").resource is apps_v3beta1.EMQXAPIKey
    with pytest.raises(UnknownKind, match="serves Rebalance in no version"):
        cs.for_kind("Rebalance", "default")
    assert cs.discovery.kind("EMQXAPIKey").short_names == ("emqxapikey",)


def test_api_keys_are_not_served_before_3_0(admin_of: Any) -> None:
    _, cs = admin_of("2.3")
    with pytest.raises(UnknownKind, match="serves EMQXAPIKey in no version"):
        cs.for_kind("EMQXAPIKey", "default")


@pytest.mark.parametrize(("bundle", "expected"), [("2.3", apps_v2.EMQX), ("3.0", apps_v3beta1.EMQX)])
def test_an_identity_that_may_not_read_crds_still_gets_the_storage_version(
    admin_of: Any, bundle: str, expected: type[Resource]
) -> None:
    sb, _ = admin_of(bundle)
    kubectl = _kubectl(sb)
    user = unique_name("emqx-only")
    role = emqx_reader_rbac(user)
    done = kubectl("apply", "-f", "-", input=role)
    assert done.returncode == 0, done.stderr
    wait_until_allowed(kubectl, "list", "emqxes.apps.emqx.io", user=user)
    assert kubectl("auth", "can-i", "get", "customresourcedefinitions", f"--as={user}").stdout.strip() == "no"

    with Clientset.from_kubeconfig(sb.user_kubeconfig(user)) as cs:
        emqx_kind = cs.discovery.kind("EMQX")
        assert emqx_kind.storage_version is None  # the CRD could not be read
        assert emqx_kind.preferred_version == expected.version
        assert cs.discovery.preferred_group_version == expected.version
        client = cs.for_kind("EMQX", "default")
        assert client.resource is expected
        assert isinstance(client.list().items, list)


# ----- one stored object, two versions (2.3) ------------------------------------------------------------


@pytest.fixture
def on_23(sandbox_23: Sandbox) -> Iterator[tuple[Clientset, str]]:
    with Clientset.from_kubeconfig(sandbox_23.kubeconfig) as cs:
        yield cs, _new_namespace(sandbox_23, "v2beta1-v2")


def test_on_2_3_an_emqx_created_through_v2beta1_is_the_same_object_through_v2(on_23: tuple[Clientset, str]) -> None:
    cs, namespace = on_23
    spec = {
        "image": EMQX5_IMAGE,
        "config": {"mode": "Merge", "data": "log.console.level = debug"},
        "coreTemplate": {"spec": {"replicas": 3}},
        "replicantTemplate": {"spec": {"replicas": 2}},
    }
    written = cs.apps_v2beta1.emqxes(namespace).create({"metadata": {"name": "legacy"}, "spec": spec})
    read = cs.apps_v2.emqxes(namespace).get("legacy")

    assert type(read) is apps_v2.EMQX
    assert read.to_dict()["apiVersion"] == "apps.emqx.io/v2"  # strategy None: only apiVersion is rewritten
    assert (read.metadata.uid, read.metadata.resource_version) == (
        written.metadata.uid,
        written.metadata.resource_version,
    )
    assert [m.api_version for m in read.metadata.managed_fields or ()] == ["apps.emqx.io/v2beta1"]  # who wrote, and how

    # No field is translated. The reading version's defaults are filled in on read: v2 defaults
    # updateStrategy.evacuationStrategy.waitHealthCheck, a field the v2beta1 schema does not have.
    v2_spec, v2beta1_spec = _spec(read), _spec(written)
    assert v2_spec["updateStrategy"]["evacuationStrategy"].pop("waitHealthCheck") == 60
    assert "waitHealthCheck" not in v2beta1_spec["updateStrategy"]["evacuationStrategy"]
    assert v2_spec == v2beta1_spec


def test_on_2_3_status_fields_only_v2beta1_knows_are_pruned_even_when_written_through_v2beta1(
    on_23: tuple[Clientset, str],
) -> None:
    # Storage is v2, so every write is pruned to v2's schema too: the v2beta1 node fields
    # (node, node_status, otp_release, live_connections, edition, controllerUID, podUID) never
    # reach etcd, whichever version wrote them. v2's renamed fields are not filled in either.
    cs, namespace = on_23
    v2beta1, v2 = cs.apps_v2beta1.emqxes(namespace), cs.apps_v2.emqxes(namespace)
    created = v2beta1.create({"metadata": {"name": "nodes"}, "spec": {"image": EMQX5_IMAGE}})
    v2beta1_node = {
        "node": "emqx@10.0.0.1",
        "node_status": "running",
        "otp_release": "26.2.5",
        "version": "5.8.6",
        "role": "core",
        "edition": "Opensource",
        "live_connections": 3,
        "connections": 4,
        "controllerUID": "c-1",
        "podUID": "p-1",
    }
    status = {
        "conditions": [READY],
        "coreNodes": [v2beta1_node],
        "coreNodesStatus": {"replicas": 1, "readyReplicas": 1},
    }
    written = v2beta1.update_status(apps_v2beta1.EMQX.from_dict({**created.to_dict(), "status": status}))

    common = {"connections": 4, "role": "core", "version": "5.8.6"}
    assert _status(written)["coreNodes"] == [common]
    assert _status(v2.get("nodes"))["coreNodes"] == [common]
    assert _status(v2beta1.get("nodes"))["coreNodes"] == [common]

    # v2's own node fields written through v2 are invisible through v2beta1 (pruned on read).
    current = v2.get("nodes")
    v2_node = {**common, "name": "emqx@10.0.0.1", "podName": "nodes-core-0", "status": "running", "sessions": 9}
    v2.update_status(
        apps_v2.EMQX.from_dict({**current.to_dict(), "status": {**_status(current), "coreNodes": [v2_node]}})
    )
    assert _status(v2.get("nodes"))["coreNodes"] == [v2_node]
    assert _status(v2beta1.get("nodes"))["coreNodes"] == [common]


def test_on_2_3_a_spec_field_only_v2beta1_has_is_pruned_on_its_write(on_23: tuple[Clientset, str]) -> None:
    # The v2beta1 compat schema carries a stray `toleRations`; storage (v2) does not: it is dropped.
    cs, namespace = on_23
    spec = {"image": EMQX5_IMAGE, "coreTemplate": {"spec": {"toleRations": [{"key": "k", "operator": "Exists"}]}}}
    written = cs.apps_v2beta1.emqxes(namespace).create({"metadata": {"name": "stray"}, "spec": spec})
    assert "toleRations" not in _spec(written)["coreTemplate"]["spec"]
    assert "toleRations" not in _spec(cs.apps_v2.emqxes(namespace).get("stray"))["coreTemplate"]["spec"]


# ----- unknown fields ----------------------------------------------------------------------------------


@pytest.mark.parametrize("line", [V3_EMQX], ids=[V3_EMQX.id], indirect=True)
def test_v3beta1_config_roots_keep_any_nested_keys_through_read_modify_write(line: Line) -> None:
    roots = {
        "mqtt": {"max_packet_size": "1MB", "future_knob": {"deeper": [1, {"k": "v"}, None], "flag": True}},
        "x_not_an_emqx_root": {"anything": {"goes": 1.5}},
    }
    created = line.client.create(line.obj(name="roots", config={"roots": roots}))
    assert _spec(created)["config"]["roots"] == roots

    read = line.client.get("roots")
    assert read.to_dict()["spec"]["config"]["roots"] == roots  # the model keeps the free-form tree
    changed = apps_v3beta1.EMQX.from_dict({**read.to_dict(), "spec": {**_spec(read), "image": NEW_IMAGE}})
    updated = line.client.update(changed)
    assert _spec(updated)["config"]["roots"] == roots
    assert _spec(updated)["image"] == NEW_IMAGE

    merged = line.client.patch("roots", {"spec": {"config": {"roots": {"mqtt": {"future_knob": {"added": "x"}}}}}})
    assert merged.to_dict()["spec"]["config"]["roots"]["mqtt"] == {
        "max_packet_size": "1MB",
        "future_knob": {"deeper": [1, {"k": "v"}, None], "flag": True, "added": "x"},
    }


def test_an_update_of_what_was_read_loses_nothing_the_server_sent(line: Line) -> None:
    # Free-form maps (template labels/annotations) and everything defaulted go back as read.
    spec = {}
    if line.case is not V3_API_KEY:
        spec = {
            "coreTemplate": {
                "metadata": {"annotations": {"example.com/any-key": "v", "x": "y"}},
                "spec": {"replicas": 2, "nodeSelector": {"zone/custom": "a"}},
            }
        }
    created = line.client.create(line.obj(**spec))
    read = line.client.get(created.metadata.name)
    updated = line.client.update(read)
    assert _spec(updated) == _spec(created)
    assert updated.metadata.generation == created.metadata.generation  # nothing changed


def test_a_field_outside_the_schema_is_pruned_or_refused_under_strict_validation(line: Line) -> None:
    # v2 and EMQXAPIKey have no preserve-unknown place at all; v3beta1 only spec.config.roots.
    body = {**line.obj(name="unknown").to_dict(), "spec": {**line.case.spec, "futureField": {"a": 1}}}
    created = line.client.create(body)
    assert "futureField" not in _spec(created)
    with pytest.raises(BadRequest, match=r'unknown field "spec\.futureField"'):
        line.client.create({**body, "metadata": {"name": "strict"}}, field_validation="Strict")


# ----- CEL rules: a 422 on its field ------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: str
    case: Case
    spec: dict[str, Any]
    field: str  # as Invalid.field_errors names it, the path the console's forms look up
    message: str


CEL_ON_CREATE = [
    # The spec-level rule has no fieldPath: the server blames `spec` itself.
    Rule(
        "v3beta1 replicants need two cores",
        V3_EMQX,
        {
            "image": EMQX5_IMAGE,
            "coreTemplate": {"spec": {"replicas": 1}},
            "replicantTemplate": {"spec": {"replicas": 2}},
        },
        "spec",
        "Core-replicant clusters require at least 2 core replicas for rolling updates.",
    ),
    Rule(
        "v3beta1 maxUnavailable 0 with maxSurge 0",
        V3_EMQX,
        {"image": EMQX5_IMAGE, "updateStrategy": {"replicants": {"maxUnavailable": 0, "maxSurge": 0}}},
        "spec.updateStrategy.replicants.maxUnavailable",  # the rule's fieldPath .maxUnavailable
        "maxUnavailable may not be 0 when maxSurge is 0",
    ),
    Rule(
        "v3beta1 maxUnavailable over 100%",
        V3_EMQX,
        {"image": EMQX5_IMAGE, "updateStrategy": {"replicants": {"maxUnavailable": "150%"}}},
        "spec.updateStrategy.replicants.maxUnavailable",
        "must be a non-negative integer or a percentage between 0% and 100%",
    ),
    Rule(
        "v3beta1 negative maxSurge",
        V3_EMQX,
        {"image": EMQX5_IMAGE, "updateStrategy": {"replicants": {"maxSurge": -1}}},
        "spec.updateStrategy.replicants.maxSurge",
        "must be a non-negative integer or percentage",
    ),
    Rule(
        "v3beta1 reserved port name",
        V3_EMQX,
        {
            "image": EMQX5_IMAGE,
            "replicantTemplate": {"spec": {"ports": [{"name": "dashboard", "containerPort": 18083}]}},
        },
        "spec.replicantTemplate.spec.ports",
        "port names dashboard and dashboard-https are reserved by the Operator",
    ),
    Rule(
        "v2 core minAvailable with maxUnavailable",
        V2_EMQX,
        {"image": EMQX5_IMAGE, "coreTemplate": {"spec": {"minAvailable": 1, "maxUnavailable": 1}}},
        "spec.coreTemplate.spec",
        "minAvailable cannot be set when maxUnavailable is specified.",
    ),
    Rule(
        "v2 replicant minAvailable with maxUnavailable",
        V2_EMQX,
        {"image": EMQX5_IMAGE, "replicantTemplate": {"spec": {"minAvailable": "50%", "maxUnavailable": 1}}},
        "spec.replicantTemplate.spec",
        "minAvailable cannot be set when maxUnavailable is specified.",
    ),
]


def _only_cause(error: Invalid) -> tuple[str, str]:
    assert error.code == 422
    assert len(error.causes) == 1, error.causes
    (field,) = error.field_errors
    return field, error.field_errors[field][0]


@pytest.mark.parametrize("rule", CEL_ON_CREATE, ids=[r.id for r in CEL_ON_CREATE])
def test_a_cel_rule_refuses_the_create_on_its_field(request: pytest.FixtureRequest, rule: Rule) -> None:
    sb: Sandbox = request.getfixturevalue(rule.case.fixture)
    with Clientset.from_kubeconfig(sb.kubeconfig) as cs:
        client = rule.case.client_of(cs, _new_namespace(sb, "cel"))
        with pytest.raises(Invalid) as raised:
            client.create({"metadata": {"name": "refused"}, "spec": rule.spec})
    field, message = _only_cause(raised.value)
    assert field == rule.field
    assert rule.message in message
    assert message.startswith("Invalid value: ")


def test_scaling_replicants_up_through_scale_meets_the_two_core_rule(sandbox_30: Sandbox) -> None:
    # What an HPA or `kubectl scale` hits on a one-core v3beta1 cluster.
    with Clientset.from_kubeconfig(sandbox_30.kubeconfig) as cs:
        client = cs.apps_v3beta1.emqxes(_new_namespace(sandbox_30, "cel-scale"))
        client.create({"metadata": {"name": "one-core"}, "spec": {"image": EMQX5_IMAGE}})
        with pytest.raises(Invalid) as raised:
            client.update_scale("one-core", 2)
        assert _only_cause(raised.value)[0] == "spec"
        assert client.get_scale("one-core").spec.replicas == 0


@pytest.mark.parametrize("ref", ["emqxRef", "secretRef"])
@pytest.mark.parametrize("verb", ["merge patch", "update", "apply"])
def test_an_api_keys_references_cannot_change_after_create(sandbox_30: Sandbox, ref: str, verb: str) -> None:
    # Transition rules (self == oldSelf): only an update has an old object to compare with.
    with Clientset.from_kubeconfig(sandbox_30.kubeconfig) as cs:
        client = cs.apps_v3beta1.emqx_api_keys(_new_namespace(sandbox_30, "cel-key"))
        created = client.apply(V3_API_KEY.model.from_dict({"metadata": {"name": "key"}, "spec": V3_API_KEY.spec}))
        moved = {**V3_API_KEY.spec, ref: {"name": "elsewhere"}}
        with pytest.raises(Invalid) as raised:
            if verb == "merge patch":
                client.patch("key", {"spec": {ref: {"name": "elsewhere"}}})
            elif verb == "update":
                client.update(V3_API_KEY.model.from_dict({**created.to_dict(), "spec": moved}))
            else:
                client.apply(V3_API_KEY.model.from_dict({"metadata": {"name": "key"}, "spec": moved}))
        field, message = _only_cause(raised.value)
        assert field == f"spec.{ref}.name"
        assert message == f'Invalid value: "elsewhere": spec.{ref}.name is immutable'
        assert _spec(client.get("key"))[ref] == {"name": V3_API_KEY.spec[ref]["name"]}
