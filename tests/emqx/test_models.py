"""The generated models (emqx/models/apps_*.py) on real documents. No cluster needed."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from emqx.models import ObjectMeta, Resource, ResourceList, apps_v1beta1, apps_v1beta4, apps_v2alpha1, apps_v2beta1
from emqx.models._base import version_age
from emqx.models.apps_v2beta1 import EMQX, EMQXSpec, Rebalance

GENERATED_MODULES = [apps_v2beta1, apps_v2alpha1, apps_v1beta4, apps_v1beta1]

# The operator's examples (/work/shared/crds/examples/, comment lines left out) for the generated versions.
EXAMPLES = {
    "emqx.v2beta1.slim": """
apiVersion: apps.emqx.io/v2beta1
kind: EMQX
metadata:
  name: emqx
spec:
  image: emqx/emqx:latest
""",
    "emqx.v2beta1.full": """
apiVersion: apps.emqx.io/v2beta1
kind: EMQX
metadata:
  name: emqx
  labels:
    apps.emqx.io/instance: emqx
    apps.emqx.io/managed-by: emqx-operator
spec:
  image: "emqx/emqx-enterprise:latest"
  imagePullPolicy: Always
  revisionHistoryLimit: 3
  config:
    data: |
      dashboard.listeners.http.bind = 18083
      sysmon.vm.long_schedule = disabled
  coreTemplate:
    metadata:
      name: emqx-core
      labels:
        apps.emqx.io/instance: emqx
        apps.emqx.io/managed-by: emqx-operator
        apps.emqx.io/db-role: core
    spec:
      replicas: 1
      volumeClaimTemplates:
        resources:
          requests:
            storage: 20Mi
        accessModes:
        - ReadWriteOnce
      command:
        - "/usr/bin/docker-entrypoint.sh"
      args:
        - "/opt/emqx/bin/emqx"
        - "foreground"
      ports:
        - containerPort: 18083
          name: dashboard
          protocol: TCP
      env:
        - name: Foo
          value: Bar
      extraVolumes:
        - name: fake-volume
          emptyDir: {}
      extraVolumeMounts:
        - name: fake-volume
          mountPath: /tmp/fake
  replicantTemplate:
    metadata:
      name: emqx-replicant
      labels:
        apps.emqx.io/instance: emqx
        apps.emqx.io/managed-by: emqx-operator
        apps.emqx.io/db-role: replicant
    spec:
      replicas: 3
      command:
        - "/usr/bin/docker-entrypoint.sh"
      args:
        - "/opt/emqx/bin/emqx"
        - "foreground"
      ports:
        - containerPort: 18083
          name: dashboard
      env:
        - name: Foo
          value: Bar
      extraVolumes:
        - name: fake-volume
          emptyDir: {}
      extraVolumeMounts:
        - name: fake-volume
          mountPath: /tmp/fake
  dashboardServiceTemplate:
    metadata:
      name: emqx-dashboard
      labels:
        apps.emqx.io/instance: emqx
        apps.emqx.io/managed-by: emqx-operator
    spec:
      selector:
        apps.emqx.io/db-role: core
      ports:
        - name: "dashboard"
          protocol: TCP
          port: 18083
          targetPort: 18083
  listenersServiceTemplate:
    metadata:
      name: emqx-listeners
      labels:
        apps.emqx.io/instance: emqx
        apps.emqx.io/managed-by: emqx-operator
    spec:
      selector:
        apps.emqx.io/db-role: replicant
""",
    "emqx.v2beta1.durable-storage.main-2.3-e2e": """
apiVersion: apps.emqx.io/v2beta1
kind: EMQX
metadata:
  name: emqx
spec:
  image: emqx/emqx-enterprise:latest
  config:
    data: |
      durable_sessions { enable = true }
      durable_storage {
        messages {
          backend = builtin_raft
          n_shards = 8
        }
      }
  coreTemplate:
    spec:
      replicas: 2
  replicantTemplate:
    spec:
      replicas: 2
  updateStrategy:
    evacuationStrategy:
      waitTakeover: 1
""",
    "rebalance.v2beta1": """
apiVersion: apps.emqx.io/v2beta1
kind: Rebalance
metadata:
  name: rebalance-sample
spec:
  instanceName: emqx-ee
  rebalanceStrategy:
    connEvictRate: 5
    sessEvictRate: 5
    waitTakeover: 5
    waitHealthCheck: 10
    absConnThreshold: 10
    absSessThreshold: 10
    relConnThreshold: "1.2"
    relSessThreshold: "1.2"
""",
    "emqxenterprise.v1beta4.slim": """
apiVersion: apps.emqx.io/v1beta4
kind: EmqxEnterprise
metadata:
  name: emqx-ee
spec:
  template:
    spec:
      emqxContainer:
        image:
          repository: emqx/emqx-ee
          version: 4.4.15
""",
    "emqxbroker.v1beta1.full-2021-12-03": """
apiVersion: apps.emqx.io/v1beta1
kind: EmqxBroker
metadata:
  name: emqx
spec:
  serviceAccountName: "emqx"
  image: emqx/emqx:4.3.10
  replicas: 3
  labels:
    cluster: emqx
  storage:
    volumeClaimTemplate:
      spec:
        storageClassName: standard
        resources:
          requests:
            storage: 20Mi
        accessModes:
        - ReadWriteMany
  listener:
    type: ClusterIP
    ports:
      mqtt: 1883
      mqtts: 8883
      ws: 8083
      wss: 8084
      dashboard: 18083
      api: 8081
  acl:
    - permission: allow
      username: "dashboard"
      action: subscribe
      topics:
        filter:
          - "$SYS/#"
          - "#"
    - permission: allow
      ipaddress: "127.0.0.1"
      topics:
        filter:
          - "$SYS/#"
        equal:
          - "#"
    - permission: deny
      action: subscribe
      topics:
        filter:
          - "$SYS/#"
        equal:
          - "#"
    - permission: allow
  plugins:
    - name: emqx_management
      enable: true
    - name: emqx_recon
      enable: true
    - name: emqx_retainer
      enable: true
    - name: emqx_dashboard
      enable: true
    - name: emqx_telemetry
      enable: true
    - name: emqx_rule_engine
      enable: true
    - name: emqx_bridge_mqtt
      enable: false
  modules:
    - name: emqx_mod_acl_internal
      enable: true
    - name: emqx_mod_presence
      enable: true
""",
}

EXAMPLE_CLASSES = {
    "emqx.v2beta1.slim": apps_v2beta1.EMQX,
    "emqx.v2beta1.full": apps_v2beta1.EMQX,
    "emqx.v2beta1.durable-storage.main-2.3-e2e": apps_v2beta1.EMQX,
    "rebalance.v2beta1": apps_v2beta1.Rebalance,
    "emqxenterprise.v1beta4.slim": apps_v1beta4.EmqxEnterprise,
    "emqxbroker.v1beta1.full-2021-12-03": apps_v1beta1.EmqxBroker,
}


def example(name: str) -> dict[str, Any]:
    return yaml.safe_load(EXAMPLES[name])


def running_emqx() -> dict[str, Any]:
    """A Ready EMQX v2beta1 as the API server returns it: server-set metadata, status as the operator writes it."""
    document = example("emqx.v2beta1.full")
    document["metadata"].update(
        {
            "namespace": "default",
            "uid": "0b6c1c55-4fd4-4a4c-9d0e-2f7d1f1f3a10",
            "resourceVersion": "48213",
            "generation": 2,
            "creationTimestamp": "2024-01-01T00:00:00Z",
            "finalizers": ["apps.emqx.io/finalizer"],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
            "managedFields": [
                {
                    "apiVersion": "apps.emqx.io/v2beta1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {".": {}, "f:image": {}}},
                    "manager": "kubectl-client-side-apply",
                    "operation": "Update",
                    "time": "2024-01-01T00:00:00Z",
                },
                {
                    "apiVersion": "apps.emqx.io/v2beta1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:status": {".": {}, "f:conditions": {}}},
                    "manager": "emqx-operator",
                    "operation": "Update",
                    "subresource": "status",
                    "time": "2024-01-01T00:02:13Z",
                },
            ],
        }
    )
    node = {
        "node": "emqx@emqx-core-5c8f7b6d4-0.emqx-headless.default.svc.cluster.local",
        "node_status": "running",
        "otp_release": "26.2.1-2/14.2.1",
        "version": "5.6.0",
        "role": "core",
        "edition": "Enterprise",
        "connections": 0,
        "live_connections": 0,
        "controllerUID": "5a0e38e4-7c43-4a59-a1b5-0b8d60a0a5a2",
        "podUID": "b7f5d7e2-0a9e-4c1b-9a57-1c0f4a2f4c11",
    }
    ready = [
        ("Ready", "ClusterReady", "2024-01-01T00:02:13Z"),
        ("Available", "ClusterAvailable", "2024-01-01T00:02:12Z"),
        ("ReplicantNodesReady", "ReplicantNodesReady", "2024-01-01T00:02:10Z"),
        ("ReplicantNodesProgressing", "CreateNewReplicaSet", "2024-01-01T00:01:30Z"),
        ("CoreNodesReady", "CoreNodesReady", "2024-01-01T00:01:29Z"),
        ("CoreNodesProgressing", "CreateNewStatefulSet", "2024-01-01T00:00:02.123456Z"),
        ("Initialized", "Initialized", "2024-01-01T00:00:01Z"),
    ]
    document["status"] = {
        "conditions": [
            {
                "type": condition_type,
                "status": "True",
                "reason": reason,
                "message": f"{condition_type} since {time}",
                "lastTransitionTime": time,
                "observedGeneration": 2,
            }
            for condition_type, reason, time in ready
        ],
        "coreNodes": [node],
        "coreNodesStatus": {
            "replicas": 1,
            "readyReplicas": 1,
            "currentRevision": "5c8f7b6d4",
            "currentReplicas": 1,
            "updateRevision": "5c8f7b6d4",
            "updateReplicas": 1,
            "collisionCount": 0,
        },
        "replicantNodes": [{**node, "node": "emqx@10.0.0.7", "role": "replicant"}],
        "replicantNodesStatus": {
            "replicas": 3,
            "readyReplicas": 3,
            "currentRevision": "7d9b8f6c5",
            "currentReplicas": 3,
            "updateRevision": "7d9b8f6c5",
            "updateReplicas": 3,
        },
        "nodeEvacuationsStatus": [
            {
                "node": "emqx@10.0.0.7",
                "state": "waiting_takeover",
                "session_recipients": ["emqx@10.0.0.8"],
                "session_eviction_rate": 500,
                "connection_eviction_rate": 1000,
                "stats": {"initial_sessions": 10, "current_sessions": 4},
            }
        ],
    }
    return document


# --- round trips -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_operator_example_round_trips_unchanged(name: str) -> None:
    document = example(name)

    resource = Resource.from_dict(document)

    assert type(resource) is EXAMPLE_CLASSES[name]
    assert resource.to_dict() == document


def test_a_running_emqx_with_full_status_round_trips_unchanged() -> None:
    document = running_emqx()

    emqx = EMQX.from_dict(document)

    assert emqx.to_dict() == document
    assert json.loads(emqx.model_dump_json(by_alias=True, exclude_unset=True)) == document


def test_a_running_emqx_status_reads_as_typed_values() -> None:
    emqx = EMQX.from_dict(running_emqx())

    assert emqx.status is not None
    assert emqx.status.conditions is not None
    assert emqx.status.conditions[0].type == "Ready"
    assert emqx.status.conditions[0].last_transition_time == datetime(2024, 1, 1, 0, 2, 13, tzinfo=UTC)
    assert emqx.status.core_nodes is not None
    assert emqx.status.core_nodes[0].node_status == "running"
    assert emqx.status.core_nodes[0].otp_release == "26.2.1-2/14.2.1"
    assert emqx.status.core_nodes[0].pod_uid == "b7f5d7e2-0a9e-4c1b-9a57-1c0f4a2f4c11"
    assert emqx.status.replicant_nodes_status is not None
    assert emqx.status.replicant_nodes_status.ready_replicas == 3
    assert emqx.metadata.creation_timestamp == datetime(2024, 1, 1, tzinfo=UTC)
    assert emqx.metadata.managed_fields is not None
    assert emqx.metadata.managed_fields[1].subresource == "status"


def test_unknown_fields_written_by_a_newer_operator_survive_a_round_trip() -> None:
    document = running_emqx()
    document["futureTopLevel"] = {"a": 1}
    document["metadata"]["futureMeta"] = "x"
    document["spec"]["futureSpecField"] = [1, {"b": True}]
    document["spec"]["coreTemplate"]["spec"]["futurePodField"] = {"nested": {"deep": None}}
    document["spec"]["coreTemplate"]["spec"]["ports"][0]["futurePortField"] = "y"
    document["status"]["coreNodes"][0]["future_node_field"] = 42
    document["status"]["futureStatusField"] = "z"

    emqx = EMQX.from_dict(document)

    assert emqx.to_dict() == document
    assert emqx.model_extra == {"futureTopLevel": {"a": 1}}
    assert emqx.spec is not None
    assert emqx.spec.model_extra == {"futureSpecField": [1, {"b": True}]}


def test_unknown_fields_survive_an_edit_of_a_known_field() -> None:
    document = example("emqx.v2beta1.full")
    document["spec"]["futureSpecField"] = "kept"
    emqx = EMQX.from_dict(document)
    assert emqx.spec is not None

    emqx.spec.image = "emqx/emqx-enterprise:5.8.0"

    written = emqx.to_dict()
    assert written["spec"]["futureSpecField"] == "kept"
    assert written["spec"]["image"] == "emqx/emqx-enterprise:5.8.0"


def test_explicit_nulls_are_written_back_as_read() -> None:
    document = example("emqx.v2beta1.slim")
    document["spec"]["serviceAccountName"] = None

    assert EMQX.from_dict(document).to_dict() == document


# --- defaults -------------------------------------------------------------------------------------------------


def test_schema_defaults_are_readable_but_not_written_back() -> None:
    emqx = EMQX.from_dict(example("emqx.v2beta1.slim"))
    assert emqx.spec is not None

    assert emqx.spec.update_strategy is not None
    assert emqx.spec.update_strategy.type == "Recreate"
    assert emqx.spec.cluster_domain == "cluster.local"
    assert emqx.to_dict() == example("emqx.v2beta1.slim")


def test_schema_defaults_are_exposed_on_the_fields_for_forms() -> None:
    assert EMQXSpec.model_fields["cluster_domain"].default == "cluster.local"
    assert EMQXSpec.model_fields["core_template"].default == {"spec": {"replicas": 1}}
    assert apps_v2beta1.CoreTemplateSpec.model_fields["replicas"].default == 2
    assert apps_v2beta1.Config.model_fields["mode"].default == "Merge"
    assert apps_v2beta1.RebalanceStrategy.model_fields["rel_conn_threshold"].default == "1.1"


def test_a_required_field_with_a_schema_default_may_be_left_out() -> None:
    # The API server defaults before it checks `required`; the Rebalance example omits instanceKind.
    rebalance = Rebalance.from_dict(example("rebalance.v2beta1"))

    assert rebalance.spec is not None
    assert rebalance.spec.instance_kind == "EMQX"
    assert "instanceKind" not in rebalance.to_dict()["spec"]


def test_a_required_field_without_a_default_is_enforced() -> None:
    document = example("emqx.v2beta1.slim")
    del document["spec"]["image"]

    with pytest.raises(ValidationError, match="image"):
        EMQX.from_dict(document)


# --- building objects in Python ------------------------------------------------------------------------------


def test_a_new_object_built_in_python_writes_its_api_version_and_kind() -> None:
    emqx = EMQX(metadata=ObjectMeta(name="x", namespace="ns"), spec=EMQXSpec(image="emqx:5"))

    assert emqx.to_dict() == {
        "apiVersion": "apps.emqx.io/v2beta1",
        "kind": "EMQX",
        "metadata": {"name": "x", "namespace": "ns"},
        "spec": {"image": "emqx:5"},
    }


def test_kind_identity_is_on_the_class_and_on_its_objects() -> None:
    assert (EMQX.group, EMQX.version, EMQX.kind, EMQX.plural) == ("apps.emqx.io", "v2beta1", "EMQX", "emqxes")
    assert (EMQX.namespaced, EMQX.list_kind, EMQX.api_version) == (True, "EMQXList", "apps.emqx.io/v2beta1")
    assert EMQX.from_dict(example("emqx.v2beta1.slim")).kind == "EMQX"
    assert (apps_v1beta4.EmqxBroker.plural, apps_v1beta4.EmqxBroker.version) == ("emqxbrokers", "v1beta4")
    assert (Rebalance.plural, Rebalance.list_kind) == ("rebalances", "RebalanceList")


def test_fields_take_python_names_or_json_keys() -> None:
    by_name = EMQXSpec(image="emqx:5", image_pull_policy="Always", revision_history_limit=1)
    by_key = EMQXSpec.model_validate({"image": "emqx:5", "imagePullPolicy": "Always", "revisionHistoryLimit": 1})

    assert (
        by_name.to_dict()
        == by_key.to_dict()
        == {"image": "emqx:5", "imagePullPolicy": "Always", "revisionHistoryLimit": 1}
    )


def test_a_document_of_another_kind_or_version_is_refused() -> None:
    v2alpha1 = {**example("emqx.v2beta1.slim"), "apiVersion": "apps.emqx.io/v2alpha1"}
    broker = {**example("emqx.v2beta1.slim"), "kind": "EmqxBroker"}

    with pytest.raises(ValidationError, match=re.escape("cannot be read as EMQX apps.emqx.io/v2beta1")):
        EMQX.from_dict(v2alpha1)
    with pytest.raises(
        ValidationError, match=re.escape("a EmqxBroker apps.emqx.io/v2beta1 document cannot be read as EMQX")
    ):
        EMQX.from_dict(broker)
    with pytest.raises(ValidationError):
        EMQX.from_dict(example("rebalance.v2beta1"))


def test_resource_from_dict_picks_the_class_of_the_documents_version() -> None:
    v2alpha1 = {**example("emqx.v2beta1.slim"), "apiVersion": "apps.emqx.io/v2alpha1"}

    assert type(Resource.from_dict(v2alpha1)) is apps_v2alpha1.EMQX
    with pytest.raises(LookupError):
        Resource.from_dict({"apiVersion": "apps.emqx.io/v9", "kind": "EMQX"})


# --- lists ----------------------------------------------------------------------------------------------------


def test_a_list_response_round_trips_with_typed_items() -> None:
    response = {
        "apiVersion": "apps.emqx.io/v2beta1",
        "kind": "EMQXList",
        "metadata": {"resourceVersion": "48213", "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ", "remainingItemCount": 3},
        "items": [running_emqx(), example("emqx.v2beta1.slim")],
    }

    emqxes = ResourceList[EMQX].from_dict(response)

    assert all(isinstance(item, EMQX) for item in emqxes.items)
    assert emqxes.metadata.continue_ == "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"
    assert emqxes.to_dict() == response


def test_a_list_built_in_python_gets_the_list_kind_of_its_items() -> None:
    emqxes = ResourceList[EMQX](items=[EMQX(metadata=ObjectMeta(name="a"), spec=EMQXSpec(image="emqx:5"))])

    written = emqxes.to_dict()

    assert (written["apiVersion"], written["kind"]) == ("apps.emqx.io/v2beta1", "EMQXList")
    assert written["items"][0]["kind"] == "EMQX"


# --- types ----------------------------------------------------------------------------------------------------


def test_timestamps_are_datetimes_written_back_exactly_as_read() -> None:
    document = running_emqx()
    times = ["2024-01-01T00:00:00Z", "2024-01-01T00:00:02.123456Z", "2030-12-31T23:59:59Z"]
    for condition, time in zip(document["status"]["conditions"], times, strict=False):
        condition["lastTransitionTime"] = time

    emqx = EMQX.from_dict(document)

    assert emqx.status is not None and emqx.status.conditions is not None
    assert isinstance(emqx.status.conditions[0].last_transition_time, datetime)
    assert emqx.status.conditions[0].last_transition_time.tzinfo is not None
    written = emqx.to_dict()["status"]["conditions"]
    assert [condition["lastTransitionTime"] for condition in written[:3]] == times
    assert '"lastTransitionTime":"2024-01-01T00:00:00Z"' in emqx.model_dump_json(by_alias=True)


def test_metadata_is_object_meta_and_pod_template_metadata_a_generated_class() -> None:
    emqx = EMQX.from_dict(example("emqx.v2beta1.full"))
    assert emqx.spec is not None and emqx.spec.core_template is not None

    assert isinstance(emqx.metadata, ObjectMeta)
    assert emqx.metadata.labels == {"apps.emqx.io/instance": "emqx", "apps.emqx.io/managed-by": "emqx-operator"}
    assert isinstance(emqx.spec.core_template.metadata, apps_v2beta1.Metadata)
    assert emqx.spec.core_template.metadata.name == "emqx-core"


def test_int_or_string_fields_keep_the_type_they_were_given() -> None:
    document = example("emqx.v2beta1.full")
    document["spec"]["listenersServiceTemplate"]["spec"]["ports"] = [
        {"name": "mqtt", "port": 1883, "targetPort": "mqtt"},
        {"name": "ws", "port": 8083, "targetPort": 8083},
    ]
    document["spec"]["coreTemplate"]["spec"]["maxUnavailable"] = "25%"

    emqx = EMQX.from_dict(document)

    assert emqx.spec is not None and emqx.spec.listeners_service_template is not None
    ports = emqx.spec.listeners_service_template.spec.ports  # type: ignore[union-attr]
    assert [port.target_port for port in ports] == ["mqtt", 8083]
    assert emqx.to_dict() == document


def test_quantities_keep_their_written_form_and_refuse_what_the_api_server_refuses() -> None:
    resources = {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": 1, "memory": "512Mi"}}
    container = {"name": "sidecar", "image": "busybox", "resources": resources}

    parsed = apps_v2beta1.Container.model_validate(container)

    assert parsed.to_dict() == container
    with pytest.raises(ValidationError, match="pattern"):
        apps_v2beta1.Container.model_validate({**container, "resources": {"limits": {"cpu": "half a core"}}})


def test_preserve_unknown_fields_objects_are_free_form_dicts() -> None:
    configs = {"acl_rules": [{"allow": "all"}], "nested": {"a": {"b": 1}}}
    document = {
        "apiVersion": "apps.emqx.io/v1beta1",
        "kind": "EmqxEnterprise",
        "metadata": {"name": "emqx-ee"},
        "spec": {
            "image": "emqx/emqx-ee:4.3.5",
            "modules": [{"name": "internal_acl", "enable": True, "configs": configs}],
        },
    }

    enterprise = apps_v1beta1.EmqxEnterprise.from_dict(document)

    assert enterprise.spec is not None and enterprise.spec.modules is not None
    assert enterprise.spec.modules[0].configs == configs
    assert enterprise.to_dict() == document


def test_enum_values_are_plain_strings_in_every_dump_mode() -> None:
    config = apps_v2beta1.Config(mode="Replace")

    assert type(config.model_dump()["mode"]) is str
    assert yaml.safe_dump(config.model_dump(exclude_unset=True)) == "mode: Replace\n"
    with pytest.raises(ValidationError):
        apps_v2beta1.Config(mode="Overwrite")  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["abc", "a-b_C9", "-_-", "_", "KEY-1"])
def test_a_bootstrap_api_key_the_api_server_accepts_is_accepted(key: str) -> None:
    # The CRD says ^[a-zA-Z\d-_]+$ : Go reads "[\d-_]" as digit, '-' or '_'.
    assert apps_v2beta1.BootstrapAPIKey(key=key).key == key
    assert apps_v2beta1.SecretKeyRef(secret_key=key, secret_name="s").secret_key == key


@pytest.mark.parametrize("key", ["", "a b", "a.b", "a/b", "key\n", "\u0661", "ключ"])
def test_a_bootstrap_api_key_the_api_server_refuses_is_refused(key: str) -> None:
    # Go's \d is ASCII only, and its $ does not match before a final newline.
    with pytest.raises(ValidationError):
        apps_v2beta1.BootstrapAPIKey(key=key)


def test_condition_fields_are_checked_like_metav1_condition() -> None:
    valid = {
        "type": "Ready",
        "status": "True",
        "reason": "ClusterReady",
        "message": "",
        "lastTransitionTime": "2024-01-01T00:00:00Z",
    }

    assert apps_v2beta1.EMQXCondition.model_validate(valid).to_dict() == valid
    with pytest.raises(ValidationError):
        apps_v2beta1.EMQXCondition.model_validate({**valid, "reason": "not a reason"})
    with pytest.raises(ValidationError):
        apps_v2beta1.EMQXCondition.model_validate({**valid, "status": "Maybe"})


# --- names ----------------------------------------------------------------------------------------------------


def generated_classes(module: ModuleType) -> dict[str, type]:
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type) and value.__module__ == module.__name__
    }


@pytest.mark.parametrize("module", GENERATED_MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_class_names_are_words_not_numbered_variants(module: ModuleType) -> None:
    names = generated_classes(module)

    assert names
    assert [name for name in names if re.search(r"\d$", name)] == []


def test_kinds_and_their_spec_and_status_have_the_kind_in_their_name() -> None:
    for module, kinds in [
        (apps_v2beta1, ["EMQX", "Rebalance"]),
        (apps_v2alpha1, ["EMQX"]),
        (apps_v1beta4, ["EmqxBroker", "EmqxEnterprise", "Rebalance"]),
        (apps_v1beta1, ["EmqxBroker", "EmqxEnterprise"]),
    ]:
        classes = generated_classes(module)
        for kind in kinds:
            assert issubclass(classes[kind], Resource)
            assert classes[kind].model_fields["spec"].annotation == classes[f"{kind}Spec"] | None
            assert classes[kind].model_fields["status"].annotation == classes[f"{kind}Status"] | None


def test_identical_pod_template_schemas_become_one_class_named_after_the_key() -> None:
    spec_fields = apps_v2beta1.CoreTemplateSpec.model_fields
    container_fields = apps_v2beta1.Container.model_fields

    assert spec_fields["extra_containers"].annotation == list[apps_v2beta1.Container] | None
    assert spec_fields["init_containers"].annotation == list[apps_v2beta1.Container] | None
    assert container_fields["liveness_probe"].annotation == container_fields["readiness_probe"].annotation
    assert apps_v2beta1.Probe.model_fields["http_get"].annotation == apps_v2beta1.HttpGet | None
    assert apps_v2beta1.EMQXStatus.model_fields["replicant_nodes"].annotation == list[apps_v2beta1.Node] | None


def test_different_schemas_under_one_key_are_told_apart_by_their_parent() -> None:
    assert apps_v2beta1.CoreTemplate.model_fields["spec"].annotation == apps_v2beta1.CoreTemplateSpec | None
    assert apps_v2beta1.ReplicantTemplate.model_fields["spec"].annotation == apps_v2beta1.ReplicantTemplateSpec | None
    assert apps_v2beta1.EMQXStatus.model_fields["conditions"].annotation == list[apps_v2beta1.EMQXCondition] | None
    assert apps_v2beta1.RebalanceStatus.model_fields["conditions"].annotation == (
        list[apps_v2beta1.RebalanceCondition] | None
    )


def test_models_are_independent_copies() -> None:
    # A default sub-object is validated per instance, never shared between objects.
    first, second = EMQXSpec(image="a"), EMQXSpec(image="b")
    assert first.core_template is not None and second.core_template is not None

    assert first.core_template is not second.core_template
    assert copy.deepcopy(first) == first


def _entry(version: str, time: str, owns: str, subresource: str = "") -> dict[str, Any]:
    return {
        "apiVersion": f"apps.emqx.io/{version}",
        "manager": f"writer-{version}",
        "operation": "Update",
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": {owns: {}},
        **({"subresource": subresource} if subresource else {}),
    }


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], ""),
        ([_entry("v2alpha1", "2024-01-01T00:00:00Z", "f:spec")], "v2alpha1"),
        (  # the operator's status and a later label edit own no part of the spec
            [
                _entry("v2alpha1", "2024-01-01T00:00:00Z", "f:spec"),
                _entry("v2beta1", "2024-01-02T00:00:00Z", "f:status", subresource="status"),
                _entry("v2beta1", "2024-01-03T00:00:00Z", "f:metadata"),
            ],
            "v2alpha1",
        ),
        (  # a label written through the old version is not the spec
            [
                _entry("v2alpha1", "2024-01-03T00:00:00Z", "f:metadata"),
                _entry("v2beta1", "2024-01-01T00:00:00Z", "f:spec"),
            ],
            "v2beta1",
        ),
        (  # any part of the spec still owned through the old version, whoever wrote later
            [
                _entry("v2beta1", "2024-01-05T00:00:00Z", "f:spec"),
                _entry("v2alpha1", "2024-01-01T00:00:00Z", "f:spec"),
            ],
            "v2alpha1",
        ),
        ([_entry("v3beta1", "2026-01-01T00:00:00Z", "f:spec"), _entry("v2", "2025-01-01T00:00:00Z", "f:spec")], "v2"),
        ([_entry("v2alpha1", "2024-01-01T00:00:00Z", "f:metadata")], "v2alpha1"),  # nobody owns the spec
        ([_entry("v2beta1", "2024-01-01T00:00:00Z", "f:status", subresource="status")], ""),
    ],
)
def test_the_kind_version_is_the_oldest_one_that_still_owns_part_of_the_spec(
    entries: list[dict[str, Any]], expected: str
) -> None:
    assert ObjectMeta.model_validate({"name": "e", "managedFields": entries}).spec_api_version() == expected


def test_versions_of_a_kind_sort_in_release_order() -> None:
    names = ["v3beta1", "v2", "v1beta4", "v10", "v2beta1", "v2alpha1", "v1beta10", "v1", "custom"]
    assert sorted(names, key=version_age) == [
        "custom",
        "v1beta4",
        "v1beta10",
        "v1",
        "v2alpha1",
        "v2beta1",
        "v2",
        "v3beta1",
        "v10",
    ]
