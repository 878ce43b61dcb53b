"""EMQX (apps.emqx.io/v2beta1, operator 2.2): EMQX 5 clusters of core and replicant nodes.

State (../shared/crds/OPERATOR-STATUS.md, "EMQX v2beta1 status"): the operator only ever sets a
condition True and puts it first, so the first True condition is the state, as `kubectl get
emqx` shows it; Ready counts only when set for the current generation (observedGeneration).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from console.forms.schema import FieldOptions, FormSpec, parse_quantity
from console.registry import AGE, NAME, NAMESPACE, STATE, VERSION, FormContext, ResourceAdmin, counts_column, site
from console.summaries import (
    ConditionRow,
    Counts,
    Summary,
    base_fields,
    condition_rows,
    memoized,
    node_rows,
    version_of,
)
from console.validators import hocon_config, image_reference, max_bytes
from emqx.client.names import DNS_LABEL
from emqx.models import apps_v2beta1
from emqx.models._base import Resource

# EMQX 5 keeps a few core nodes (Mria replicates every write to each of them) and scales out
# with replicants. These bounds catch typos such as 10^9; they are not capacity advice.
MAX_CORE_REPLICAS = 32
MAX_REPLICANT_REPLICAS = 512
# The operator copies spec.config.data into a ConfigMap (1 MiB at most) and the whole object
# must fit etcd's request limit together with its managedFields: 256 KiB leaves room.
MAX_CONFIG_BYTES = 256 * 1024
SUGGESTED_IMAGE = "emqx/emqx:5.8.6"
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")

PROGRESSING_TYPES = frozenset(
    {"Initialized", "CoreNodesProgressing", "CoreNodesReady", "ReplicantNodesProgressing", "ReplicantNodesReady"}
)

CORE = "spec.coreTemplate.spec"
REPLICANT = "spec.replicantTemplate.spec"
CORE_REPLICAS = f"{CORE}.replicas"
REPLICANT_REPLICAS = f"{REPLICANT}.replicas"


def _resources(template: str) -> list[str]:
    return [f"{template}.resources.{kind}.{res}" for res in ("cpu", "memory") for kind in ("requests", "limits")]


def check_requests_below_limits(values: Mapping[str, Any], changed: frozenset[str]) -> dict[str, str]:
    """A request above its limit is refused by the API server's pod validation only when the
    operator creates the pods, long after the save: say it on the field now."""
    errors: dict[str, str] = {}
    for template in (CORE, REPLICANT):
        for res in ("cpu", "memory"):
            request_path, limit_path = f"{template}.resources.requests.{res}", f"{template}.resources.limits.{res}"
            if not {request_path, limit_path} & changed:
                continue
            try:
                request, limit = values.get(request_path), values.get(limit_path)
                if request in (None, "") or limit in (None, ""):
                    continue
                if parse_quantity(str(request)) > parse_quantity(str(limit)):
                    errors[limit_path] = f"The {res} limit must not be below the request."
            except ValueError:
                continue  # the field itself says it is not a quantity
    if changed & set(_resources(REPLICANT)) and values.get(REPLICANT_REPLICAS) is None:
        errors[REPLICANT_REPLICAS] = "Replicant resources need replicant nodes: give the number of replicants."
    return errors


def _replicas(what: str, minimum: int, maximum: int, help_text: str, **extra: Any) -> FieldOptions:
    # The CRD bounds neither: a cluster needs a core node, and no role can have fewer than none.
    return FieldOptions(label=f"{what} replicas", min_value=minimum, max_value=maximum, help_text=help_text, **extra)


def _core_options() -> dict[str, FieldOptions]:
    # A coreTemplate without replicas is defaulted to 2 by the server (CoreTemplateSpec), not to
    # the 1 of a missing coreTemplate: whatever writes into the core template writes the replicas
    # the user saw.
    labels = {
        f"{CORE}.resources.requests.cpu": "CPU request",
        f"{CORE}.resources.limits.cpu": "CPU limit",
        f"{CORE}.resources.requests.memory": "Memory request",
        f"{CORE}.resources.limits.memory": "Memory limit",
        f"{CORE}.volumeClaimTemplates.resources.requests.storage": "Volume size",
        f"{CORE}.volumeClaimTemplates.storageClassName": "Storage class",
        f"{CORE}.env": "Environment (core nodes)",
    }
    return {path: FieldOptions(label=label, writes_with=(CORE_REPLICAS,)) for path, label in labels.items()}


def _replicant_options() -> dict[str, FieldOptions]:
    labels = {
        f"{REPLICANT}.resources.requests.cpu": "CPU request",
        f"{REPLICANT}.resources.limits.cpu": "CPU limit",
        f"{REPLICANT}.resources.requests.memory": "Memory request",
        f"{REPLICANT}.resources.limits.memory": "Memory limit",
        f"{REPLICANT}.env": "Environment (replicant nodes)",
    }
    return {path: FieldOptions(label=label, writes_with=(REPLICANT_REPLICAS,)) for path, label in labels.items()}


def _service_type(label: str) -> FieldOptions:
    return FieldOptions(label=label, choices=SERVICE_TYPES, help_text="Kubernetes' default is ClusterIP.")


FIELDSETS_V2BETA1 = (
    ("Instance", ["metadata.name", "metadata.namespace", "spec.image", "metadata.labels", "spec.imagePullSecrets"]),
    ("Nodes", [CORE_REPLICAS, REPLICANT_REPLICAS]),
    ("Core node resources", _resources(CORE)),
    ("Replicant node resources", _resources(REPLICANT)),
    (
        "Storage",
        [f"{CORE}.volumeClaimTemplates.resources.requests.storage", f"{CORE}.volumeClaimTemplates.storageClassName"],
    ),
    ("Environment", [f"{CORE}.env", f"{REPLICANT}.env"]),
    (
        "Services",
        [
            "spec.dashboardServiceTemplate.spec.type",
            "spec.listenersServiceTemplate.spec.type",
            "spec.listenersServiceTemplate.spec.ports",
        ],
    ),
    ("Update strategy", ["spec.updateStrategy.type", "spec.updateStrategy.initialDelaySeconds"]),
    ("Configuration", ["spec.config.mode", "spec.config.data"]),
)


def form_spec_v2beta1() -> FormSpec:
    options: dict[str, FieldOptions] = {
        **_core_options(),
        **_replicant_options(),
        "spec.image": FieldOptions(
            label="Image",
            help_text="The EMQX image and version, e.g. emqx/emqx:5.8.6 or emqx/emqx-enterprise:5.8.6.",
            validators=(image_reference(SUGGESTED_IMAGE),),
            max_length=512,
        ),
        CORE_REPLICAS: _replicas(
            "Core",
            1,
            MAX_CORE_REPLICAS,
            "Core nodes hold the cluster's data; use an odd number (1, 3, 5).",
            required=True,
        ),
        REPLICANT_REPLICAS: _replicas(
            "Replicant",
            0,
            MAX_REPLICANT_REPLICAS,
            "Leave empty for no replicant nodes (no replicant template).",
            empty_unsets="spec.replicantTemplate",
            placeholder="none (e.g. 2)",
        ),
        "spec.imagePullSecrets": FieldOptions(label="Image pull secrets", columns=("name",)),
        "spec.dashboardServiceTemplate.spec.type": _service_type("Dashboard service type"),
        "spec.listenersServiceTemplate.spec.type": _service_type("Listeners service type"),
        "spec.listenersServiceTemplate.spec.ports": FieldOptions(
            label="Listener ports", columns=("name", "port", "protocol", "targetPort", "nodePort")
        ),
        "spec.updateStrategy.type": FieldOptions(label="Update strategy"),
        "spec.updateStrategy.initialDelaySeconds": FieldOptions(label="Initial delay (seconds)"),
        "spec.config.mode": FieldOptions(label="Configuration mode"),
        "spec.config.data": FieldOptions(
            label="Configuration (HOCON)",
            help_text="EMQX configuration merged into or replacing the defaults (spec.config.data).",
            textarea=True,
            code=True,
            max_length=MAX_CONFIG_BYTES,
            validators=(max_bytes(MAX_CONFIG_BYTES, "The configuration"), hocon_config),
        ),
        "metadata.labels": FieldOptions(label="Labels", help_text="One key=value a line."),
    }
    return FormSpec(
        model=apps_v2beta1.EMQX,
        fieldsets=FIELDSETS_V2BETA1,
        options=options,
        name_rule=DNS_LABEL,
        suggested={"spec.image": SUGGESTED_IMAGE},
        always_write=("spec.image",),
        clean=check_requests_below_limits,
    )


@memoized
def summarize_v2beta1(obj: apps_v2beta1.EMQX) -> Summary:
    # The CRD does not require a spec: an EMQX without one is accepted by the API server, and
    # reads as the schema's defaults with no image.
    spec, status = obj.spec or apps_v2beta1.EMQXSpec(image=""), obj.status
    conditions = condition_rows(status.conditions if status else None)
    current = EMQXAdmin.first_true(conditions)
    if current is None:
        state = "Pending"
    elif current.type == "Ready":
        state = "Ready"
    elif current.type == "Available":
        state = "Available"
    else:
        state = "Progressing"
    core_spec = spec.core_template.spec if spec.core_template and spec.core_template.spec else None
    core_desired = core_spec.replicas if core_spec and core_spec.replicas is not None else 1
    core_ready = status.core_nodes_status.ready_replicas if status and status.core_nodes_status else None
    counts = [("Core nodes", Counts(core_ready or 0, core_desired))]
    if spec.replicant_template is not None:
        rspec = spec.replicant_template.spec
        desired = rspec.replicas if rspec and rspec.replicas is not None else 2
        ready = status.replicant_nodes_status.ready_replicas if status and status.replicant_nodes_status else None
        counts.append(("Replicant nodes", Counts(ready or 0, desired)))
    base = base_fields(obj)
    observed = current is None or current.observed_generation in (None, base["generation"])
    if base["deleting"]:
        state = "Deleting"
    return Summary(
        **base,
        state=state,
        current=current,
        image=spec.image,
        version=version_of(spec.image),
        counts=tuple(counts),
        conditions=tuple(conditions),
        nodes=node_rows(status.core_nodes if status else None, "core")
        + node_rows(status.replicant_nodes if status else None, "replicant"),
        observed=observed,
        settled=state == "Ready" and observed,
    )


class EMQXAdmin(ResourceAdmin):
    kind = "EMQX"
    slug = "emqx"
    models = (apps_v2beta1.EMQX,)
    verbose_name = "EMQX"
    verbose_name_plural = "EMQX instances"
    menu_order = 0
    list_display = (
        NAMESPACE,
        NAME,
        STATE,
        VERSION,
        counts_column("core", "Core ready", "Core nodes"),
        counts_column("replicants", "Replicants ready", "Replicant nodes"),
        AGE,
    )
    ready_conditions = frozenset({"Ready"})
    known_conditions = PROGRESSING_TYPES | {"Available", "Ready"}
    has_timeline = True
    conditions_stack = True
    has_scale = True
    dashboard_label = "EMQX 5"
    # The operator names Services and StatefulSets after the instance (`<name>-core`,
    # `<name>-dashboard`): Service names are DNS labels, so a new EMQX's name must be one.
    name_rule = DNS_LABEL
    create_hint = "kind EMQX, apiVersion apps.emqx.io/v2beta1"

    @staticmethod
    def first_true(conditions: list[ConditionRow] | tuple[ConditionRow, ...]) -> ConditionRow | None:
        return next((c for c in conditions if c.status == "True"), None)

    def current_of(self, conditions: Any) -> ConditionRow | None:
        """EMQX's first True condition (v2beta1 conditions are only ever True)."""
        return self.first_true(list(conditions))

    def summarize(self, obj: Any) -> Summary:
        return summarize_v2beta1(obj)

    def get_form_spec(self, model: type[Resource], context: FormContext) -> FormSpec:
        return _SPEC


_SPEC = form_spec_v2beta1()
site.register(EMQXAdmin)
