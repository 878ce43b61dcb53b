"""Every verb of ResourceClient against the sandbox API server: create, get, update,
update_status, patch (merge, JSON), delete (preconditions, propagation), delete_collection,
the /scale subresource, and dry-run on every write."""

from __future__ import annotations

import pytest

from emqx.client import Clientset, Scale
from emqx.errors import ApiError, Conflict, NotFound
from emqx.models import apps_v2beta1
from tests.factories import emqx, emqx_broker, emqx_enterprise, emqx_v2alpha1, rebalance, unique_name


def _with_status(obj: apps_v2beta1.EMQX, status: dict) -> apps_v2beta1.EMQX:
    return apps_v2beta1.EMQX.from_dict({**obj.to_dict(), "status": status})


# ----- create / get ------------------------------------------------------------------------


def test_create_returns_the_stored_object_with_server_fields(cs: Clientset, namespace: str) -> None:
    created = cs.apps_v2beta1.emqxes(namespace).create(emqx(name="broker", labels={"app": "emqx"}))
    assert isinstance(created, apps_v2beta1.EMQX)
    assert created.metadata.name == "broker"
    assert created.metadata.namespace == namespace
    assert created.metadata.uid
    assert created.metadata.resource_version
    assert created.metadata.creation_timestamp is not None
    assert created.metadata.labels == {"app": "emqx"}
    assert created.spec.image == "emqx/emqx:5.8.6"


def test_get_reads_back_what_create_stored(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx())
    got = client.get(created.metadata.name)
    assert got.to_dict() == created.to_dict()


def test_create_with_generate_name_gets_a_server_chosen_name(cs: Clientset, namespace: str) -> None:
    obj = emqx()
    obj.metadata.name = None
    obj.metadata.generate_name = "gen-"
    created = cs.apps_v2beta1.emqxes(namespace).create(obj)
    assert created.metadata.name.startswith("gen-")
    assert len(created.metadata.name) > len("gen-")


def test_create_accepts_a_mapping_and_records_the_console_as_field_manager(cs: Clientset, namespace: str) -> None:
    created = cs.apps_v2beta1.emqxes(namespace).create(
        {
            "apiVersion": "apps.emqx.io/v2beta1",
            "kind": "EMQX",
            "metadata": {"name": "from-dict"},
            "spec": {"image": "x"},
        }
    )
    assert created.spec.image == "x"
    assert [m.manager for m in created.metadata.managed_fields] == ["emqx-console"]


def test_create_works_for_each_kind_and_version(cs: Clientset, namespace: str) -> None:
    assert cs.apps_v2beta1.rebalances(namespace).create(rebalance()).metadata.uid
    assert cs.apps_v1beta4.emqx_brokers(namespace).create(emqx_broker(replicas=3)).spec.replicas == 3
    assert cs.apps_v1beta4.emqx_enterprises(namespace).create(emqx_enterprise()).metadata.uid
    assert cs.apps_v2alpha1.emqxes(namespace).create(emqx_v2alpha1()).metadata.uid


# ----- update / update_status ------------------------------------------------------------


def test_update_replaces_the_spec_and_bumps_the_generation(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx())
    created.spec.image = "emqx/emqx:5.9.0"
    updated = client.update(created)
    assert updated.spec.image == "emqx/emqx:5.9.0"
    assert updated.metadata.generation == created.metadata.generation + 1
    assert client.get(created.metadata.name).spec.image == "emqx/emqx:5.9.0"


def test_update_ignores_status_and_update_status_ignores_spec(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx())
    status = {
        "conditions": [
            {
                "type": "Initialized",
                "status": "True",
                "reason": "Initialized",
                "message": "started",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ]
    }
    client.update(_with_status(created, status))
    assert not client.get(created.metadata.name).to_dict().get("status")

    current = client.get(created.metadata.name)
    changed = _with_status(current, status)
    changed.spec.image = "ignored/by:status"
    written = client.update_status(changed)
    assert written.to_dict()["status"]["conditions"][0]["type"] == "Initialized"
    stored = client.get(created.metadata.name)
    assert stored.to_dict()["status"]["conditions"][0]["message"] == "started"
    assert stored.spec.image == "emqx/emqx:5.8.6"


# ----- patch ---------------------------------------------------------------------------------


def test_merge_patch_changes_only_the_given_fields(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx(labels={"keep": "me"}))
    patched = client.patch(created.metadata.name, {"metadata": {"labels": {"added": "yes"}}, "spec": {"image": "p:1"}})
    assert patched.metadata.labels == {"keep": "me", "added": "yes"}
    assert patched.spec.image == "p:1"


def test_merge_patch_with_null_removes_a_field(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx(labels={"drop": "me", "keep": "me"}))
    patched = client.patch(created.metadata.name, {"metadata": {"labels": {"drop": None}}})
    assert patched.metadata.labels == {"keep": "me"}


def test_json_patch_applies_operations(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx())
    patched = client.patch(
        created.metadata.name,
        [
            {"op": "replace", "path": "/spec/image", "value": "json:2"},
            {"op": "add", "path": "/metadata/annotations", "value": {"note": "json patch"}},
        ],
        patch_type="json",
    )
    assert patched.spec.image == "json:2"
    assert patched.metadata.annotations == {"note": "json patch"}


def test_a_failing_json_patch_test_operation_changes_nothing(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx())
    with pytest.raises(ApiError):
        client.patch(
            created.metadata.name,
            [
                {"op": "test", "path": "/spec/image", "value": "not-this"},
                {"op": "replace", "path": "/spec/image", "value": "changed"},
            ],
            patch_type="json",
        )
    assert client.get(created.metadata.name).spec.image == "emqx/emqx:5.8.6"


def test_patching_the_status_subresource_writes_status(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.rebalances(namespace)
    created = client.create(rebalance())
    patched = client.patch(created.metadata.name, {"status": {"phase": "Processing"}}, subresource="status")
    assert patched.to_dict()["status"]["phase"] == "Processing"


# ----- delete ----------------------------------------------------------------------------------


def test_delete_removes_the_object(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx())
    assert client.delete(created.metadata.name) is None  # gone at once: the server sent a Status
    with pytest.raises(NotFound):
        client.get(created.metadata.name)


def test_delete_with_a_wrong_uid_precondition_is_a_conflict_and_deletes_nothing(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx())
    with pytest.raises(Conflict, match="UID in the precondition"):
        client.delete(created.metadata.name, precondition_uid="00000000-0000-0000-0000-000000000000")
    assert client.get(created.metadata.name).metadata.uid == created.metadata.uid


def test_delete_with_a_stale_resource_version_precondition_is_a_conflict(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx())
    client.patch(created.metadata.name, {"metadata": {"labels": {"changed": "yes"}}})
    with pytest.raises(Conflict):
        client.delete(created.metadata.name, precondition_resource_version=created.metadata.resource_version)
    client.get(created.metadata.name)  # still there


def test_delete_with_matching_preconditions_deletes(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx())
    client.delete(
        created.metadata.name,
        precondition_uid=created.metadata.uid,
        precondition_resource_version=created.metadata.resource_version,
    )
    with pytest.raises(NotFound):
        client.get(created.metadata.name)


@pytest.mark.parametrize(("policy", "finalizer"), [("Foreground", "foregroundDeletion"), ("Orphan", "orphan")])
def test_delete_sends_the_propagation_policy(cs: Clientset, namespace: str, policy: str, finalizer: str) -> None:
    # The garbage collector (not running in the sandbox) would finish these deletions; until
    # then the API server keeps the object with the policy's finalizer, which proves it got it.
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx())
    answer = client.delete(created.metadata.name, propagation_policy=policy)
    assert answer is not None and answer.metadata.finalizers == [finalizer]
    terminating = client.get(created.metadata.name)
    assert terminating.metadata.deletion_timestamp is not None
    assert terminating.metadata.finalizers == [finalizer]


def test_delete_collection_deletes_only_the_selected_objects(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    for i in range(3):
        client.create(emqx(name=f"doomed-{i}", labels={"fate": "doomed"}))
    client.create(emqx(name="spared", labels={"fate": "spared"}))
    deleted = client.delete_collection(label_selector={"fate": "doomed"})
    assert sorted(o.metadata.name for o in deleted) == ["doomed-0", "doomed-1", "doomed-2"]
    assert [o.metadata.name for o in client.list().items] == ["spared"]


# ----- scale -----------------------------------------------------------------------------------


def test_get_scale_reads_the_broker_replicas(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v1beta4.emqx_brokers(namespace)
    created = client.create(emqx_broker(replicas=3))
    scale = client.get_scale(created.metadata.name)
    assert isinstance(scale, Scale)
    assert scale.kind == "Scale"
    assert scale.api_version == "autoscaling/v1"
    assert scale.spec.replicas == 3
    assert scale.metadata.name == created.metadata.name


def test_update_scale_with_a_scale_sets_the_replicas(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v1beta4.emqx_brokers(namespace)
    created = client.create(emqx_broker(replicas=3))
    scale = client.get_scale(created.metadata.name)
    scale.spec.replicas = 5
    assert client.update_scale(created.metadata.name, scale).spec.replicas == 5
    assert client.get(created.metadata.name).spec.replicas == 5


def test_update_scale_with_a_stale_scale_is_a_conflict(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v1beta4.emqx_brokers(namespace)
    created = client.create(emqx_broker(replicas=3))
    stale = client.get_scale(created.metadata.name)
    client.update_scale(created.metadata.name, 4)
    stale.spec.replicas = 6
    with pytest.raises(Conflict):
        client.update_scale(created.metadata.name, stale)


def test_update_scale_of_an_emqx_sets_the_replicant_replicas(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx(replicant_replicas=2))
    assert client.get_scale(created.metadata.name).spec.replicas == 2
    client.update_scale(created.metadata.name, 4)
    stored = client.get(created.metadata.name).to_dict()
    assert stored["spec"]["replicantTemplate"]["spec"]["replicas"] == 4


# ----- dry run -----------------------------------------------------------------------------------


def test_dry_run_create_persists_nothing(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    answer = client.create(emqx(name="ghost"), dry_run=True)
    assert answer.metadata.name == "ghost"
    assert answer.spec.image == "emqx/emqx:5.8.6"
    with pytest.raises(NotFound):
        client.get("ghost")


def test_dry_run_update_patch_and_apply_persist_nothing(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx())
    name = created.metadata.name

    changed = client.get(name)
    changed.spec.image = "dry:update"
    assert client.update(changed, dry_run=True).spec.image == "dry:update"
    assert client.patch(name, {"spec": {"image": "dry:patch"}}, dry_run=True).spec.image == "dry:patch"
    assert (
        client.patch(
            name, [{"op": "replace", "path": "/spec/image", "value": "dry:json"}], patch_type="json", dry_run=True
        ).spec.image
        == "dry:json"
    )
    applied = emqx(name=name, image="dry:apply")
    assert client.apply(applied, dry_run=True, force=True).spec.image == "dry:apply"
    status = _with_status(
        client.get(name),
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "R",
                    "message": "m",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ]
        },
    )
    assert client.update_status(status, dry_run=True).to_dict()["status"]["conditions"][0]["type"] == "Ready"

    stored = client.get(name)
    assert stored.spec.image == "emqx/emqx:5.8.6"
    assert stored.metadata.resource_version == created.metadata.resource_version
    assert not stored.to_dict().get("status")


def test_dry_run_delete_and_delete_collection_persist_nothing(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx(labels={"dry": "run"}))
    client.delete(created.metadata.name, dry_run=True)
    would_delete = client.delete_collection(label_selector="dry=run", dry_run=True)
    assert [o.metadata.name for o in would_delete] == [created.metadata.name]
    assert client.get(created.metadata.name).metadata.deletion_timestamp is None


def test_dry_run_update_scale_persists_nothing(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v1beta4.emqx_brokers(namespace)
    created = client.create(emqx_broker(replicas=3))
    assert client.update_scale(created.metadata.name, 7, dry_run=True).spec.replicas == 7
    assert client.get(created.metadata.name).spec.replicas == 3


def test_a_namespaced_object_written_through_an_all_namespaces_client_goes_to_its_namespace(
    cs: Clientset, namespace: str
) -> None:
    name = unique_name()
    created = cs.apps_v2beta1.emqxes(None).create(emqx(name=name, namespace=namespace))
    assert created.metadata.namespace == namespace
    assert cs.apps_v2beta1.emqxes(namespace).get(name).metadata.uid == created.metadata.uid
