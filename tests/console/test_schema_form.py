"""The form built from the CRD schema (console/forms/schema.py): each field kind, defaults and
help from the generated models, what a create and an edit write, untouched round trips of real
documents, inline rows, names, error paths, and arbitrary POST data. Pure unit tests: no cluster,
no database."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import django.forms
import pytest
import yaml
from django import forms
from django.forms.renderers import BaseRenderer
from django.template import Context, Engine
from hypothesis import given, settings
from hypothesis import strategies as st

from console.forms.schema import (
    QUANTITY_HTML_PATTERN,
    FieldOptions,
    FormSpec,
    ResourceForm,
    parse_quantity,
    read_values,
    values_as_data,
)
from emqx.client.names import DNS_LABEL, DNS_SUBDOMAIN, label_errors, validate_name, validate_namespace
from emqx.errors import InvalidName
from emqx.models import apps_v1beta1, apps_v1beta4, apps_v2beta1
from emqx.models._base import Resource
from tests.branches import Branches

FIELDCASES = Path(__file__).resolve().parents[1] / "fieldcases"
EXAMPLES = Path(__file__).resolve().parents[2] / "emqx" / "crds" / "examples"
CORE = "spec.coreTemplate.spec"
REPLICANT = "spec.replicantTemplate.spec"
V4 = "spec.template.spec.emqxContainer"


class _Renderer(BaseRenderer):
    """Django's own widget templates, without the project's template libraries (a form test
    renders widgets, not pages)."""

    engine = Engine(dirs=[str(Path(django.forms.__file__).parent / "templates")])

    def get_template(self, template_name: str) -> Any:
        return self.engine.get_template(template_name)

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        return str(self.engine.get_template(template_name).render(Context(context))).strip()


RENDERER = _Renderer()

# ----- the specs under test (as admins declare them) -----------------------------------------

EMQX = FormSpec(
    model=apps_v2beta1.EMQX,
    fieldsets=(
        ("Instance", ["metadata.name", "metadata.namespace", "metadata.labels", "spec.image", "spec.imagePullSecrets"]),
        (
            "Nodes",
            [f"{CORE}.replicas", f"{REPLICANT}.replicas", f"{CORE}.minAvailable", f"{REPLICANT}.maxUnavailable"],
        ),
        (
            "Core resources",
            [
                f"{CORE}.resources.requests.cpu",
                f"{CORE}.resources.limits.cpu",
                f"{CORE}.resources.requests.memory",
                f"{CORE}.resources.limits.memory",
                f"{CORE}.nodeSelector",
            ],
        ),
        ("Environment", [f"{CORE}.env"]),
        (
            "Services",
            [
                "spec.listenersServiceTemplate.spec.type",
                "spec.listenersServiceTemplate.spec.ports",
                "spec.dashboardServiceTemplate.enabled",
            ],
        ),
        ("Update", ["spec.updateStrategy.type", "spec.updateStrategy.evacuationStrategy"]),
        ("Configuration", ["spec.config.mode", "spec.config.data"]),
        ("Advanced", [f"{CORE}.args", f"{CORE}.affinity"]),
    ),
    options={
        f"{CORE}.replicas": FieldOptions(label="Core replicas", required=True, max_value=32),
        f"{REPLICANT}.replicas": FieldOptions(
            label="Replicant replicas", max_value=512, empty_unsets="spec.replicantTemplate"
        ),
        **{
            f"{CORE}.resources.{kind}.{res}": FieldOptions(writes_with=(f"{CORE}.replicas",))
            for kind in ("requests", "limits")
            for res in ("cpu", "memory")
        },
        f"{CORE}.env": FieldOptions(writes_with=(f"{CORE}.replicas",)),
        "spec.imagePullSecrets": FieldOptions(columns=("name",)),
        "spec.image": FieldOptions(max_length=512),
        "spec.listenersServiceTemplate.spec.type": FieldOptions(choices=("ClusterIP", "NodePort", "LoadBalancer")),
        "spec.listenersServiceTemplate.spec.ports": FieldOptions(columns=("name", "port", "protocol", "targetPort")),
        "spec.config.data": FieldOptions(label="Configuration (HOCON)", textarea=True, code=True),
    },
    name_rule=DNS_LABEL,
    suggested={"spec.image": "emqx/emqx:5.8.6"},
    always_write=("spec.image",),
)

BROKER_V4_FIELDSETS = (
    ("Instance", ["metadata.name", "metadata.namespace", "metadata.labels"]),
    ("Image", [f"{V4}.image.repository", f"{V4}.image.version", f"{V4}.image.pullPolicy"]),
    ("Nodes", ["spec.replicas"]),
    ("Resources", [f"{V4}.resources.requests.cpu", f"{V4}.resources.limits.memory"]),
    ("Configuration", [f"{V4}.emqxConfig", f"{V4}.env"]),
    ("Service", ["spec.serviceTemplate.spec.type", "spec.serviceTemplate.spec.ports"]),
    ("Persistence", ["spec.persistent.spec.accessModes", "spec.persistent.spec.resources.requests.storage"]),
)
BROKER_V4_OPTIONS = {"spec.serviceTemplate.spec.ports": FieldOptions(columns=("name", "port", "targetPort"))}
BROKER_V4 = FormSpec(
    model=apps_v1beta4.EmqxBroker,
    fieldsets=BROKER_V4_FIELDSETS,
    options=BROKER_V4_OPTIONS,
    suggested={f"{V4}.image.repository": "emqx/emqx", f"{V4}.image.version": "4.4.19"},
    always_write=(f"{V4}.image.repository", f"{V4}.image.version"),
)
ENTERPRISE_V4 = FormSpec(
    model=apps_v1beta4.EmqxEnterprise,
    fieldsets=(*BROKER_V4_FIELDSETS, ("Licence", ["spec.license"])),
    options=BROKER_V4_OPTIONS,
    suggested={f"{V4}.image.repository": "emqx/emqx-ee", f"{V4}.image.version": "4.4.19"},
    always_write=(f"{V4}.image.repository", f"{V4}.image.version"),
)
BROKER_V1 = FormSpec(
    model=apps_v1beta1.EmqxBroker,
    fieldsets=(
        ("Instance", ["metadata.name", "metadata.namespace", "metadata.labels"]),
        ("Broker", ["spec.image", "spec.replicas", "spec.serviceAccountName", "spec.labels"]),
        ("Listeners", ["spec.listener.type", "spec.listener.ports"]),
        ("ACL", ["spec.acl"]),
        ("Plugins", ["spec.plugins", "spec.modules"]),
        ("Environment", ["spec.env"]),
        ("Resources", ["spec.resources.requests", "spec.storage"]),
    ),
    options={"spec.acl": FieldOptions(columns=("permission", "action", "username", "clientid", "ipaddress"))},
    suggested={"spec.image": "emqx/emqx:4.3.10", "spec.replicas": 3},
    always_write=("spec.image", "spec.replicas"),
)
REBALANCE = FormSpec(
    model=apps_v2beta1.Rebalance,
    fieldsets=(
        ("Rebalance", ["metadata.name", "metadata.namespace", "spec.instanceKind", "spec.instanceName"]),
        ("Strategy", ["spec.rebalanceStrategy"]),
    ),
    options={"spec.instanceKind": FieldOptions(choices=("EMQX", "EmqxEnterprise"), required=True)},
)
SPECS = {"EMQX": EMQX, "EmqxBroker.v1beta4": BROKER_V4, "EmqxEnterprise.v1beta4": ENTERPRISE_V4}
SPECS |= {"EmqxBroker.v1beta1": BROKER_V1, "Rebalance": REBALANCE}


# ----- documents ---------------------------------------------------------------------------------

BROKER_V4_DOC: dict[str, Any] = {
    "apiVersion": "apps.emqx.io/v1beta4",
    "kind": "EmqxBroker",
    "metadata": {"name": "emqx4", "labels": {"team": "iot"}},
    "spec": {
        "replicas": 3,
        "template": {
            "spec": {
                "emqxContainer": {
                    "image": {"repository": "emqx/emqx", "version": "4.4.19", "pullPolicy": "Always"},
                    "emqxConfig": {"log.level": "info", "listener.tcp.external": "1883"},
                    "env": [
                        {"name": "A", "value": "1"},
                        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "x"}}},
                    ],
                    "resources": {"requests": {"cpu": "500m", "memory": 1073741824}},
                }
            }
        },
        "serviceTemplate": {
            "spec": {
                "type": "NodePort",
                "ports": [{"name": "mqtt", "port": 1883, "targetPort": "1883", "nodePort": 31883}],
            }
        },
        "persistent": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
    },
}


class _KubectlLoader(yaml.SafeLoader):
    """YAML as kubectl reads it: an unquoted date or time stays a string."""


_KubectlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.load_all(path.read_text(), Loader=_KubectlLoader) if doc]


def _documents() -> list[tuple[str, str, dict[str, Any]]]:
    """(test id, spec name, document) for every example and field case the specs can read."""
    kinds = {
        ("apps.emqx.io/v2beta1", "EMQX"): "EMQX",
        ("apps.emqx.io/v1beta4", "EmqxBroker"): "EmqxBroker.v1beta4",
        ("apps.emqx.io/v1beta4", "EmqxEnterprise"): "EmqxEnterprise.v1beta4",
        ("apps.emqx.io/v1beta1", "EmqxBroker"): "EmqxBroker.v1beta1",
        ("apps.emqx.io/v2beta1", "Rebalance"): "Rebalance",
    }
    found = []
    files = sorted(EXAMPLES.glob("*.yaml")) + sorted(FIELDCASES.glob("*/input.yaml"))
    for path in files:
        for index, doc in enumerate(_yaml_docs(path)):
            spec = kinds.get((doc.get("apiVersion"), doc.get("kind")))
            if spec is not None and doc.get("metadata", {}).get("name"):
                found.append((f"{path.parent.name}/{path.stem}#{index}", spec, doc))
    found.append(("inline/emqxbroker-v1beta4", "EmqxBroker.v1beta4", BROKER_V4_DOC))
    return found


DOCUMENTS = _documents()


def stored(spec: FormSpec, doc: Mapping[str, Any], namespace: str = "ns") -> dict[str, Any]:
    """A document as the API server would hand it back: validated, in a namespace, to_dict()."""
    doc = copy.deepcopy(dict(doc))
    doc.setdefault("metadata", {})["namespace"] = namespace
    return spec.model.from_dict(doc).to_dict()


def fixture(name: str, index: int = 0) -> dict[str, Any]:
    return _yaml_docs(FIELDCASES / name / "input.yaml")[index]


def edit(spec: FormSpec, base: Mapping[str, Any], **changes: str) -> ResourceForm:
    """The edit form of ``base`` posted back with ``changes`` (POST names; "__" for ".")."""
    data = values_as_data(spec, read_values(spec, base))
    data.update({key.replace("__", "."): value for key, value in changes.items()})
    return ResourceForm(data, spec=spec, base=base, renderer=RENDERER)


def edited(spec: FormSpec, base: Mapping[str, Any], data: Mapping[str, str]) -> dict[str, Any]:
    posted = values_as_data(spec, read_values(spec, base))
    posted.update(data)
    form = ResourceForm(posted, spec=spec, base=base, renderer=RENDERER)
    assert form.is_valid(), form.errors.as_data()
    return form.intended(base).to_dict()


def add(spec: FormSpec, changes: Mapping[str, str], namespace: str = "ns") -> ResourceForm:
    """The add form as first shown, filled in with ``changes`` (POST names) and posted."""
    shown = ResourceForm(spec=spec, namespace=namespace, renderer=RENDERER)
    data = values_as_data(spec, shown.initial)
    data.update(changes)
    return ResourceForm(data, spec=spec, namespace=namespace, renderer=RENDERER)


def html(form: ResourceForm, path: str) -> str:
    return str(form[path])


# ----- fields from the schema ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"{CORE}.replicas", ['type="number"', 'max="32"', "required"]),
        (f"{CORE}.resources.requests.cpu", ['type="text"', f'pattern="{QUANTITY_HTML_PATTERN}"']),
        (f"{CORE}.minAvailable", ['type="text"']),
        ("spec.updateStrategy.type", ["<select", '<option value="Recreate" selected>']),
        ("spec.dashboardServiceTemplate.enabled", ["<select", '<option value="true"', '<option value="false"']),
        ("spec.config.mode", ["<select", '<option value="" selected>', '<option value="Replace">']),
        ("metadata.labels", ["<textarea", 'placeholder="key=value"']),
        (f"{CORE}.args", ["<textarea"]),
        ("spec.config.data", ["<textarea", 'class="code"', 'spellcheck="false"']),
        (f"{CORE}.affinity", ["<textarea", 'class="code"']),
        (
            f"{CORE}.env",
            [
                f'name="{CORE}.env-TOTAL_FORMS" value="1"',
                f'name="{CORE}.env-INITIAL_FORMS" value="0"',
                f'name="{CORE}.env-0-name"',
                f'name="{CORE}.env-0-value"',
                f'name="{CORE}.env-0-DELETE"',
            ],
        ),
        (
            "spec.updateStrategy.evacuationStrategy",
            ['name="spec.updateStrategy.evacuationStrategy-connEvictRate" value="1000"', 'min="1"'],
        ),
        ("metadata.name", ['pattern="[a-z0-9]([a-z0-9\\-]*[a-z0-9])?"', 'maxlength="63"']),
        ("metadata.namespace", ['list="namespace-suggestions"', 'value="ns"']),
    ],
)
def test_each_field_kind_renders_as_its_widget(path: str, expected: list[str]) -> None:
    rendered = html(ResourceForm(spec=EMQX, namespace="ns", renderer=RENDERER), path)
    for snippet in expected:
        assert snippet in rendered, (snippet, rendered)


@pytest.mark.parametrize(
    ("path", "text", "value"),
    [
        (f"{CORE}.replicas", "3", 3),
        (f"{REPLICANT}.replicas", "", None),
        (f"{CORE}.resources.requests.cpu", "500m", "500m"),
        (f"{CORE}.resources.requests.cpu", "2", "2"),
        (f"{CORE}.minAvailable", "2", 2),
        (f"{CORE}.minAvailable", "50%", "50%"),
        ("spec.config.mode", "Replace", "Replace"),
        ("spec.config.mode", "", None),
        ("spec.dashboardServiceTemplate.enabled", "false", False),
        ("spec.dashboardServiceTemplate.enabled", "true", True),
        ("spec.dashboardServiceTemplate.enabled", "", None),
        ("spec.listenersServiceTemplate.spec.type", "NodePort", "NodePort"),
        (
            "metadata.labels",
            "team=iot\r\n\r\napp.kubernetes.io/name = emqx\r\n",
            {"team": "iot", "app.kubernetes.io/name": "emqx"},
        ),
        (f"{CORE}.nodeSelector", "disk type=ssd", {"disk type": "ssd"}),
        (f"{CORE}.args", "foreground\r\n  --verbose \r\n\r\n", ["foreground", "--verbose"]),
        ("spec.config.data", "a = 1\r\nb = 2\r\n", "a = 1\nb = 2\n"),
        (
            f"{CORE}.affinity",
            "nodeAffinity:\n  requiredDuringSchedulingIgnoredDuringExecution:\n    nodeSelectorTerms: []\n",
            {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}},
        ),
    ],
)
def test_each_field_kind_cleans_to_its_json_type(path: str, text: str, value: Any) -> None:
    form = add(EMQX, {"metadata.name": "x", path: text})
    assert form.is_valid(), form.errors.as_data()
    assert form.values()[path] == value
    assert type(form.values()[path]) is type(value)


@pytest.mark.parametrize(
    ("path", "text", "message"),
    [
        (f"{CORE}.replicas", "", "This field is required."),
        (f"{CORE}.replicas", "two", "Enter a whole number."),
        (f"{CORE}.replicas", "1_000", "Enter a whole number."),
        (f"{CORE}.replicas", "33", "less than or equal to 32"),
        (f"{CORE}.resources.requests.cpu", "lots", "is not a Kubernetes quantity"),
        (f"{CORE}.resources.requests.cpu", "-1", "cannot be negative"),
        (f"{CORE}.resources.requests.cpu", "1Qi", "is not a Kubernetes quantity"),
        ("spec.config.mode", "Other", "Select a valid choice"),
        ("spec.dashboardServiceTemplate.enabled", "yes", "Select true, false or nothing."),
        ("spec.listenersServiceTemplate.spec.type", "ExternalName", "Select a valid choice"),
        ("metadata.labels", "a=1\nnoequals", "Line 2: write each entry as key=value"),
        ("metadata.labels", "a=1\nb=2\na=3", "Line 3: 'a' is given twice."),
        ("metadata.labels", "bad key!=1", "the name part must be 1-63 letters"),
        ("metadata.labels", "k=" + "v" * 64, "must be at most 63"),
        (f"{CORE}.nodeSelector", "=x", "Line 1: write each entry as key=value"),
        (f"{CORE}.affinity", "a: [", "Not valid YAML at line"),
        (f"{CORE}.affinity", "- 1\n- 2", "Input should be a valid dictionary"),
        (f"{CORE}.affinity", "nodeAffinity: 3", "nodeAffinity"),
        (f"{CORE}.affinity", "a: &x [1]\nb: *x", "anchors (&x) are not allowed"),
        (f"{CORE}.affinity", "? [a]\n: x", "a key must be a single value"),
        ("spec.image", "x" * 513, "At most 512 characters"),
        ("spec.image", "a\x00b", "Null characters are not allowed."),
    ],
)
def test_each_field_kind_refuses_what_is_not_its_type(path: str, text: str, message: str) -> None:
    form = add(EMQX, {"metadata.name": "x", path: text})
    assert not form.is_valid()
    assert any(message in error for error in form.errors[path]), form.errors[path]


def test_yaml_reads_dates_as_strings_as_kubernetes_does() -> None:
    spec = FormSpec(model=apps_v2beta1.EMQX, fieldsets=(("", ["spec.image", f"{CORE}.lifecycle"]),))
    text = "preStop:\n  exec:\n    command: [echo, 2024-06-30]\n"
    form = add(spec, {"metadata.name": "x", "spec.image": "i", f"{CORE}.lifecycle": text})
    assert form.is_valid(), form.errors.as_data()
    assert form.values()[f"{CORE}.lifecycle"] == {"preStop": {"exec": {"command": ["echo", "2024-06-30"]}}}


def test_a_model_without_scalar_fields_shows_as_yaml() -> None:
    form = ResourceForm(spec=EMQX, renderer=RENDERER)
    assert isinstance(form.fields[f"{CORE}.affinity"].widget, forms.Textarea)


def test_defaults_come_from_the_schema() -> None:
    initial = ResourceForm(spec=EMQX, namespace="ns").initial
    assert initial[f"{CORE}.replicas"] == 1  # EMQXSpec.coreTemplate's CRD default
    assert initial[f"{REPLICANT}.replicas"] is None  # no replicant template by default
    assert initial["spec.updateStrategy.type"] == "Recreate"
    assert initial["spec.updateStrategy.evacuationStrategy"] == {
        "connEvictRate": 1000,
        "sessEvictRate": 1000,
        "waitTakeover": 10,
    }
    assert initial["spec.image"] == "emqx/emqx:5.8.6"  # suggested, the model has no default
    assert initial["metadata.namespace"] == "ns"
    assert ResourceForm(spec=BROKER_V4).initial["spec.replicas"] == 3
    assert ResourceForm(spec=REBALANCE).initial["spec.instanceKind"] == "EMQX"


def test_an_absent_parent_reads_its_default_and_a_present_one_its_own() -> None:
    without = {"metadata": {"name": "a"}, "spec": {"image": "i"}}
    with_empty = {"metadata": {"name": "a"}, "spec": {"image": "i", "coreTemplate": {"spec": {}}}}
    assert read_values(EMQX, without)[f"{CORE}.replicas"] == 1
    assert read_values(EMQX, with_empty)[f"{CORE}.replicas"] == 2  # CoreTemplateSpec's default


def test_help_text_is_the_schema_descriptions_first_sentence() -> None:
    form = ResourceForm(spec=BROKER_V1)
    assert form.fields["spec.replicas"].help_text == "The fields of Broker."
    # A long description is cut at its first sentence and at 200 characters.
    acl_free = form.fields["spec.storage"].help_text
    assert len(acl_free) <= 200


def test_labels_default_to_the_last_meaningful_segments() -> None:
    form = ResourceForm(spec=EMQX)
    assert form.fields[f"{CORE}.replicas"].label == "Core replicas"  # from the options
    assert form.fields[f"{REPLICANT}.maxUnavailable"].label == "Replicant template max unavailable"
    assert form.fields["spec.imagePullSecrets"].label == "Image pull secrets"
    assert form.fields["spec.dashboardServiceTemplate.enabled"].label == "Dashboard service template enabled"


def test_options_override_label_help_and_required() -> None:
    spec = FormSpec(
        model=apps_v2beta1.EMQX,
        fieldsets=(("", ["spec.image", "spec.clusterDomain"]),),
        options={"spec.clusterDomain": FieldOptions(label="Domain", help_text="DNS.", required=True, placeholder="x")},
    )
    form = ResourceForm(spec=spec, renderer=RENDERER)
    field = form.fields["spec.clusterDomain"]
    assert (field.label, field.help_text, field.required) == ("Domain", "DNS.", True)
    assert 'placeholder="x"' in html(form, "spec.clusterDomain")
    assert form.fields["spec.image"].required  # the schema requires it


def test_a_stored_choice_outside_the_list_stays_selectable_and_unchanged() -> None:
    base = stored(
        EMQX,
        {
            "metadata": {"name": "a"},
            "spec": {"image": "i", "listenersServiceTemplate": {"spec": {"type": "ExternalName"}}},
        },
    )
    form = edit(EMQX, base)
    assert '<option value="ExternalName" selected>' in html(form, "spec.listenersServiceTemplate.spec.type")
    assert form.is_valid() and form.changed_paths() == frozenset()


# ----- a create ------------------------------------------------------------------------------------


def test_an_add_form_writes_only_what_differs_from_the_defaults() -> None:
    form = add(EMQX, {"metadata.name": "new"})
    assert form.is_valid(), form.errors.as_data()
    assert form.intended().to_dict() == {
        "apiVersion": "apps.emqx.io/v2beta1",
        "kind": "EMQX",
        "metadata": {"name": "new", "namespace": "ns"},
        "spec": {"image": "emqx/emqx:5.8.6"},
    }


def test_an_add_form_writes_the_always_write_paths_even_at_their_default() -> None:
    spec = FormSpec(
        model=apps_v2beta1.EMQX,
        fieldsets=(("", ["spec.image", f"{CORE}.replicas"]),),
        always_write=("spec.image", f"{CORE}.replicas"),
    )
    form = add(spec, {"metadata.name": "new", "spec.image": "emqx/emqx:5"})
    assert form.is_valid(), form.errors.as_data()
    assert form.intended().to_dict()["spec"] == {"image": "emqx/emqx:5", "coreTemplate": {"spec": {"replicas": 1}}}


def test_a_core_template_field_writes_the_core_replicas_the_user_saw() -> None:
    # A coreTemplate without replicas is defaulted to 2 by the server, not 1.
    form = add(EMQX, {"metadata.name": "new", f"{CORE}.resources.requests.cpu": "500m"})
    assert form.is_valid(), form.errors.as_data()
    assert form.intended().to_dict()["spec"]["coreTemplate"] == {
        "spec": {"replicas": 1, "resources": {"requests": {"cpu": "500m"}}}
    }


def test_an_add_form_writes_labels_rows_and_choices_the_user_gave() -> None:
    form = add(
        EMQX,
        {
            "metadata.name": "new",
            "metadata.labels": "team=iot",
            f"{REPLICANT}.replicas": "2",
            "spec.imagePullSecrets-0-name": "registry",
            "spec.listenersServiceTemplate.spec.type": "NodePort",
        },
    )
    assert form.is_valid(), form.errors.as_data()
    doc = form.intended().to_dict()
    assert doc["metadata"] == {"name": "new", "namespace": "ns", "labels": {"team": "iot"}}
    assert doc["spec"] == {
        "image": "emqx/emqx:5.8.6",
        "imagePullSecrets": [{"name": "registry"}],
        "replicantTemplate": {"spec": {"replicas": 2}},
        "listenersServiceTemplate": {"spec": {"type": "NodePort"}},
    }


@pytest.mark.parametrize(
    "spec", [BROKER_V4, ENTERPRISE_V4, BROKER_V1], ids=["broker-v1beta4", "enterprise-v1beta4", "broker-v1beta1"]
)
def test_an_add_form_of_each_kind_makes_a_minimal_object(spec: FormSpec) -> None:
    form = add(spec, {"metadata.name": "new"})
    assert form.is_valid(), form.errors.as_data()
    obj = form.intended()
    assert type(obj) is spec.model
    doc = obj.to_dict()
    assert doc["metadata"] == {"name": "new", "namespace": "ns"}
    assert _leaves(doc["spec"], "spec") == set(spec.always_write)


def _leaves(node: Any, path: str) -> set[str]:
    if isinstance(node, dict) and node:
        return {leaf for key, value in node.items() for leaf in _leaves(value, f"{path}.{key}")}
    return {path}


def test_an_add_form_for_a_rebalance_needs_its_required_fields() -> None:
    form = add(REBALANCE, {"metadata.name": "rb"})
    assert not form.is_valid()
    assert form.errors["spec.instanceName"] == ["This field is required."]
    assert form.errors["spec.rebalanceStrategy"] == ["This field is required."]
    form = add(REBALANCE, {"metadata.name": "rb", "spec.rebalanceStrategy-waitTakeover": "5"})
    assert form.errors["spec.rebalanceStrategy"] == ["Conn evict rate: this field is required."]
    form = add(
        REBALANCE, {"metadata.name": "rb", "spec.instanceName": "emqx", "spec.rebalanceStrategy-connEvictRate": "10"}
    )
    assert form.is_valid(), form.errors.as_data()
    assert form.intended().to_dict()["spec"] == {  # instanceKind: the schema's default, not written
        "instanceName": "emqx",
        "rebalanceStrategy": {"connEvictRate": 10},
    }


def test_an_add_form_takes_values_carried_from_another_form() -> None:
    form = ResourceForm(spec=EMQX, namespace="ns", initial={"spec.image": "emqx/emqx:5.1", f"{CORE}.replicas": 3})
    assert form.initial["spec.image"] == "emqx/emqx:5.1"
    assert form.initial[f"{CORE}.replicas"] == 3
    assert form.initial["spec.updateStrategy.type"] == "Recreate"  # the rest: defaults


# ----- names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "name"),
    [(EMQX, "Bad"), (EMQX, "-x"), (EMQX, "a.b"), (EMQX, "a" * 64), (BROKER_V1, "a" * 254), (BROKER_V1, "a..b")],
)
def test_an_add_form_refuses_a_bad_name_with_the_rules_message(spec: FormSpec, name: str) -> None:
    form = add(spec, {"metadata.name": name})
    assert not form.is_valid()
    assert form.errors["metadata.name"] == [f"Not a valid name: {spec.name_rule.rule}."]


def test_an_add_form_takes_a_dotted_name_under_the_subdomain_rule() -> None:
    form = add(BROKER_V1, {"metadata.name": "mqtt.eu-west-1.prod"})
    assert form.is_valid(), form.errors.as_data()
    assert form.intended().metadata.name == "mqtt.eu-west-1.prod"


@pytest.mark.parametrize("namespace", ["UPPER", "a.b", "x" * 64, ""])
def test_an_add_form_judges_the_namespace_as_a_dns_label(namespace: str) -> None:
    form = add(BROKER_V1, {"metadata.name": "ok", "metadata.namespace": namespace})
    assert not form.is_valid()
    assert "metadata.namespace" in form.errors


@pytest.mark.parametrize("index", [0, 1], ids=["dotted", "253-characters"])
def test_an_existing_long_or_dotted_name_saves_unchanged_on_edit(index: int) -> None:
    base = stored(EMQX, fixture("11-dotted-and-max-length-names", index))  # EMQX's rule here: a DNS label
    form = edit(EMQX, base, **{f"{CORE}__replicas": "2"})
    assert form.fields["metadata.name"].disabled
    assert "maxlength" not in html(form, "metadata.name") and "pattern" not in html(form, "metadata.name")
    assert form.is_valid(), form.errors.as_data()
    doc = form.intended(base).to_dict()
    assert doc["metadata"]["name"] == base["metadata"]["name"]
    assert doc["spec"]["coreTemplate"]["spec"]["replicas"] == 2


def test_an_edit_ignores_a_posted_name_or_namespace() -> None:
    base = stored(EMQX, fixture("11-dotted-and-max-length-names"))
    form = edit(EMQX, base, **{"metadata__name": "Other!", "metadata__namespace": "other"})
    assert form.is_valid(), form.errors.as_data()
    assert form.intended(base).to_dict() == base


def test_name_rules_judge_like_the_api_server() -> None:
    assert DNS_LABEL.check("my-emqx") is None
    assert DNS_LABEL.check("a.b") == DNS_LABEL.rule
    assert DNS_LABEL.check("a" * 64) == DNS_LABEL.rule
    assert DNS_SUBDOMAIN.check("mqtt.eu-west-1.prod") is None
    assert DNS_SUBDOMAIN.check(".".join(["a" * 63] * 4)[:253]) is None
    assert DNS_SUBDOMAIN.check("a" * 254) == DNS_SUBDOMAIN.rule
    assert DNS_SUBDOMAIN.check("x\n") == DNS_SUBDOMAIN.rule
    for rule in (DNS_LABEL, DNS_SUBDOMAIN):
        assert rule.html_pattern == rule.html_pattern.replace("[-", "[")  # `v` flag: '-' escaped in classes


def test_validate_name_and_namespace_keep_their_messages() -> None:
    assert validate_name("mqtt.eu-west-1.prod") == "mqtt.eu-west-1.prod"
    with pytest.raises(InvalidName, match=r"invalid EMQX name 'Bad': a lowercase RFC 1123 subdomain must consist"):
        validate_name("Bad", kind="EMQX")
    with pytest.raises(InvalidName, match="must not be empty"):
        validate_name("")
    with pytest.raises(InvalidName, match=r"invalid namespace 'a\.b': a lowercase RFC 1123 label must consist"):
        validate_namespace("a.b")


def test_label_errors_apply_kubernetes_label_rules() -> None:
    assert label_errors({"app.kubernetes.io/name": "emqx", "team": ""}) == []
    assert len(label_errors({"-bad": "x", "Example.COM/x": "y", "k": "v" * 64})) == 3


# ----- an edit -----------------------------------------------------------------------------------------


RICH = {
    "apiVersion": "apps.emqx.io/v2beta1",
    "kind": "EMQX",
    "metadata": {
        "name": "rich",
        "namespace": "ns",
        "labels": {"team": "iot", "tier": "gold"},
        "annotations": {"note": "keep me"},
        "resourceVersion": "42",
        "finalizers": ["apps.emqx.io/finalizer"],
    },
    "spec": {
        "image": "emqx/emqx:5.8.6",
        "futureField": {"nested": [1, "two"]},
        "coreTemplate": {"spec": {"replicas": 3, "resources": {"requests": {"cpu": 1}}, "futureCoreField": True}},
        "replicantTemplate": {"spec": {"replicas": 2}},
    },
    "status": {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Ready",
                "message": "",
                "lastTransitionTime": "2024-01-01T00:00:00Z",
            }
        ]
    },
}


def test_an_edit_writes_only_the_changed_paths_and_keeps_everything_else() -> None:
    base = stored(EMQX, RICH)
    doc = edited(EMQX, base, {f"{CORE}.replicas": "5"})
    expected = copy.deepcopy(base)
    expected["spec"]["coreTemplate"]["spec"]["replicas"] = 5
    assert doc == expected


def test_an_edit_of_labels_keeps_annotations_and_status() -> None:
    base = stored(EMQX, RICH)
    doc = edited(EMQX, base, {"metadata.labels": "team=iot\ntier=silver"})
    assert doc["metadata"]["labels"] == {"team": "iot", "tier": "silver"}
    assert doc["metadata"]["annotations"] == {"note": "keep me"}
    assert doc["status"] == base["status"]
    assert doc["spec"] == base["spec"]


def test_an_edit_applies_onto_a_newer_base() -> None:
    base = stored(EMQX, RICH)
    form = edit(EMQX, base, **{f"{CORE}__replicas": "4"})
    assert form.is_valid(), form.errors.as_data()
    newer = copy.deepcopy(base)
    newer["metadata"]["resourceVersion"] = "43"
    newer["status"]["conditions"][0]["reason"] = "StillReady"
    doc = form.intended(newer).to_dict()
    assert doc["metadata"]["resourceVersion"] == "43"
    assert doc["status"]["conditions"][0]["reason"] == "StillReady"
    assert doc["spec"]["coreTemplate"]["spec"]["replicas"] == 4


def test_an_edit_into_an_absent_core_template_writes_the_replicas_the_user_saw() -> None:
    base = stored(EMQX, fixture("11-dotted-and-max-length-names") | {"spec": {"image": "emqx/emqx:5.8.6"}})
    doc = edited(EMQX, base, {f"{CORE}.env-0-name": "A", f"{CORE}.env-0-value": "1"})
    assert doc["spec"]["coreTemplate"] == {"spec": {"replicas": 1, "env": [{"name": "A", "value": "1"}]}}


def test_emptying_replicant_replicas_removes_the_replicant_template() -> None:
    base = stored(EMQX, RICH)
    doc = edited(EMQX, base, {f"{REPLICANT}.replicas": ""})
    assert "replicantTemplate" not in doc["spec"]


def test_unsetting_a_field_removes_the_mappings_its_removal_leaves_empty() -> None:
    base = stored(EMQX, RICH)
    doc = edited(EMQX, base, {f"{CORE}.resources.requests.cpu": ""})
    assert doc["spec"]["coreTemplate"]["spec"] == {"replicas": 3, "futureCoreField": True}
    spec_only = stored(EMQX, {"metadata": {"name": "a", "labels": {"x": "y"}}, "spec": {"image": "i"}})
    doc = edited(EMQX, spec_only, {"metadata.labels": ""})
    assert doc["metadata"] == {"name": "a", "namespace": "ns"}  # metadata itself stays


def test_an_unchanged_int_or_string_keeps_its_json_type() -> None:
    # /work/shared/fieldcases/08-int-or-string-roundtrip: only replicas changes.
    base = stored(EMQX, fixture("08-int-or-string-roundtrip"))
    doc = edited(EMQX, base, {f"{CORE}.replicas": "4"})
    expected = copy.deepcopy(base)
    expected["spec"]["coreTemplate"]["spec"]["replicas"] = 4
    assert doc == expected
    core, replicant = doc["spec"]["coreTemplate"]["spec"], doc["spec"]["replicantTemplate"]["spec"]
    assert core["minAvailable"] == "50%" and replicant["maxUnavailable"] == 1
    assert core["resources"]["requests"]["cpu"] == 1 and core["env"][0]["value"] == "1883"
    ports = doc["spec"]["listenersServiceTemplate"]["spec"]["ports"]
    assert [p["targetPort"] for p in ports] == ["mqtt", 8883]


def test_a_stored_numeric_string_stays_a_string_when_its_row_changes_elsewhere() -> None:
    base = stored(BROKER_V4, BROKER_V4_DOC)
    doc = edited(BROKER_V4, base, {"spec.serviceTemplate.spec.ports-0-name": "mqtt-tcp"})
    port = doc["spec"]["serviceTemplate"]["spec"]["ports"][0]
    assert port == {"name": "mqtt-tcp", "port": 1883, "targetPort": "1883", "nodePort": 31883}


@pytest.mark.parametrize(
    ("text", "value"), [("2", 2), ("25%", "25%"), ("0", 0), ("dashboard", "dashboard"), ("", None)]
)
def test_a_changed_int_or_string_is_typed_by_its_text(text: str, value: Any) -> None:
    base = stored(EMQX, fixture("08-int-or-string-roundtrip"))
    doc = edited(EMQX, base, {f"{REPLICANT}.maxUnavailable": text})
    assert doc["spec"]["replicantTemplate"]["spec"].get("maxUnavailable") == value
    assert type(doc["spec"]["replicantTemplate"]["spec"].get("maxUnavailable")) is type(value)


def test_an_unchanged_quantity_in_a_map_keeps_its_type_when_another_changes() -> None:
    spec = FormSpec(model=apps_v1beta1.EmqxBroker, fieldsets=(("", ["spec.resources.requests"]),))
    base = stored(spec, {"metadata": {"name": "b"}, "spec": {"resources": {"requests": {"cpu": 1, "memory": "1Gi"}}}})
    doc = edited(spec, base, {"spec.resources.requests": "cpu=1\nmemory=2Gi"})
    assert doc["spec"]["resources"]["requests"] == {"cpu": 1, "memory": "2Gi"}


def test_a_quantity_map_checks_each_value() -> None:
    spec = FormSpec(model=apps_v1beta1.EmqxBroker, fieldsets=(("", ["spec.resources.requests"]),))
    form = add(spec, {"metadata.name": "b", "spec.resources.requests": "cpu=500m\nmemory=-1Gi"})
    assert not form.is_valid()
    assert form.errors["spec.resources.requests"] == [
        "Line 2: '-1Gi' is not a quantity of at least 0 (e.g. 500m, 2, 512Mi, 2Gi)."
    ]


def test_textarea_line_breaks_from_a_browser_are_stored_as_lf() -> None:
    base = stored(EMQX, fixture("02-hocon-multiline-sql"))
    data = values_as_data(EMQX, read_values(EMQX, base))
    assert "\r\n" in data["spec.config.data"]  # as a browser sends it
    form = ResourceForm(data, spec=EMQX, base=base)
    assert form.is_valid() and form.changed_paths() == frozenset()
    doc = edited(EMQX, base, {"spec.config.data": "a = 1\r\nb = 2\r\n"})
    assert doc["spec"]["config"]["data"] == "a = 1\nb = 2\n"


def test_the_consoles_limits_judge_only_what_changes_on_an_edit() -> None:
    # Scaled past the console's limit with kubectl: still editable, the stored value still postable.
    base = stored(
        EMQX, {"metadata": {"name": "big"}, "spec": {"image": "i", "coreTemplate": {"spec": {"replicas": 40}}}}
    )
    form = edit(EMQX, base, **{"spec__image": "emqx/emqx:5.8.7"})
    assert 'max="40"' in html(form, f"{CORE}.replicas")
    assert form.is_valid(), form.errors.as_data()
    assert edit(EMQX, base, **{f"{CORE}__replicas": "33"}).is_valid()
    too_many = edit(EMQX, base, **{f"{CORE}__replicas": "41"})
    assert not too_many.is_valid() and f"{CORE}.replicas" in too_many.errors
    # An add form judges everything, the values it starts from included.
    carried = ResourceForm(
        values_as_data(EMQX, {**read_values(EMQX, base), "metadata.name": "copy"}), spec=EMQX, namespace="ns"
    )
    assert not carried.is_valid() and f"{CORE}.replicas" in carried.errors


def test_schema_checks_judge_a_changed_value() -> None:
    base = stored(BROKER_V1, {"metadata": {"name": "b"}, "spec": {"image": "emqx/emqx:4.3.10", "replicas": 3}})
    assert 'min="3"' in html(edit(BROKER_V1, base), "spec.replicas")
    form = edit(BROKER_V1, base, **{"spec__replicas": "1"})
    assert form.errors["spec.replicas"] == ["Must be at least 3."]


def test_a_stored_value_the_model_refuses_is_reported_on_its_field() -> None:
    # Unchanged fields are not judged again, but the object must still be one of the model: a
    # value stored under an older CRD (v1beta1 replicas has minimum 3) shows on its field.
    base = stored(BROKER_V1, {"metadata": {"name": "b"}, "spec": {"image": "emqx/emqx:4.3.10", "replicas": 3}})
    base["spec"]["replicas"] = 2
    form = edit(BROKER_V1, base, **{"spec__image": "emqx/emqx:4.3.11"})
    assert form.errors["spec.replicas"] == ["Input should be greater than or equal to 3"]


def test_options_validators_run_on_changed_values_only() -> None:
    def no_latest(value: Any) -> None:
        if str(value).endswith(":latest"):
            raise forms.ValidationError("Pin a version.")

    spec = FormSpec(
        model=apps_v2beta1.EMQX,
        fieldsets=(("", ["spec.image"]),),
        options={"spec.image": FieldOptions(validators=(no_latest,))},
    )
    base = stored(spec, {"metadata": {"name": "a"}, "spec": {"image": "emqx/emqx:latest"}})
    assert edit(spec, base).is_valid()
    assert edit(spec, base, **{"spec__image": "emqx/emqx-enterprise:latest"}).errors["spec.image"] == ["Pin a version."]
    assert add(spec, {"metadata.name": "x", "spec.image": "emqx/emqx:latest"}).errors["spec.image"] == [
        "Pin a version."
    ]


def test_a_cross_field_check_puts_its_errors_on_the_fields() -> None:
    seen: list[frozenset[str]] = []

    def request_below_limit(values: Mapping[str, Any], changed: frozenset[str]) -> dict[str, str]:
        seen.append(changed)
        request, limit = values[f"{CORE}.resources.requests.cpu"], values[f"{CORE}.resources.limits.cpu"]
        if request and limit and parse_quantity(request) > parse_quantity(limit):
            return {f"{CORE}.resources.limits.cpu": "The cpu limit must not be below the request."}
        return {}

    spec = FormSpec(model=apps_v2beta1.EMQX, fieldsets=EMQX.fieldsets, options=EMQX.options, clean=request_below_limit)
    base = stored(spec, RICH)
    form = edit(spec, base, **{f"{CORE}.resources.limits.cpu".replace(".", "__"): "500m"})
    assert form.errors[f"{CORE}.resources.limits.cpu"] == ["The cpu limit must not be below the request."]
    assert seen == [frozenset({f"{CORE}.resources.limits.cpu"})]


def test_a_bool_field_keeps_an_unset_value_unset() -> None:
    base = stored(EMQX, fixture("06-blue-green-mid-update"))  # dashboardServiceTemplate.enabled: true
    assert read_values(EMQX, base)["spec.dashboardServiceTemplate.enabled"] is True
    doc = edited(EMQX, base, {"spec.dashboardServiceTemplate.enabled": "false"})
    assert doc["spec"]["dashboardServiceTemplate"] == {"enabled": False}
    doc = edited(EMQX, base, {"spec.dashboardServiceTemplate.enabled": ""})
    assert "dashboardServiceTemplate" not in doc["spec"]


# ----- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec_name", "doc"), [(s, d) for _, s, d in DOCUMENTS], ids=[i for i, _, _ in DOCUMENTS])
def test_an_untouched_form_round_trips_unchanged(spec_name: str, doc: dict[str, Any]) -> None:
    spec = SPECS[spec_name]
    base = stored(spec, doc)
    form = ResourceForm(values_as_data(spec, read_values(spec, base)), spec=spec, base=base)
    assert form.is_valid(), form.errors.as_data()
    assert form.changed_paths() == frozenset()
    assert form.intended(base).to_dict() == base


@pytest.mark.parametrize("spec_name", sorted(SPECS))
def test_an_untouched_add_form_posts_back_its_own_values(spec_name: str) -> None:
    spec = SPECS[spec_name]
    shown = ResourceForm(spec=spec, namespace="ns")
    form = ResourceForm(values_as_data(spec, shown.initial), spec=spec, namespace="ns")
    form.is_valid()
    assert form.changed_paths() == frozenset()
    assert set(form.errors) <= {"metadata.name", "spec.instanceName", "spec.rebalanceStrategy"}


# ----- inline rows ----------------------------------------------------------------------------------


def test_inline_rows_add_edit_and_delete_items() -> None:
    base = stored(BROKER_V4, BROKER_V4_DOC)
    env = f"{V4}.env"
    doc = edited(
        BROKER_V4,
        base,
        {
            f"{env}-0-value": "2",  # edit
            f"{env}-1-DELETE": "on",  # delete
            f"{env}-2-name": "NEW",  # the extra row adds one
            f"{env}-2-value": "x",
        },
    )
    assert doc["spec"]["template"]["spec"]["emqxContainer"]["env"] == [
        {"name": "A", "value": "2"},
        {"name": "NEW", "value": "x"},
    ]


def test_inline_rows_keep_the_sub_fields_they_do_not_show() -> None:
    base = stored(BROKER_V4, BROKER_V4_DOC)
    env = f"{V4}.env"
    doc = edited(BROKER_V4, base, {f"{env}-1-name": "POD_NAME"})
    assert doc["spec"]["template"]["spec"]["emqxContainer"]["env"][1] == {
        "name": "POD_NAME",
        "valueFrom": {"fieldRef": {"fieldPath": "x"}},
    }
    doc = edited(BROKER_V4, base, {"spec.serviceTemplate.spec.ports-0-port": "1884"})
    assert doc["spec"]["serviceTemplate"]["spec"]["ports"][0]["nodePort"] == 31883


def test_deleting_every_row_removes_the_list() -> None:
    base = stored(BROKER_V4, BROKER_V4_DOC)
    env = f"{V4}.env"
    doc = edited(BROKER_V4, base, {f"{env}-0-DELETE": "on", f"{env}-1-DELETE": "on"})
    assert "env" not in doc["spec"]["template"]["spec"]["emqxContainer"]


def test_a_filled_row_needs_its_required_sub_fields_and_shows_errors_on_the_row() -> None:
    ports = "spec.listenersServiceTemplate.spec.ports"
    form = add(EMQX, {"metadata.name": "x", f"{ports}-0-name": "mqtt", f"{ports}-0-targetPort": "1883"})
    assert not form.is_valid()
    assert form.errors[ports] == ["Row 1: Port: this field is required."]
    rendered = html(form, ports)
    assert '<tr class="row-errors">' in rendered and "Port: this field is required." in rendered
    assert f'name="{ports}-0-name" value="mqtt"' in rendered  # what the user typed is kept


def test_a_row_cell_is_checked_by_its_kind_and_the_item_model() -> None:
    form = add(BROKER_V1, {"metadata.name": "x", "spec.acl-0-permission": "maybe", "spec.acl-0-username": "u"})
    assert not form.is_valid()
    assert form.errors["spec.acl"] == [
        "Row 1: Permission: Select a valid choice: 'maybe' is not one of the available choices."
    ]
    form = add(BROKER_V1, {"metadata.name": "x", "spec.acl-0-username": "u"})
    assert form.errors["spec.acl"] == ["Row 1: Permission: this field is required."]
    form = add(BROKER_V1, {"metadata.name": "x", "spec.acl-0-permission": "deny", "spec.acl-0-action": "publish"})
    assert form.is_valid(), form.errors.as_data()
    assert form.intended().to_dict()["spec"]["acl"] == [{"permission": "deny", "action": "publish"}]


def test_a_broken_row_count_is_an_error_not_an_exception() -> None:
    data = values_as_data(EMQX, ResourceForm(spec=EMQX).initial) | {"metadata.name": "x"}
    for total in ("", "-1", "x", "1001", "9" * 40):
        form = ResourceForm({**data, f"{CORE}.env-TOTAL_FORMS": total}, spec=EMQX)
        assert not form.is_valid() and f"{CORE}.env" in form.errors


def test_an_inline_object_overlays_its_shown_sub_fields() -> None:
    base = stored(EMQX, fixture("06-blue-green-mid-update"))
    evacuation = "spec.updateStrategy.evacuationStrategy"
    doc = edited(EMQX, base, {f"{evacuation}-waitTakeover": "30", f"{evacuation}-sessEvictRate": ""})
    assert doc["spec"]["updateStrategy"] == {
        "type": "Recreate",
        "initialDelaySeconds": 10,
        "evacuationStrategy": {"waitTakeover": 30, "connEvictRate": 500},
    }


def test_an_inline_object_checks_schema_bounds() -> None:
    form = add(EMQX, {"metadata.name": "x", "spec.updateStrategy.evacuationStrategy-connEvictRate": "0"})
    assert form.errors["spec.updateStrategy.evacuationStrategy"] == ["Conn evict rate: Must be at least 1."]


# ----- error paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_path", "field"),
    [
        (f"{CORE}.replicas", f"{CORE}.replicas"),
        (f"{CORE}.env[2].name", f"{CORE}.env"),
        (f"{CORE}.env", f"{CORE}.env"),
        ("spec.listenersServiceTemplate.spec.ports[0].targetPort", "spec.listenersServiceTemplate.spec.ports"),
        (f"{CORE}.resources.requests[cpu]", f"{CORE}.resources.requests.cpu"),
        (f"{CORE}.resources.requests.cpu", f"{CORE}.resources.requests.cpu"),
        ("metadata.labels", "metadata.labels"),
        ("metadata.labels[app.kubernetes.io/name]", "metadata.labels"),
        ("metadata.name", "metadata.name"),
        ("spec.updateStrategy.evacuationStrategy.waitTakeover", "spec.updateStrategy.evacuationStrategy"),
        (f"{CORE}.affinity.nodeAffinity", f"{CORE}.affinity"),
        ("spec.coreTemplate", None),
        ("spec.clusterDomain", None),
        ("", None),
    ],
)
def test_field_for_path_maps_api_paths_to_fields(api_path: str, field: str | None) -> None:
    assert ResourceForm(spec=EMQX).field_for_path(api_path) == field


def test_fieldsets_group_bound_fields_by_path() -> None:
    form = ResourceForm(spec=EMQX)
    groups = form.fieldsets()
    assert [title for title, _ in groups] == [title for title, _ in EMQX.fieldsets]
    assert [bf.name for bf in groups[1][1]] == list(EMQX.fieldsets[1][1])
    assert form["spec.image"].name == "spec.image"
    unnamed = FormSpec(model=apps_v2beta1.EMQX, fieldsets=(("Main", ["spec.image"]),))
    assert [bf.name for bf in ResourceForm(spec=unnamed).fieldsets()[0][1]] == [
        "metadata.name",
        "metadata.namespace",
        "spec.image",
    ]


def test_values_as_data_posts_what_a_browser_sends() -> None:
    values = read_values(EMQX, stored(EMQX, RICH)) | {"spec.config.data": "a = 1\nb = 2\n"}
    data = values_as_data(EMQX, values, prefix="theirs")
    assert data["theirs-spec.config.data"] == "a = 1\r\nb = 2\r\n"
    assert data["theirs-metadata.labels"] == "team=iot\r\ntier=gold"
    assert data[f"theirs-{CORE}.env-TOTAL_FORMS"] == "1" and data[f"theirs-{CORE}.env-0-name"] == ""
    assert not any(key.endswith("-DELETE") for key in data)
    form = ResourceForm(data, spec=EMQX, base=stored(EMQX, RICH), prefix="theirs")
    assert form.is_valid(), form.errors.as_data()
    assert form.changed_paths() == frozenset({"spec.config.data"})


def test_a_required_select_without_a_value_posts_its_first_option() -> None:
    data = values_as_data(REBALANCE, {"spec.instanceKind": None})
    assert data["spec.instanceKind"] == ""  # shown with an empty choice, as nothing is stored
    spec = FormSpec(
        model=apps_v2beta1.Rebalance,
        fieldsets=(("", ["spec.instanceKind"]),),
        options={"spec.instanceKind": FieldOptions(choices=("EMQX",), required=True)},
    )
    assert values_as_data(spec, {"spec.instanceKind": "EMQX"})["spec.instanceKind"] == "EMQX"


def test_a_form_spec_refuses_unknown_paths_and_columns() -> None:
    with pytest.raises(ValueError, match=r"has no field 'spec\.imag'"):
        FormSpec(model=apps_v2beta1.EMQX, fieldsets=(("", ["spec.imag"]),))
    with pytest.raises(ValueError, match="column 'valueFrom' is not a scalar field"):
        FormSpec(
            model=apps_v2beta1.EMQX,
            fieldsets=(("", [f"{CORE}.env"]),),
            options={f"{CORE}.env": FieldOptions(columns=("name", "valueFrom"))},
        )
    # Options for paths no fieldset shows are ignored (one mapping may serve several versions).
    FormSpec(
        model=apps_v1beta4.EmqxBroker,
        fieldsets=(("", ["spec.replicas"]),),
        options={"spec.license.secretName": FieldOptions(label="Licence")},
    )


def test_the_form_module_imports_no_view_code() -> None:
    source = (Path(__file__).resolve().parents[2] / "console" / "forms" / "schema.py").read_text()
    assert not re.search(r"^(from|import) console\.(views|registry|kinds)", source, re.MULTILINE)


def test_parse_quantity_reads_kubernetes_quantities() -> None:
    assert parse_quantity("500m") == parse_quantity("0.5")
    assert parse_quantity("1Gi") == 2**30
    assert parse_quantity("2e3") == 2000
    for bad in ("", "1Qi", "1.2.3", "1e", "1Gi\n", "1e999999999"):
        with pytest.raises(ValueError):
            parse_quantity(bad)


# ----- arbitrary input -------------------------------------------------------------------------------


def _start(spec: FormSpec, doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """The values a form starts from: the document's, or a filled-in add form's."""
    if doc is not None:
        return read_values(spec, doc)
    values = dict(ResourceForm(spec=spec, namespace="ns").initial) | {"metadata.name": "x"}
    if spec is REBALANCE:
        values |= {"spec.instanceName": "emqx", "spec.rebalanceStrategy": {"connEvictRate": 10}}
    return values


JUNK = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "1",
        "3",
        "33",
        "1e400",
        "9" * 30,
        "500m",
        "-2Gi",
        "true",
        "no",
        "a=b",
        "a=b\na=c",
        "x\r\ny",
        "<script>",
        "\x00",
        "a: [",
        "- 1",
        "{}",
        "null",
        "mqtt.eu-west-1.prod",
        "Merge",
        "EMQX",
        "on",
        "2000",
    ]
)
CASES = [(name, None) for name in sorted(SPECS)] + [
    (spec_name, doc) for test_id, spec_name, doc in DOCUMENTS if "16-large" not in test_id
]


def test_any_post_data_gives_errors_or_a_valid_object() -> None:
    # Each example posts one form (a kind's add form, or an edit of a field case) four ways: as
    # shown, with one field changed, with one dropped, and with several changed.
    ways = ("as shown", "one field changed", "one field dropped", "several changed")
    branches = Branches("posting a schema form", {**dict.fromkeys(ways, 200), "valid": 200, "errors": 200})

    @settings(max_examples=200, deadline=None)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        spec_name, doc = data.draw(st.sampled_from(CASES))
        spec = SPECS[spec_name]
        base = stored(spec, doc) if doc is not None else None
        start = values_as_data(spec, _start(spec, base))
        keys = sorted(start) + [k.replace("-TOTAL_FORMS", "-0-DELETE") for k in start if k.endswith("-TOTAL_FORMS")]
        value = JUNK | st.text(max_size=20)
        one = data.draw(st.sampled_from(keys), label="field")
        posts = {
            "as shown": start,
            "one field changed": {**start, one: data.draw(value, label="value")},
            "one field dropped": {k: v for k, v in start.items() if k != one},
            "several changed": {**start, **data.draw(st.dictionaries(st.sampled_from(keys), value, min_size=2))},
        }
        for way, posted in posts.items():
            form = ResourceForm(posted, spec=spec, base=base, namespace="ns", renderer=RENDERER)
            branches(way, "valid" if form.is_valid() else "errors")
            if form.is_valid():
                obj = form.intended(base)
                assert isinstance(obj, Resource) and type(obj) is spec.model
                spec.model.from_dict(obj.to_dict())
            else:
                assert way != "as shown", (spec_name, form.errors)  # the form as shown is valid
                assert form.errors
            str(form)  # and the page renders, errors and all

    check()
    branches.check()
