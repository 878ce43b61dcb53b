"""EmqxBroker and EmqxEnterprise: EMQX 4.x clusters, in v1beta4 (operator 2.2) or the 2021
v1beta1 (operator 1.0), whichever the cluster serves.

State (../shared/crds/OPERATOR-STATUS.md, "EmqxBroker / EmqxEnterprise status"): both lines keep
the newest condition first; v1beta4's ``Running`` True (v1beta1's ``Healthy``) is Ready, a
False one or v1beta1's ``Failed`` is not; anything else is on its way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from console.actions import (
    AdminAction,
    DeleteSelected,
    LabelAction,
    RestartAction,
    ScaleAction,
    SetImageAction,
    image_at,
    image_parts,
)
from console.forms.actions import ScaleField
from console.forms.schema import FieldOptions, FormSpec, help_with_code
from console.registry import AGE, NAME, NAMESPACE, STATE, VERSION, Column, FormContext, ResourceAdmin, site
from console.summaries import Counts, Summary, base_fields, condition_rows, memoized, node_rows, version_of
from console.validators import image_reference
from emqx.client.names import DNS_LABEL
from emqx.models import apps_v1beta1, apps_v1beta4
from emqx.models._base import Resource

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

Broker2021 = apps_v1beta1.EmqxBroker | apps_v1beta1.EmqxEnterprise
Broker = Broker2021 | apps_v1beta4.EmqxBroker | apps_v1beta4.EmqxEnterprise

# operator 1.0 (v1beta1) defaults and requires at least 3 replicas; v1beta4 defaults to 3.
DEFAULT_REPLICAS = 3
BROKER_CONDITIONS = frozenset(
    {"Running", "PluginInitialized", "Creating", "Scaling", "Upgrading", "Updating", "Failed", "Healthy"}
)


def image_of(obj: Broker) -> str:
    """The image reference: v1beta1's ``spec.image``; v1beta4's image parts joined."""
    # No CRD requires a spec: the API server stores objects without one.
    if isinstance(obj, Broker2021):
        return (obj.spec.image or "") if obj.spec else ""
    spec = obj.spec
    if spec is None:
        return ""
    container = spec.template.spec.emqx_container if spec.template and spec.template.spec else None
    image = container.image if container else None
    if image is None:
        return ""
    repo = "/".join(p for p in (image.registry, image.repository) if p)
    return f"{repo}:{image.prefix or ''}{image.version}{image.suffix or ''}"


@memoized
def summarize_broker(obj: Broker) -> Summary:
    status = obj.status
    conditions = condition_rows(status.conditions if status else None)
    current = conditions[0] if conditions else None
    if current is None:
        state = "Pending"
    elif current.type in ("Running", "Healthy") and current.status == "True":
        state = "Ready"
    elif current.type == "Failed" or current.status == "False":
        state = "Not ready"
    else:
        state = "Progressing"
    replicas = getattr(obj.spec, "replicas", None)
    desired = replicas if replicas is not None else DEFAULT_REPLICAS
    nodes = node_rows(getattr(status, "emqx_nodes", None) if status else None)
    counts: tuple[tuple[str, Counts], ...] = ()
    if isinstance(obj, Broker2021):
        # A v1beta1 status is conditions only: no node, no count (showing "0/3 ready" beside
        # Healthy would be wrong), and nothing that says which spec it is about.
        caught_up = True
    else:
        ready = (obj.status.ready_replicas or 0) if obj.status else 0
        counts = (("Nodes", Counts.of(ready, desired)),)
        # v1beta4's Running condition stays True while the operator has yet to act on new
        # replicas: Ready for the current spec is also every desired node there and ready.
        reported = obj.status.replicas if obj.status else None
        caught_up = reported in (None, desired) and ready == desired
    image = image_of(obj)
    base = base_fields(obj)
    if base["deleting"]:
        state = "Deleting"
    failure = (current.message or "Failed") if current is not None and current.type == "Failed" else ""
    return Summary(
        **base,
        state=state,
        current=current,
        image=image,
        version=version_of(image) or image,
        counts=counts,
        conditions=tuple(conditions),
        nodes=nodes,
        details=(("Image", image or "—"), ("Replicas", str(replicas if replicas is not None else "—"))),
        settled=state == "Ready" and caught_up,
        failure=failure,
    )


# ----- forms ---------------------------------------------------------------------------------

_V4_CONTAINER = "spec.template.spec.emqxContainer"
_V4_IMAGE = f"{_V4_CONTAINER}.image"


_RESOURCE_LABELS = {
    "requests.cpu": _("CPU request"),
    "limits.cpu": _("CPU limit"),
    "requests.memory": _("Memory request"),
    "limits.memory": _("Memory limit"),
}


def _resources(prefix: str) -> list[str]:
    return [f"{prefix}.{key}" for key in _RESOURCE_LABELS]


def _resource_options(prefix: str) -> dict[str, FieldOptions]:
    return {f"{prefix}.{key}": FieldOptions(label=label) for key, label in _RESOURCE_LABELS.items()}


def form_spec_v1beta4(model: type[Resource]) -> FormSpec:
    enterprise = model is apps_v1beta4.EmqxEnterprise
    repository = "emqx/emqx-ee" if enterprise else "emqx/emqx"
    fieldsets: list[tuple[StrOrPromise, list[str]]] = [
        (_("Instance"), ["metadata.name", "metadata.namespace", "metadata.labels"]),
        (_("Image"), [f"{_V4_IMAGE}.repository", f"{_V4_IMAGE}.version", f"{_V4_IMAGE}.pullPolicy"]),
        (_("Nodes"), ["spec.replicas"]),
        (_("Resources"), _resources(f"{_V4_CONTAINER}.resources")),
        (
            _("Persistence"),
            [
                "spec.persistent.spec.resources.requests.storage",
                "spec.persistent.spec.storageClassName",
                "spec.persistent.spec.accessModes",
            ],
        ),
        (_("Configuration"), [f"{_V4_CONTAINER}.emqxConfig"]),
    ]
    if enterprise:
        fieldsets.insert(3, (_("Licence"), ["spec.license.secretName"]))
    options = {
        f"{_V4_IMAGE}.repository": FieldOptions(
            label=_("Image repository"), help_text=format_lazy(_("e.g. {example}"), example=repository)
        ),
        f"{_V4_IMAGE}.version": FieldOptions(
            label=_("EMQX version"), help_text=format_lazy(_("e.g. {example}"), example="4.4.19")
        ),
        f"{_V4_IMAGE}.pullPolicy": FieldOptions(label=_("Pull policy")),
        "spec.replicas": FieldOptions(label=_("Replicas"), help_text=_("EMQX 4 nodes in the cluster.")),
        "spec.persistent.spec.resources.requests.storage": FieldOptions(
            label=_("Volume size"), help_text=format_lazy(_("e.g. {example}"), example="1Gi")
        ),
        "spec.persistent.spec.storageClassName": FieldOptions(label=_("Storage class")),
        "spec.persistent.spec.accessModes": FieldOptions(
            label=_("Access modes"), help_text=_("One a line, e.g. ReadWriteOnce.")
        ),
        "spec.license.secretName": FieldOptions(
            label=_("Licence Secret"),
            help_text=_(
                "The name of a Secret in the same namespace holding the EMQX Enterprise licence (key emqx.lic)."
            ),
        ),
        f"{_V4_CONTAINER}.emqxConfig": FieldOptions(
            label=_("EMQX configuration"),
            help_text=help_with_code(
                _("emqx.conf keys, one key=value a line (e.g. {example})."), example="log.level=info"
            ),
        ),
        "metadata.labels": FieldOptions(label=_("Labels"), help_text=_("One key=value a line.")),
    }
    options.update(_resource_options(f"{_V4_CONTAINER}.resources"))
    return FormSpec(
        model=model,
        fieldsets=fieldsets,
        options=options,
        name_rule=DNS_LABEL,
        suggested={f"{_V4_IMAGE}.repository": repository, f"{_V4_IMAGE}.version": "4.4.19"},
        always_write=(f"{_V4_IMAGE}.repository", f"{_V4_IMAGE}.version"),
    )


def form_spec_v1beta1(model: type[Resource]) -> FormSpec:
    enterprise = model is apps_v1beta1.EmqxEnterprise
    image = "emqx/emqx-ee:4.3.10" if enterprise else "emqx/emqx:4.3.10"
    fieldsets: list[tuple[StrOrPromise, list[str]]] = [
        (_("Instance"), ["metadata.name", "metadata.namespace", "metadata.labels"]),
        (
            pgettext_lazy("the EMQX 4 broker's fieldset", "Broker"),
            ["spec.image", "spec.replicas", "spec.serviceAccountName", "spec.labels"],
        ),
        (_("Listeners"), ["spec.listener.type", "spec.listener.ports"]),
        (_("Access control"), ["spec.acl"]),
        (_("Plugins and modules"), ["spec.plugins", "spec.modules"]),
        (_("Environment"), ["spec.env"]),
        (_("Resources"), _resources("spec.resources")),
    ]
    if enterprise:
        fieldsets.insert(2, (_("Licence"), ["spec.license"]))
    options = {
        "spec.image": FieldOptions(
            label=_("Image"),
            help_text=format_lazy(_("e.g. {example}"), example=image),
            validators=(image_reference(image),),
            max_length=512,
        ),
        "spec.replicas": FieldOptions(label=_("Replicas"), help_text=_("At least 3 (operator 1.0).")),
        "spec.serviceAccountName": FieldOptions(label=_("Service account")),
        "spec.labels": FieldOptions(
            label=_("Pod labels"),
            help_text=_("Labels of the broker's pods (spec.labels), one key=value a line: required by the operator."),
        ),
        "spec.listener.type": FieldOptions(label=_("Listener service type")),
        "spec.listener.ports": FieldOptions(label=_("Listener ports")),
        "spec.acl": FieldOptions(
            label=_("ACL rules"), columns=("permission", "action", "username", "clientid", "ipaddress")
        ),
        "spec.plugins": FieldOptions(label=_("Plugins"), columns=("name", "enable")),
        "spec.modules": FieldOptions(label=_("Modules"), columns=("name", "enable")),
        "spec.env": FieldOptions(label=_("Environment"), columns=("name", "value")),
        "spec.license": FieldOptions(label=_("Licence"), textarea=True, code=True),
        "metadata.labels": FieldOptions(label=_("Labels"), help_text=_("One key=value a line.")),
        **_resource_options("spec.resources"),
    }
    return FormSpec(
        model=model,
        fieldsets=fieldsets,
        options=options,
        name_rule=DNS_LABEL,
        suggested={"spec.image": image, "spec.replicas": DEFAULT_REPLICAS},
        always_write=("spec.image", "spec.replicas"),
    )


def _actions(example: str) -> tuple[AdminAction, ...]:
    """The list actions of a 4.x broker kind (``example``: an image reference of its own)."""
    return (
        DeleteSelected(),
        # Both versions' CRDs map spec.replicas in their scale subresource.
        ScaleAction((ScaleField("replicas", _("Replicas"), "spec.replicas", 1, 64, True),)),
        # v1beta4's spec.template is the StatefulSet's pod template; operator 1.0's v1beta1 has no pod
        # annotations at all (spec.annotations came in a later v1beta1): no rolling restart from here.
        RestartAction(
            {"v1beta4": ("spec.template",)},
            unsupported=_(
                "operator 1.0's v1beta1 has no pod annotations: restart its StatefulSet's pods instead "
                "(kubectl rollout restart statefulset)"
            ),
        ),
        SetImageAction({"v1beta4": image_parts(_V4_IMAGE), "v1beta1": image_at("spec.image")}, example=example),
        LabelAction(),
    )


class _BrokerAdmin(ResourceAdmin):
    list_display = (
        NAMESPACE,
        NAME,
        STATE,
        VERSION,
        Column("ready", pgettext_lazy("nodes ready/desired", "Ready"), lambda s: s.count("Nodes") or "—"),
        AGE,
    )
    ready_conditions = frozenset({"Running", "Healthy"})
    known_conditions = BROKER_CONDITIONS
    has_timeline = True
    has_scale = True
    # The operator names the StatefulSet and its Services after the broker: DNS labels.
    name_rule = DNS_LABEL
    list_filter = ("namespace", "labels", "state", "version", "kind_version")
    list_filter_labels = ("environment", "tier")

    def summarize_object(self, obj: Any) -> Summary:
        return summarize_broker(obj)

    def get_form_spec(self, model: type[Resource], context: FormContext) -> FormSpec:
        return _SPECS[model]


class EmqxBrokerAdmin(_BrokerAdmin):
    kind = "EmqxBroker"
    slug = "emqxbrokers"
    models = (apps_v1beta4.EmqxBroker, apps_v1beta1.EmqxBroker)
    verbose_name = _("EMQX broker")
    verbose_name_plural = _("EMQX brokers (v4)")
    dashboard_label = "EmqxBroker (4.x)"
    create_hint = _("kind EmqxBroker, apiVersion apps.emqx.io/v1beta4")
    menu_order = 10
    actions = _actions("emqx/emqx:4.4.19")


class EmqxEnterpriseAdmin(_BrokerAdmin):
    kind = "EmqxEnterprise"
    slug = "emqxenterprises"
    models = (apps_v1beta4.EmqxEnterprise, apps_v1beta1.EmqxEnterprise)
    verbose_name = _("EMQX Enterprise")
    verbose_name_plural = _("EMQX Enterprise (v4)")
    dashboard_label = "EmqxEnterprise (4.x)"
    known_conditions = BROKER_CONDITIONS | {"BlueGreenUpdating"}
    create_hint = _("kind EmqxEnterprise, apiVersion apps.emqx.io/v1beta4")
    menu_order = 20
    actions = _actions("emqx/emqx-ee:4.4.19")


_SPECS: dict[type[Resource], FormSpec] = {
    apps_v1beta4.EmqxBroker: form_spec_v1beta4(apps_v1beta4.EmqxBroker),
    apps_v1beta4.EmqxEnterprise: form_spec_v1beta4(apps_v1beta4.EmqxEnterprise),
    apps_v1beta1.EmqxBroker: form_spec_v1beta1(apps_v1beta1.EmqxBroker),
    apps_v1beta1.EmqxEnterprise: form_spec_v1beta1(apps_v1beta1.EmqxEnterprise),
}
site.register(EmqxBrokerAdmin)
site.register(EmqxEnterpriseAdmin)
