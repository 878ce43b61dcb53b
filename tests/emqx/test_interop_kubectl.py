"""kubectl and the emqx client see the same objects: what one writes, the other reads back
field for field, in every direction and across served versions."""

from __future__ import annotations

import json
from typing import Any

import yaml

from emqx.client import Clientset
from emqx.models import apps_v1beta4, apps_v2beta1
from tests.factories import emqx, emqx_broker

# A rich EMQX (from the operator's full example): nested templates, lists, quantities,
# a multi-line config, labels with prefixes.
RICH_EMQX = """\
apiVersion: apps.emqx.io/v2beta1
kind: EMQX
metadata:
  name: rich
  labels:
    apps.emqx.io/instance: rich
    apps.emqx.io/managed-by: emqx-operator
  annotations:
    console.example/owner: team-iot
spec:
  image: "emqx/emqx-enterprise:5.8.6"
  imagePullPolicy: Always
  revisionHistoryLimit: 3
  config:
    data: |
      dashboard.listeners.http.bind = 18083
      sysmon.vm.long_schedule = disabled
  coreTemplate:
    metadata:
      labels:
        apps.emqx.io/db-role: core
    spec:
      replicas: 2
      volumeClaimTemplates:
        resources:
          requests:
            storage: 20Mi
        accessModes:
        - ReadWriteOnce
      command: ["/usr/bin/docker-entrypoint.sh"]
      args: ["/opt/emqx/bin/emqx", "foreground"]
      ports:
        - containerPort: 18083
          name: dashboard
          protocol: TCP
      env:
        - name: Foo
          value: Bar
      resources:
        requests:
          memory: "64Mi"
          cpu: "125m"
        limits:
          memory: "1Gi"
          cpu: "500m"
      extraVolumes:
        - name: fake-volume
          emptyDir: {}
      extraVolumeMounts:
        - name: fake-volume
          mountPath: /tmp/fake
  replicantTemplate:
    spec:
      replicas: 3
  listenersServiceTemplate:
    spec:
      type: ClusterIP
"""


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of a JSON document by its path (``spec.coreTemplate.spec.ports[0].name``)."""
    if isinstance(value, dict):
        if not value:
            return {path: {}}
        out: dict[str, Any] = {}
        for key, child in value.items():
            out.update(_flatten(child, f"{path}.{key}" if path else key))
        return out
    if isinstance(value, list):
        if not value:
            return {path: []}
        out = {}
        for i, child in enumerate(value):
            out.update(_flatten(child, f"{path}[{i}]"))
        return out
    return {path: value}


def _differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    a, b = _flatten(expected), _flatten(actual)
    return [
        f"{p}: {a.get(p, '<absent>')!r} != {b.get(p, '<absent>')!r}"
        for p in sorted(a.keys() | b.keys())
        if a.get(p, object()) != b.get(p, object())
    ]


def _kubectl_json(kubectl, *args: str) -> dict[str, Any]:
    result = kubectl("get", *args, "-o", "json", "--show-managed-fields")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_an_emqx_created_through_the_client_reads_back_identically_with_kubectl(
    cs: Clientset, kubectl, namespace: str
) -> None:
    created = cs.apps_v2beta1.emqxes(namespace).create(apps_v2beta1.EMQX.from_dict(_yaml(RICH_EMQX)))
    seen_by_kubectl = _kubectl_json(kubectl, "emqxes.v2beta1.apps.emqx.io", "rich", "-n", namespace)
    assert _differences(seen_by_kubectl, created.to_dict()) == []
    # and the values a person would check, through the typed model
    assert seen_by_kubectl["spec"]["coreTemplate"]["spec"]["replicas"] == 2
    assert seen_by_kubectl["metadata"]["uid"] == created.metadata.uid
    assert seen_by_kubectl["metadata"]["managedFields"][0]["manager"] == "emqx-console"


def test_an_emqx_applied_with_kubectl_reads_identically_through_the_client(
    cs: Clientset, kubectl, namespace: str
) -> None:
    result = kubectl("apply", "-n", namespace, "-f", "-", input=RICH_EMQX)
    assert result.returncode == 0, result.stderr
    through_client = cs.apps_v2beta1.emqxes(namespace).get("rich")
    seen_by_kubectl = _kubectl_json(kubectl, "emqxes.v2beta1.apps.emqx.io", "rich", "-n", namespace)
    assert _differences(seen_by_kubectl, through_client.to_dict()) == []
    assert through_client.spec.core_template.spec.replicas == 2
    assert through_client.metadata.annotations["console.example/owner"] == "team-iot"
    # kubectl's client-side apply keeps its last-applied annotation; the client keeps it too
    assert "kubectl.kubernetes.io/last-applied-configuration" in through_client.metadata.annotations


def test_a_client_update_of_a_kubectl_object_is_what_kubectl_then_shows(cs: Clientset, kubectl, namespace: str) -> None:
    assert kubectl("apply", "-n", namespace, "-f", "-", input=RICH_EMQX).returncode == 0
    client = cs.apps_v2beta1.emqxes(namespace)
    obj = client.get("rich")
    obj.spec.image = "emqx/emqx-enterprise:5.9.0"
    updated = client.update(obj)
    seen_by_kubectl = _kubectl_json(kubectl, "emqxes.v2beta1.apps.emqx.io", "rich", "-n", namespace)
    assert seen_by_kubectl["spec"]["image"] == "emqx/emqx-enterprise:5.9.0"
    assert _differences(seen_by_kubectl, updated.to_dict()) == []


def test_kubectl_lists_what_the_client_created_and_the_client_lists_what_kubectl_created(
    cs: Clientset, kubectl, namespace: str
) -> None:
    cs.apps_v1beta4.emqx_brokers(namespace).create(emqx_broker(name="from-client", replicas=2))
    manifest = emqx_broker(name="from-kubectl", replicas=1).to_dict()
    assert kubectl("create", "-n", namespace, "-f", "-", input=json.dumps(manifest)).returncode == 0

    listed = _kubectl_json(kubectl, "emqxbrokers.v1beta4.apps.emqx.io", "-n", namespace)
    assert sorted(item["metadata"]["name"] for item in listed["items"]) == ["from-client", "from-kubectl"]
    through_client = cs.apps_v1beta4.emqx_brokers(namespace).list()
    assert all(isinstance(o, apps_v1beta4.EmqxBroker) for o in through_client.items)
    by_name = {o.metadata.name: o.to_dict() for o in through_client.items}
    for item in listed["items"]:
        assert _differences(item, by_name[item["metadata"]["name"]]) == []


def test_kubectl_delete_is_seen_by_the_client_and_client_delete_by_kubectl(
    cs: Clientset, kubectl, namespace: str
) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    client.create(emqx(name="gone-by-kubectl"))
    client.create(emqx(name="gone-by-client"))
    assert kubectl("delete", "emqxes.apps.emqx.io", "gone-by-kubectl", "-n", namespace).returncode == 0
    client.delete("gone-by-client")
    assert client.list().items == []
    result = kubectl("get", "emqxes.apps.emqx.io", "-n", namespace, "-o", "name")
    assert result.returncode == 0 and result.stdout.strip() == ""


def test_an_object_written_as_v2beta1_is_served_as_v2alpha1_too(cs: Clientset, kubectl, namespace: str) -> None:
    # Without the operator's conversion webhook both served versions share the stored object.
    cs.apps_v2beta1.emqxes(namespace).create(emqx(name="two-faces"))
    as_alpha = cs.apps_v2alpha1.emqxes(namespace).get("two-faces")
    assert as_alpha.api_version == "apps.emqx.io/v2alpha1"
    seen_by_kubectl = _kubectl_json(kubectl, "emqxes.v2alpha1.apps.emqx.io", "two-faces", "-n", namespace)
    assert _differences(seen_by_kubectl, as_alpha.to_dict()) == []


def test_kubectl_scale_and_the_client_scale_agree(cs: Clientset, kubectl, namespace: str) -> None:
    client = cs.apps_v1beta4.emqx_brokers(namespace)
    client.create(emqx_broker(name="scaled", replicas=1))
    result = kubectl("scale", "emqxbrokers.apps.emqx.io/scaled", "--replicas=4", "-n", namespace)
    assert result.returncode == 0, result.stderr
    assert client.get_scale("scaled").spec.replicas == 4
    client.update_scale("scaled", 2)
    assert (
        _kubectl_json(kubectl, "emqxbrokers.v1beta4.apps.emqx.io", "scaled", "-n", namespace)["spec"]["replicas"] == 2
    )


def _yaml(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)
