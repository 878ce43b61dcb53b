"""Adding an EMQX: the form, YAML mode, the dry-run before every write, and every way it fails."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client

from console.forms.schema import ResourceForm
from console.models import AuditEntry, RoleGrant
from emqx.client.clientset import Clientset
from emqx.client.resource import ResourceClient
from emqx.errors import ClusterUnreachable
from sandbox import Sandbox
from tests.support import (
    CONFIG_DATA,
    CONFIG_MODE,
    CORE_REPLICAS,
    CPU_LIMIT,
    CPU_REQUEST,
    DASHBOARD_SERVICE_TYPE,
    IMAGE,
    LABELS,
    LISTENERS_SERVICE_TYPE,
    MEMORY_LIMIT,
    MEMORY_REQUEST,
    NAME,
    NAMESPACE,
    REPLICANT_REPLICAS,
    emqx_add_values,
    emqx_form_data,
    emqx_form_spec,
    eventually,
)

pytestmark = pytest.mark.django_db

URL = "/clusters/default/emqx/add/"


def _values(namespace: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The add form's values (by path) with a name, the namespace and the image filled in."""
    return {**emqx_add_values(), NAME: "broker", NAMESPACE: namespace, IMAGE: "emqx/emqx:5.8.6", **(values or {})}


def _data(namespace: str, values: dict[str, Any] | None = None) -> dict[str, str]:
    """What a browser posts for the add form showing those values."""
    return emqx_form_data(_values(namespace, values))


def _errors_on(path: str) -> str:
    return f'id="errors-{path}"'


def _names(clientset: Clientset, namespace: str) -> list[str]:
    return [o.metadata.name or "" for o in clientset.apps_v2beta1.emqxes(namespace).list().items]


def _html(response: Any) -> str:
    return str(response.content.decode())


def test_the_form_shows_the_schemas_defaults_and_validates_in_the_browser(admin: Client) -> None:
    response = admin.get(URL, {"namespace": "team-a"})
    html = _html(response)
    assert response.status_code == 200
    assert f'name="{CORE_REPLICAS}" value="1"' in html  # EMQXSpec's coreTemplate default
    assert '<option value="" selected>— (default: Merge)</option>' in html  # Config.mode's default
    assert f'name="{NAMESPACE}" value="team-a"' in html
    name_input = html[html.index(f'name="{NAME}"') - 200 : html.index(f'name="{NAME}"') + 200]
    assert "required" in name_input and 'maxlength="63"' in name_input and 'pattern="[a-z0-9]' in name_input
    assert 'min="1"' in html and 'max="32"' in html  # core replicas bounds
    assert 'placeholder="none (e.g. 2)"' in html  # ReplicantTemplateSpec's replicas default


def test_it_creates_with_only_what_the_user_chose(admin: Client, clientset: Clientset, namespace: str) -> None:
    response = admin.post(URL, _data(namespace))
    assert response.status_code == 302
    assert response["Location"] == f"/clusters/default/emqx/{namespace}/broker/"
    obj = clientset.apps_v2beta1.emqxes(namespace).get("broker")
    assert obj.spec is not None and obj.spec.image == "emqx/emqx:5.8.6"
    assert obj.spec.replicant_template is None  # replicants left empty: no replicant template
    # What the console sends holds no schema default the user did not choose (the server
    # fills those in itself, as it would for kubectl).
    form = ResourceForm(_data(namespace), spec=emqx_form_spec())
    assert form.is_valid(), form.errors
    assert form.intended().to_dict()["spec"] == {"image": "emqx/emqx:5.8.6"}
    detail = admin.get(response["Location"])
    assert "was created" in _html(detail) and "emqx/emqx:5.8.6" in _html(detail)  # seen at once (cache)


def test_it_writes_replicants_resources_services_config_and_labels(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    data = _data(
        namespace,
        {
            CORE_REPLICAS: 3,
            REPLICANT_REPLICAS: 4,
            CPU_REQUEST: "500m",
            CPU_LIMIT: "1",
            MEMORY_REQUEST: "512Mi",
            MEMORY_LIMIT: "1Gi",
            DASHBOARD_SERVICE_TYPE: "NodePort",
            LISTENERS_SERVICE_TYPE: "LoadBalancer",
            CONFIG_MODE: "Replace",
            LABELS: {"team": "iot", "tier": "gold"},
        },
    )
    data[CONFIG_DATA] = 'listeners.tcp.default {\r\n  bind = "0.0.0.0:1883"\r\n}\r\n'  # as a browser sends it
    assert admin.post(URL, data).status_code == 302
    spec = clientset.apps_v2beta1.emqxes(namespace).get("broker").to_dict()["spec"]
    assert spec["coreTemplate"]["spec"]["replicas"] == 3
    assert spec["coreTemplate"]["spec"]["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }
    assert spec["replicantTemplate"]["spec"]["replicas"] == 4
    assert spec["dashboardServiceTemplate"]["spec"]["type"] == "NodePort"
    assert spec["listenersServiceTemplate"]["spec"]["type"] == "LoadBalancer"
    assert spec["config"] == {"mode": "Replace", "data": 'listeners.tcp.default {\n  bind = "0.0.0.0:1883"\n}\n'}
    labels = clientset.apps_v2beta1.emqxes(namespace).get("broker").metadata.labels
    assert labels == {"team": "iot", "tier": "gold"}


def test_resources_alone_keep_the_core_replicas_the_form_showed(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    # A coreTemplate without replicas would be defaulted to 2 by the server, not the 1 shown.
    assert admin.post(URL, _data(namespace, {CPU_REQUEST: "250m"})).status_code == 302
    obj = clientset.apps_v2beta1.emqxes(namespace).get("broker")
    assert obj.spec is not None and obj.spec.core_template is not None and obj.spec.core_template.spec is not None
    assert obj.spec.core_template.spec.replicas == 1


@pytest.mark.parametrize("name", ["UPPER", "-dash", "under_score", "dotted.name", "x" * 64, "<b>x</b>", ""])
def test_a_name_that_is_not_rfc_1123_is_a_field_error_and_nothing_is_written(
    admin: Client, clientset: Clientset, namespace: str, name: str
) -> None:
    response = admin.post(URL, _data(namespace, {NAME: name}))
    assert response.status_code == 200
    assert _errors_on(NAME) in _html(response)
    assert "<b>x</b>" not in _html(response)
    assert _names(clientset, namespace) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (CORE_REPLICAS, -1),
        (CORE_REPLICAS, 0),
        (CORE_REPLICAS, 10**9),
        (REPLICANT_REPLICAS, -1),
        (REPLICANT_REPLICAS, 10**9),
        (CORE_REPLICAS, "three"),
    ],
)
def test_negative_or_absurd_replicas_are_field_errors_and_nothing_is_written(
    admin: Client, clientset: Clientset, namespace: str, field: str, value: object
) -> None:
    response = admin.post(URL, _data(namespace, {field: value}))
    assert response.status_code == 200
    assert _errors_on(field) in _html(response)
    assert _names(clientset, namespace) == []


def test_a_megabyte_of_config_is_refused(admin: Client, clientset: Clientset, namespace: str) -> None:
    response = admin.post(URL, _data(namespace, {CONFIG_DATA: "a = 1\n" * (1 << 18)}))
    assert response.status_code == 200
    assert _errors_on(CONFIG_DATA) in _html(response)
    assert _names(clientset, namespace) == []


def test_config_whose_braces_do_not_pair_is_refused(admin: Client, clientset: Clientset, namespace: str) -> None:
    response = admin.post(URL, _data(namespace, {CONFIG_DATA: 'listeners.tcp.default {\n  bind = "0.0.0.0:1883"\n'}))
    assert "is never closed" in _html(response)
    assert _names(clientset, namespace) == []


def test_markup_in_labels_is_a_field_error_shown_escaped(admin: Client, clientset: Clientset, namespace: str) -> None:
    response = admin.post(URL, {**_data(namespace), LABELS: "<script>alert(1)</script>=x\nok=<img src=x>"})
    html = _html(response)
    assert _errors_on(LABELS) in html
    assert "<script>alert(1)</script>" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert _names(clientset, namespace) == []


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({CPU_REQUEST: "lots"}, CPU_REQUEST),
        ({MEMORY_LIMIT: "-1Gi"}, MEMORY_LIMIT),
        ({MEMORY_REQUEST: "2Gi", MEMORY_LIMIT: "1Gi"}, MEMORY_LIMIT),
        ({IMAGE: "not an image"}, IMAGE),
    ],
)
def test_bad_images_quantities_and_a_limit_below_its_request_are_refused(
    admin: Client, clientset: Clientset, namespace: str, values: dict[str, str], field: str
) -> None:
    response = admin.post(URL, _data(namespace, values))
    assert _errors_on(field) in _html(response)
    assert _names(clientset, namespace) == []


def test_a_name_already_taken_is_an_error_on_the_name(admin: Client, clientset: Clientset, namespace: str) -> None:
    assert admin.post(URL, _data(namespace)).status_code == 302
    response = admin.post(URL, _data(namespace, {IMAGE: "emqx/emqx:5.7.2"}))
    assert response.status_code == 200
    html = _html(response)
    assert _errors_on(NAME) in html and "already exists" in html
    assert clientset.apps_v2beta1.emqxes(namespace).get("broker").spec.image == "emqx/emqx:5.8.6"  # type: ignore[union-attr]


def test_a_namespace_that_does_not_exist_is_an_error_on_the_namespace(admin: Client, namespace: str) -> None:
    response = admin.post(URL, _data(f"{namespace}-nope"))
    assert response.status_code == 200
    assert _errors_on(NAMESPACE) in _html(response) and "does not exist" in _html(response)


def test_a_refusal_without_a_field_is_shown_above_the_form(
    admin: Client, clientset: Clientset, namespace: str, sandbox: Sandbox
) -> None:
    # An admission policy of the cluster's own, in this namespace only: the API's 422 has no field.
    policy = f"max-core-{namespace}"[:63]
    sandbox.request(
        "POST",
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": policy},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["apps.emqx.io"],
                            "apiVersions": ["*"],
                            "operations": ["CREATE"],
                            "resources": ["emqxes"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": "object.spec.image.startsWith('emqx/')",
                        "message": "only emqx/ images here",
                        "reason": "Invalid",
                    }
                ],
            },
        },
    )
    sandbox.request(
        "POST",
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": policy},
            "spec": {
                "policyName": policy,
                "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}},
            },
        },
    )
    try:
        data = _data(namespace, {IMAGE: "docker.io/library/emqx:5.8.6"})
        for _ in range(100):  # the API server takes a moment to load a new policy
            response = admin.post(URL, data)
            if "only emqx/ images here" in _html(response):
                break
            assert response.status_code == 302, "the policy never took effect"
            clientset.apps_v2beta1.emqxes(namespace).delete("broker")
        assert response.status_code == 200
        assert 'id="non-field-errors"' in _html(response)
        assert _names(clientset, namespace) == []
    finally:
        sandbox.request("DELETE", f"/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/{policy}")
        sandbox.request("DELETE", f"/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/{policy}")


# ----- YAML mode ---------------------------------------------------------------------------------


def _yaml(namespace: str, **spec: Any) -> str:
    doc = {
        "apiVersion": "apps.emqx.io/v2beta1",
        "kind": "EMQX",
        "metadata": {"name": "from-yaml", "namespace": namespace, "annotations": {"owner": "team-iot"}},
        "spec": {"image": "emqx/emqx:5.8.6", **spec},
    }
    return yaml.safe_dump(doc)


def test_yaml_mode_starts_from_a_skeleton(admin: Client) -> None:
    html = _html(admin.get(URL, {"mode": "yaml", "namespace": "team-a"}))
    assert "apiVersion: apps.emqx.io/v2beta1" in html and "namespace: team-a" in html


def test_yaml_mode_creates_the_object_as_written(admin: Client, clientset: Clientset, namespace: str) -> None:
    text = _yaml(namespace, imagePullPolicy="IfNotPresent", bootstrapAPIKeys=[{"key": "ci", "secret": "s3cret-key"}])
    response = admin.post(URL, {"mode": "yaml", "yaml": text})
    assert response.status_code == 302
    obj = clientset.apps_v2beta1.emqxes(namespace).get("from-yaml")
    assert obj.metadata.annotations == {"owner": "team-iot"}
    assert obj.to_dict()["spec"]["bootstrapAPIKeys"] == [{"key": "ci", "secret": "s3cret-key"}]


def test_the_form_continues_in_yaml_with_the_users_values(admin: Client, namespace: str) -> None:
    response = admin.post(URL, {**_data(namespace, {CORE_REPLICAS: 3}), "action": "to_yaml"})
    html = _html(response)
    assert response.status_code == 200 and 'name="mode" value="yaml"' in html
    assert "replicas: 3" in html and f"namespace: {namespace}" in html


HEAD = "{apiVersion: apps.emqx.io/v2beta1, kind: EMQX, metadata: {name: x, namespace: NS}, "


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("spec: [unclosed", "Not valid YAML at line 1"),
        ("- just\n- a list", "must be a mapping"),
        ("", "This field is required"),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: y}",
            "apiVersion must be apps.emqx.io/v2beta1",
        ),
        (
            HEAD + "spec: {image: e}, extra: 1}",
            "Unknown top-level field(s): extra",
        ),
        (
            HEAD + "spec: {image: e}, status: {}}",
            "status: written by the operator",
        ),
        (
            HEAD + "spec: {image: e, coreTemplate: {spec: {replicas: three}}}}",
            "spec.coreTemplate.spec.replicas: Input should be a valid integer",
        ),
        (
            HEAD + "spec: {image: emqx/emqx:5, coreTemplate: {spec: {replicas: 1000000000}}}}",
            "Core replicas must be at most 32",
        ),
        (
            HEAD.replace("name: x", "name: X_Y") + "spec: {image: emqx/emqx:5}}",
            "metadata.name: &#x27;X_Y&#x27; is not a valid name",
        ),
    ],
)
def test_yaml_that_is_not_an_emqx_is_an_error_and_nothing_is_written(
    admin: Client, clientset: Clientset, namespace: str, text: str, message: str
) -> None:
    response = admin.post(URL, {"mode": "yaml", "yaml": text.replace("NS", namespace)})
    assert response.status_code == 200
    assert message in _html(response)
    assert _names(clientset, namespace) == []


def test_unknown_fields_are_refused_by_the_clusters_own_schema(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    text = _yaml(namespace, replicaCount=3, coreTemplate={"spec": {"replicas": 1, "sidecar": True}})
    response = admin.post(URL, {"mode": "yaml", "yaml": text})
    html = _html(response)
    assert response.status_code == 200
    assert "spec.replicaCount: unknown field" in html and "spec.coreTemplate.spec.sidecar: unknown field" in html
    assert _names(clientset, namespace) == []


def test_the_clusters_validation_rules_land_on_the_yaml_with_their_path(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    text = _yaml(namespace, coreTemplate={"spec": {"minAvailable": 1, "maxUnavailable": 1}})
    html = _html(admin.post(URL, {"mode": "yaml", "yaml": text}))
    assert "spec.coreTemplate.spec: Invalid value: minAvailable cannot be set when maxUnavailable is specified" in html
    assert _names(clientset, namespace) == []


# ----- the cluster in trouble ----------------------------------------------------------------------


def test_a_cluster_that_goes_down_keeps_the_input_and_says_nothing_was_saved(
    admin: Client, clientset: Clientset, namespace: str, sandbox: Sandbox
) -> None:
    assert admin.get(URL).status_code == 200  # the page was open before the outage
    with sandbox.outage():
        response = admin.post(URL, _data(namespace, {CONFIG_DATA: "node.cookie = kept-input\n", CORE_REPLICAS: 5}))
        html = _html(response)
        assert response.status_code == 200
        assert "is unreachable. Nothing was saved" in html
        assert "node.cookie = kept-input" in html and f'name="{CORE_REPLICAS}" value="5"' in html
    assert _names(clientset, namespace) == []


def test_a_real_write_lost_on_the_way_is_reported_and_audited(
    admin: Client, clientset: Clientset, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dry-run passes and the cluster disappears before the write: the one interleaving a
    # test cannot arrange with a real server, so the write alone is made to fail.
    real_create = ResourceClient.create

    def create(self: ResourceClient[Any], obj: Any, *, dry_run: bool = False, **kwargs: Any) -> Any:
        if not dry_run:
            raise ClusterUnreachable("https://127.0.0.1:1", "connection refused")
        return real_create(self, obj, dry_run=dry_run, **kwargs)

    monkeypatch.setattr(ResourceClient, "create", create)
    response = admin.post(URL, _data(namespace))
    assert "The change may not have been saved" in _html(response)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome, entry.name) == ("create", "failure", "broker")
    assert "connection refused" in entry.error


def test_forbidden_by_the_cluster_is_a_clear_message(
    admin_client: Client, settings: Any, sandbox: Sandbox, namespace: str
) -> None:
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.user_kubeconfig("no-rights"))}]
    response = admin_client.post(URL, _data(namespace))
    html = _html(response)
    assert response.status_code == 200
    assert "does not allow the console to create EMQX instances in namespace" in html
    assert AuditEntry.objects.count() == 0  # a refused dry-run wrote nothing and is no mutation


def test_in_impersonation_mode_the_clusters_rbac_for_the_user_decides(
    client: Client, clientset: Clientset, namespace: str, settings: Any, console_cluster: object, kubectl: Any
) -> None:
    settings.CONSOLE_IMPERSONATE = True
    rita = User.objects.create_user("rita", password="pw-rita-123456")
    RoleGrant.objects.create(user=rita, role="admin", namespace=namespace)  # the console would allow it
    client.force_login(rita)
    response = client.post(URL, _data(namespace))
    assert "does not allow Kubernetes user console:rita to create EMQX instances" in _html(response)
    assert _names(clientset, namespace) == []
    kubectl("-n", namespace, "create", "role", "maker", "--verb=create", "--resource=emqxes.apps.emqx.io")
    kubectl("-n", namespace, "create", "rolebinding", "rita-makes", "--role=maker", "--user=console:rita")
    eventually(lambda: client.post(URL, _data(namespace)).status_code == 302)  # once RBAC has the binding
    assert _names(clientset, namespace) == ["broker"]


# ----- audit and permissions ---------------------------------------------------------------------


def test_a_create_is_audited_once_and_rejected_input_is_not(admin: Client, namespace: str) -> None:
    admin.post(URL, _data(namespace, {CORE_REPLICAS: -1}))
    admin.post(URL, _data(f"{namespace}-nope"))  # refused by the dry-run
    assert AuditEntry.objects.count() == 0
    admin.post(URL, _data(namespace))
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.kind, entry.namespace, entry.name, entry.outcome) == (
        "create",
        "EMQX",
        namespace,
        "broker",
        "success",
    )
    assert entry.after is not None and entry.after["spec"]["image"] == "emqx/emqx:5.8.6"


def test_creating_needs_the_create_permission_in_the_namespace(
    client: Client, clientset: Clientset, namespace: str, console_cluster: object
) -> None:
    viewer = User.objects.create_user("viewer", password="pw-viewer-123456")
    RoleGrant.objects.create(user=viewer, role="viewer", namespace=namespace)
    client.force_login(viewer)
    assert client.get(URL).status_code == 403
    assert client.post(URL, _data(namespace)).status_code == 403
    operator = User.objects.create_user("operator", password="pw-operator-123456")
    RoleGrant.objects.create(user=operator, role="operator", namespace=namespace)
    client.force_login(operator)
    assert client.get(URL).status_code == 200
    assert client.post(URL, _data(f"{namespace}-elsewhere")).status_code == 404  # a namespace out of its scope
    assert _names(clientset, namespace) == []
    assert client.post(URL, _data(namespace)).status_code == 302


def test_in_chinese_a_refused_yaml_value_is_still_named_with_its_message(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    # English reads "'X_Y' is not a valid name"; a translation cannot be spliced into that sentence, so
    # the value comes first, then the translated message.
    text = HEAD.replace("name: x", "name: X_Y").replace("NS", namespace) + "spec: {image: emqx/emqx:5}}"
    response = admin.post(URL, {"mode": "yaml", "yaml": text}, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    html = _html(response)
    assert response.status_code == 200
    assert "metadata.name: &#x27;X_Y&#x27;\uff1a不是有效的名称" in html, html  # a full-width colon
    assert _names(clientset, namespace) == []
