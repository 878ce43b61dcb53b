"""EMQX: EMQX 5 clusters of core and replicant nodes, in every version an operator line serves.

- ``v2beta1`` (operator 2.2, and still served by 2.3);
- ``v2`` (operator 2.3, its storage version);
- ``v3beta1`` (operator 3.0, the only version it serves).

State rules (../shared/crds/OPERATOR-STATUS.md, "How to compute current state"), all here and nowhere else:

- **v2beta1 and v2 model A** (the state machine): conditions are written at the front, so the first
  True condition is the state, as ``kubectl get emqx`` shows it. v2beta1 removes later conditions
  when going back; model A rewrites them False with a reason instead.
- **v2 model B** (later 2.3 code: only CoreNodesProgressing, ReplicantNodesProgressing, Available and
  Ready, each re-evaluated every round) and **v3beta1**: list order means nothing. Ready True is
  the state; otherwise Ready's False reason names the progressing condition (or another role is
  still progressing: the core pods converged while the replicants are created); with nothing
  progressing, Available False is degraded. v3beta1 adds, before that: paused (``Paused`` True:
  nothing will be acted on) and the EMQX API unreachable (``EMQXAPIAvailable`` False: the rest is
  not trustworthy; except ``NoRequester`` while the core set is being created or rolled, which is
  that rollout), and the ``observedGeneration`` of ``Ready`` tells a stale status from a current one.

The two v2 models share one schema; the console tells them apart by the condition types: only the
state machine writes Initialized, CoreNodesReady and ReplicantNodesReady, and it never removes
Initialized.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.utils.text import format_lazy
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from console.actions import DeleteSelected, LabelAction, RestartAction, ScaleAction, SetImageAction, image_at
from console.forms.actions import ScaleField
from console.forms.schema import FieldOptions, FormSpec, help_with_code, parse_quantity
from console.progress import evacuations_in, progress_of
from console.registry import (
    AGE,
    DEGRADED,
    NAME,
    NAMESPACE,
    STATE,
    UNKNOWN,
    VERSION,
    FormContext,
    Health,
    ObjectAction,
    ResourceAdmin,
    counts_column,
    site,
)
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
from emqx.config_roots import STARTUP_ROOTS, changed_startup_paths
from emqx.models import apps_v2, apps_v2beta1, apps_v3beta1
from emqx.models._base import Resource

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

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
# Written only by the state machine (v2beta1, v2 model A); model B and v3beta1 never write them.
STATE_MACHINE_TYPES = frozenset({"Initialized", "CoreNodesReady", "ReplicantNodesReady"})
# The condition a False Ready names as its reason (model B and v3beta1).
PROGRESSING_REASONS = ("CoreNodesProgressing", "ReplicantNodesProgressing")
V3BETA1_TYPES = frozenset(
    {
        "EMQXAPIAvailable",
        "CoreNodesProgressing",
        "ReplicantNodesProgressing",
        "Available",
        "Ready",
        "ConfigApplied",
        "Paused",
    }
)
PAUSED_ANNOTATION = "apps.emqx.io/paused"
"""Operator 3.0 pauses reconciling an EMQX while this annotation is set to anything but ``false``
(``internal/controller/pause_reconciliation.go``)."""

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
                    errors[limit_path] = gettext("The %(resource)s limit must not be below the request.") % {
                        "resource": res
                    }
            except ValueError:
                continue  # the field itself says it is not a quantity
    if changed & set(_resources(REPLICANT)) and values.get(REPLICANT_REPLICAS) is None:
        errors[REPLICANT_REPLICAS] = gettext("Replicant resources need replicant nodes: give the number of replicants.")
    return errors


def _replicas(label: StrOrPromise, minimum: int, maximum: int, help_text: StrOrPromise, **extra: Any) -> FieldOptions:
    # The CRD bounds neither: a cluster needs a core node, and no role can have fewer than none.
    return FieldOptions(label=label, min_value=minimum, max_value=maximum, help_text=help_text, **extra)


def _core_options() -> dict[str, FieldOptions]:
    # A coreTemplate without replicas is defaulted to 2 by the server (CoreTemplateSpec), not to
    # the 1 of a missing coreTemplate: whatever writes into the core template writes the replicas
    # the user saw.
    labels = {
        f"{CORE}.resources.requests.cpu": _("CPU request"),
        f"{CORE}.resources.limits.cpu": _("CPU limit"),
        f"{CORE}.resources.requests.memory": _("Memory request"),
        f"{CORE}.resources.limits.memory": _("Memory limit"),
        f"{CORE}.volumeClaimTemplates.resources.requests.storage": _("Volume size"),
        f"{CORE}.volumeClaimTemplates.storageClassName": _("Storage class"),
        f"{CORE}.env": _("Environment (core nodes)"),
    }
    return {path: FieldOptions(label=label, writes_with=(CORE_REPLICAS,)) for path, label in labels.items()}


def _replicant_options() -> dict[str, FieldOptions]:
    labels = {
        f"{REPLICANT}.resources.requests.cpu": _("CPU request"),
        f"{REPLICANT}.resources.limits.cpu": _("CPU limit"),
        f"{REPLICANT}.resources.requests.memory": _("Memory request"),
        f"{REPLICANT}.resources.limits.memory": _("Memory limit"),
        f"{REPLICANT}.env": _("Environment (replicant nodes)"),
    }
    return {path: FieldOptions(label=label, writes_with=(REPLICANT_REPLICAS,)) for path, label in labels.items()}


def _service_type(label: StrOrPromise) -> FieldOptions:
    return FieldOptions(label=label, choices=SERVICE_TYPES, help_text=_("Kubernetes' default is ClusterIP."))


FIELDSETS_V2BETA1 = (
    (_("Instance"), ["metadata.name", "metadata.namespace", "spec.image", "metadata.labels", "spec.imagePullSecrets"]),
    (_("Nodes"), [CORE_REPLICAS, REPLICANT_REPLICAS]),
    (_("Core node resources"), _resources(CORE)),
    (_("Replicant node resources"), _resources(REPLICANT)),
    (
        _("Storage"),
        [f"{CORE}.volumeClaimTemplates.resources.requests.storage", f"{CORE}.volumeClaimTemplates.storageClassName"],
    ),
    (_("Environment"), [f"{CORE}.env", f"{REPLICANT}.env"]),
    (
        _("Services"),
        [
            "spec.dashboardServiceTemplate.spec.type",
            "spec.listenersServiceTemplate.spec.type",
            "spec.listenersServiceTemplate.spec.ports",
        ],
    ),
    (_("Update strategy"), ["spec.updateStrategy.type", "spec.updateStrategy.initialDelaySeconds"]),
    (_("Configuration"), ["spec.config.mode", "spec.config.data"]),
)


def _options() -> dict[str, FieldOptions]:
    """The console's options of the fields every version shares."""
    return {
        **_core_options(),
        **_replicant_options(),
        "spec.image": FieldOptions(
            label=_("Image"),
            help_text=_("The EMQX image and version, e.g. emqx/emqx:5.8.6 or emqx/emqx-enterprise:5.8.6."),
            validators=(image_reference(SUGGESTED_IMAGE),),
            max_length=512,
        ),
        CORE_REPLICAS: _replicas(
            _("Core replicas"),
            1,
            MAX_CORE_REPLICAS,
            _("Core nodes hold the cluster's data; use an odd number (1, 3, 5)."),
            required=True,
        ),
        REPLICANT_REPLICAS: _replicas(
            _("Replicant replicas"),
            0,
            MAX_REPLICANT_REPLICAS,
            _("Leave empty for no replicant nodes (no replicant template)."),
            empty_unsets="spec.replicantTemplate",
            placeholder=_("none (e.g. 2)"),
        ),
        "spec.imagePullSecrets": FieldOptions(label=_("Image pull secrets"), columns=("name",)),
        "spec.dashboardServiceTemplate.spec.type": _service_type(_("Dashboard service type")),
        "spec.listenersServiceTemplate.spec.type": _service_type(_("Listeners service type")),
        "spec.listenersServiceTemplate.spec.ports": FieldOptions(
            label=_("Listener ports"), columns=("name", "port", "protocol", "targetPort", "nodePort")
        ),
        "spec.updateStrategy.type": FieldOptions(label=_("Update strategy")),
        "spec.updateStrategy.initialDelaySeconds": FieldOptions(label=_("Initial delay (seconds)")),
        "spec.config.mode": FieldOptions(label=_("Configuration mode")),
        "spec.config.data": FieldOptions(
            label=_("Configuration (HOCON)"),
            help_text=_("EMQX configuration merged into or replacing the defaults (spec.config.data)."),
            textarea=True,
            code=True,
            max_length=MAX_CONFIG_BYTES,
            validators=(max_bytes(MAX_CONFIG_BYTES, _("The configuration")), hocon_config),
        ),
        "metadata.labels": FieldOptions(label=_("Labels"), help_text=_("One key=value a line.")),
    }


def form_spec_v2beta1(model: type[Resource]) -> FormSpec:
    """The form of v2beta1 and v2 (operator 2.2 and 2.3): the same spec fields, HOCON configuration."""
    return FormSpec(
        model=model,
        fieldsets=FIELDSETS_V2BETA1,
        options=_options(),
        name_rule=DNS_LABEL,
        suggested={"spec.image": SUGGESTED_IMAGE},
        always_write=("spec.image",),
        clean=check_requests_below_limits,
    )


V3_STORAGE = f"{CORE}.persistentVolumeClaimSpec"
FIELDSETS_V3BETA1 = (
    (_("Instance"), ["metadata.name", "metadata.namespace", "spec.image", "metadata.labels", "spec.imagePullSecrets"]),
    (_("Nodes"), [CORE_REPLICAS, REPLICANT_REPLICAS]),
    (_("Core node resources"), _resources(CORE)),
    (_("Replicant node resources"), _resources(REPLICANT)),
    (_("Storage"), [f"{V3_STORAGE}.resources.requests.storage", f"{V3_STORAGE}.storageClassName"]),
    (_("Environment"), [f"{CORE}.env", f"{REPLICANT}.env"]),
    (
        _("Services"),
        [
            "spec.dashboardServiceTemplate.spec.type",
            "spec.listenersServiceTemplate.spec.type",
            "spec.listenersServiceTemplate.spec.ports",
        ],
    ),
    (
        _("Update strategy"),
        [
            "spec.updateStrategy.evacuationStrategy.type",
            "spec.updateStrategy.replicants.maxSurge",
            "spec.updateStrategy.replicants.maxUnavailable",
            "spec.revisionHistoryLimit",
        ],
    ),
    (_("Configuration"), ["spec.config.roots"]),
)


def config_roots(value: Any) -> None:
    """A v3beta1 ``spec.config.roots``: a mapping of EMQX configuration roots, without
    ``node.cookie``, which the CRD reserves for the operator (its field description).
    Raises ValidationError naming the problem."""
    from django.core.exceptions import ValidationError

    if value is None:
        return
    if not isinstance(value, Mapping):
        raise ValidationError(
            gettext("Give the configuration as a YAML mapping of roots, e.g. `mqtt: {max_packet_size: 1MB}`.")
        )
    node = value.get("node")
    if isinstance(node, Mapping) and "cookie" in node:
        raise ValidationError(gettext("node.cookie is reserved for the operator: leave it out."))


def form_spec_v3beta1() -> FormSpec:
    """The form of v3beta1 (operator 3.0): configuration as a YAML tree of roots, replicant update strategy."""
    options = _options()
    options[CORE_REPLICAS] = _replicas(
        _("Core replicas"),
        1,
        MAX_CORE_REPLICAS,
        _("Core nodes hold the cluster's data; use an odd number (1, 3, 5). With replicants, at least 2."),
        required=True,
    )
    options[f"{V3_STORAGE}.resources.requests.storage"] = FieldOptions(
        label=_("Volume size"), writes_with=(CORE_REPLICAS,)
    )
    options[f"{V3_STORAGE}.storageClassName"] = FieldOptions(label=_("Storage class"), writes_with=(CORE_REPLICAS,))
    options["spec.updateStrategy.evacuationStrategy.type"] = FieldOptions(
        label=_("Node evacuation"),
        help_text=_("NodeEvacuation moves connections and sessions off a node before it goes."),
    )
    options["spec.updateStrategy.replicants.maxSurge"] = FieldOptions(
        label=_("Replicant max surge"), placeholder=_("e.g. 1 or 25%")
    )
    options["spec.updateStrategy.replicants.maxUnavailable"] = FieldOptions(
        label=_("Replicant max unavailable"), placeholder=_("e.g. 0 or 25%")
    )
    options["spec.revisionHistoryLimit"] = FieldOptions(
        label=_("Revisions kept"), help_text=_("Old sets kept for rollback.")
    )
    options["spec.config.roots"] = FieldOptions(
        label=_("Configuration roots (YAML)"),
        help_text=help_with_code(
            _(
                "EMQX configuration as a YAML tree of roots (spec.config.roots). Runtime roots apply at once; "
                "changing {roots} (except cluster.links) restarts every pod, and the preview says so."
            ),
            roots=tuple(STARTUP_ROOTS),
        ),
        code=True,
        validators=(config_roots,),
    )
    return FormSpec(
        model=apps_v3beta1.EMQX,
        fieldsets=FIELDSETS_V3BETA1,
        options=options,
        name_rule=DNS_LABEL,
        suggested={"spec.image": SUGGESTED_IMAGE},
        always_write=("spec.image",),
        clean=check_requests_below_limits,
    )


def is_stacked(api_version: str, conditions: Sequence[Any]) -> bool:
    """Whether the conditions are the state machine's (v2beta1, v2 model A: written at the front,
    the first True one is the state) rather than independent ones (v2 model B, v3beta1)."""
    if api_version.endswith("/v2beta1") or api_version.endswith("/v2alpha1"):
        return True
    if api_version.endswith("/v2"):
        return not conditions or any(c.type in STATE_MACHINE_TYPES for c in conditions)
    return False


def current_condition(api_version: str, conditions: Sequence[Any]) -> Any | None:
    """The condition that is the object's state, per version (module docstring). ``conditions``
    are any objects with ``type``, ``status`` and ``reason`` (ConditionRow, the timeline's Cond);
    the result is one of them, or None when there is none."""
    if is_stacked(api_version, conditions):
        return next((c for c in conditions if c.status == "True"), None)
    by_type = {c.type: c for c in conditions}
    ready, api = by_type.get("Ready"), by_type.get("EMQXAPIAvailable")
    if ready is not None and ready.status == "True":
        return ready
    if api is not None and api.status == "False":
        # No eligible core pod while the core set is being created or rolled is the rollout, not an
        # outage: the state is the rollout's. Otherwise nothing else in the status can be trusted.
        creating = any(c.type in PROGRESSING_REASONS and c.status == "True" for c in conditions)
        if not (api.reason == "NoRequester" and creating):
            return api
    reason = ready.reason if ready is not None else ""
    progressing = by_type.get(reason) if reason in PROGRESSING_REASONS else None
    if progressing is not None and progressing.status == "True":
        return progressing
    # Ready names the first role that is not ready; another may be the one still rolling out (core
    # pods converged, replicants being created): a rollout is under way, not a degradation.
    moving = next((by_type[t] for t in PROGRESSING_REASONS if t in by_type and by_type[t].status == "True"), None)
    if moving is not None:
        return moving
    if ready is not None and ready.reason == "DSReplicationProgressing":
        return ready
    available = by_type.get("Available")
    if available is not None and available.status == "False":
        return available
    return ready


def _state(api_version: str, conditions: Sequence[ConditionRow], current: ConditionRow | None) -> str:
    if current is None:
        return "Pending"
    if current.type == "Ready" and current.status == "True":
        return "Ready"
    if is_stacked(api_version, conditions):
        return "Available" if current.type == "Available" else "Progressing"
    if current.type == "EMQXAPIAvailable":
        return "API unavailable"
    if current.type in PROGRESSING_REASONS or (
        current.type == "Ready" and current.reason == "DSReplicationProgressing"
    ):
        return "Progressing"
    return "Not ready"


def _ready(status: Any, section: str) -> int | None:
    """A role's readyReplicas from its status section (``coreNodesStatus``...): 0 before the operator
    reported anything (nothing runs yet), None (unknown) when it wrote conditions without this
    section (an EMQX carried over from v2alpha1: tests/fieldcases/03-status-without-corenodes)."""
    counts = getattr(status, section, None) if status is not None else None
    if counts is not None:
        return int(counts.ready_replicas or 0)
    return None if status is not None and status.conditions else 0


def _counts(spec: Any, status: Any, *, core_default: int, replicant_default: int) -> tuple[tuple[str, Counts], ...]:
    core_spec = spec.core_template.spec if spec.core_template and spec.core_template.spec else None
    core_desired = core_spec.replicas if core_spec and core_spec.replicas is not None else core_default
    counts = [("Core nodes", Counts.of(_ready(status, "core_nodes_status"), core_desired))]
    if spec.replicant_template is not None:
        rspec = spec.replicant_template.spec
        desired = rspec.replicas if rspec and rspec.replicas is not None else replicant_default
        counts.append(("Replicant nodes", Counts.of(_ready(status, "replicant_nodes_status"), desired)))
    return tuple(counts)


def _observed(conditions: Sequence[ConditionRow], current: ConditionRow | None, generation: int) -> bool:
    # Ready is written every round with the generation it judged (v3beta1); Paused only when it
    # changes, so its observedGeneration may lag without the status being stale.
    ready = next((c for c in conditions if c.type == "Ready"), None)
    judged = ready if ready is not None else current
    return (
        judged is None
        or judged.observed_generation in (None, generation)
        or (judged.observed_generation is not None and judged.observed_generation >= generation)
    )


_EMPTY_SPECS: dict[str, Any] = {
    apps_v2beta1.EMQX.api_version: apps_v2beta1.EMQXSpec(image=""),
    apps_v2.EMQX.api_version: apps_v2.EMQXSpec(image=""),
    apps_v3beta1.EMQX.api_version: apps_v3beta1.EMQXSpec(image=""),
}


@memoized
def summarize(obj: Any) -> Summary:
    """The Summary of an EMQX of any version (v2beta1, v2, v3beta1), by the rules of the module
    docstring."""
    api_version = obj.api_version
    # The CRD does not require a spec: an EMQX without one is accepted by the API server, and
    # reads as the schema's defaults with no image.
    spec = obj.spec or _EMPTY_SPECS[api_version]
    status = obj.status
    conditions = condition_rows(status.conditions if status else None)
    current = current_condition(api_version, conditions)
    state = _state(api_version, conditions, current)
    base = base_fields(obj)
    observed = _observed(conditions, current, base["generation"])
    details: list[tuple[str, StrOrPromise]] = []
    paused = False
    v3 = api_version.endswith("/v3beta1")
    if v3:
        by_type = {c.type: c for c in conditions}
        paused = by_type.get("Paused") is not None and by_type["Paused"].status == "True"
        if paused:
            details.append(
                (
                    "Reconciliation",
                    format_lazy(
                        _("paused by the {annotation} annotation: the operator acts on nothing"),
                        annotation=PAUSED_ANNOTATION,
                    ),
                )
            )
            if state != "Ready":
                state = "Paused"
        config = by_type.get("ConfigApplied")
        if config is not None and config.status != "True":
            details.append(("Configuration", f"{config.reason}: {config.message}"))
        elif config is not None:
            details.append(("Configuration", config.message or config.reason))
        # clusterNodes is sorted by uptime; the page shows core nodes first, as the other versions do.
        nodes = tuple(sorted(node_rows(status.cluster_nodes if status else None), key=lambda n: n.role != "core"))
        counts = _counts(spec, status, core_default=1, replicant_default=0)
        # v3beta1 defaults the replicant replicas to 0, meaning none: no row for a role that is not there.
        counts = tuple((label, c) for label, c in counts if label == "Core nodes" or c.desired or c.ready)
    else:
        nodes = node_rows(status.core_nodes if status else None, "core") + node_rows(
            status.replicant_nodes if status else None, "replicant"
        )
        counts = _counts(spec, status, core_default=1, replicant_default=2)
        if api_version.endswith("/v2") and conditions:
            details.append(
                (
                    "Status model",
                    _("state machine (A)") if is_stacked(api_version, conditions) else _("independent conditions (B)"),
                )
            )
    # nodeEvacuationsStatus (v2beta1, v2) or nodeEvacuations (v3beta1), each line's names read in one place.
    evacuations = evacuations_in(status)
    if evacuations:
        details.append(("Node evacuation", ", ".join(f"{e.node} ({e.state})" for e in evacuations)))
    ds = getattr(status, "ds_replication", None) if status else None
    if ds is not None and ds.dbs:
        moving = [db.name for db in ds.dbs if db.num_transitions or db.min_replicas != db.max_replicas]
        details.append(
            (
                "Durable storage",
                format_lazy(_("replication settling ({databases})"), databases=", ".join(moving))
                if moving
                else _("replication stable"),
            )
        )
    if not observed and current is not None and current.observed_generation is not None:
        details.append(
            (
                "Status",
                format_lazy(
                    _("last observed at generation {observed}; the spec is at {generation}"),
                    observed=current.observed_generation,
                    generation=base["generation"],
                ),
            )
        )
    if base["deleting"]:
        state = "Deleting"
    # What rolls, and the evacuations, as each line writes them: console.progress holds the rule.
    progress = progress_of(status, version_of(spec.image))
    updating = progress is not None
    if updating:
        details.append(("Update", _("rolling out: the operator is replacing the old nodes with new ones")))
    pending_restart = v3 and any(c.type == "ConfigApplied" and c.reason == "StartupConfigPending" for c in conditions)
    # A pause or resume asked for (the annotation) that the operator has not reported yet.
    pause_unanswered = v3 and _pause_annotation_set(obj) != paused
    summary = Summary(
        **base,
        state=state,
        current=current,
        image=spec.image,
        version=version_of(spec.image),
        counts=counts,
        conditions=tuple(conditions),
        nodes=nodes,
        details=tuple(details),
        observed=observed,
        paused=paused,
        updating=updating,
        progress=progress,
        settled=state == "Ready" and observed and not pending_restart and not pause_unanswered and not updating,
    )
    # Ready, yet nodes beyond the desired count are still there: the operator is removing them, and
    # the panel keeps watching until they are gone (tests/fieldcases/05-replicants-scaled-to-zero).
    return dataclasses.replace(summary, settled=False) if summary.settled and summary.surplus else summary


def _is_v3(summary: Summary) -> bool:
    return summary.api_version == apps_v3beta1.EMQX.api_version


def _pause_annotation_set(obj: Resource) -> bool:
    annotations = obj.metadata.annotations or {}
    return PAUSED_ANNOTATION in annotations and annotations[PAUSED_ANNOTATION] != "false"


PAUSE = ObjectAction(
    name="pause",
    label=pgettext_lazy("an object action: pause reconciliation", "Pause"),
    done=_("Reconciliation paused"),
    description=format_lazy(
        _(
            "Sets the {annotation} annotation: the operator stops changing this cluster "
            "(no rollout, scaling or configuration) until it is resumed; EMQX keeps running."
        ),
        annotation=PAUSED_ANNOTATION,
    ),
    applies=lambda obj, summary: _is_v3(summary) and not _pause_annotation_set(obj),
    patch=lambda obj: {"metadata": {"annotations": {PAUSED_ANNOTATION: "true"}}},
)
RESUME = ObjectAction(
    name="resume",
    label=pgettext_lazy("an object action: resume reconciliation", "Resume"),
    done=_("Reconciliation resumed"),
    description=format_lazy(
        _("Removes the {annotation} annotation: the operator acts on the spec again."), annotation=PAUSED_ANNOTATION
    ),
    # Offered as soon as the annotation is set, before the operator reports Paused.
    applies=lambda obj, summary: _is_v3(summary) and _pause_annotation_set(obj),
    patch=lambda obj: {"metadata": {"annotations": {PAUSED_ANNOTATION: None}}},
)


_VERSIONS = ("v2beta1", "v2", "v3beta1")
# Each version's CRD describes coreTemplate and replicantTemplate as the templates of the nodes' pods,
# their metadata as "propagated to objects created from a template" (v3beta1): annotations set there
# reach the pods, and a change of them is a new pod template, which the operator rolls out.
_POD_TEMPLATES = ("spec.coreTemplate", "spec.replicantTemplate")
ACTIONS = (
    DeleteSelected(),
    ScaleAction(
        (
            ScaleField("core", _("Core replicas"), CORE_REPLICAS, 1, MAX_CORE_REPLICAS),
            # The CRD's scale subresource maps the replicants (specReplicasPath), in every version.
            ScaleField("replicants", _("Replicant replicas"), REPLICANT_REPLICAS, 0, MAX_REPLICANT_REPLICAS, True),
        )
    ),
    RestartAction(dict.fromkeys(_VERSIONS, _POD_TEMPLATES)),
    SetImageAction(dict.fromkeys(_VERSIONS, image_at("spec.image")), example=SUGGESTED_IMAGE),
    LabelAction(),
)


class EMQXAdmin(ResourceAdmin):
    kind = "EMQX"
    slug = "emqx"
    models = (apps_v3beta1.EMQX, apps_v2.EMQX, apps_v2beta1.EMQX)
    verbose_name = _("EMQX")
    verbose_name_plural = _("EMQX instances")
    menu_order = 0
    list_display = (
        NAMESPACE,
        NAME,
        STATE,
        VERSION,
        counts_column("core", _("Core ready"), "Core nodes"),
        counts_column("replicants", _("Replicants ready"), "Replicant nodes"),
        AGE,
    )
    ready_conditions = frozenset({"Ready"})
    known_conditions = PROGRESSING_TYPES | V3BETA1_TYPES
    has_timeline = True
    conditions_stack = True
    has_scale = True
    dashboard_label = "EMQX 5"
    # The operator names Services and StatefulSets after the instance (`<name>-core`,
    # `<name>-dashboard`): Service names are DNS labels, so a new EMQX's name must be one.
    name_rule = DNS_LABEL
    create_hint = _("kind EMQX, apiVersion apps.emqx.io/v2 (operator 2.3), v3beta1 (3.0) or v2beta1 (2.2)")
    object_actions = (PAUSE, RESUME)
    # Operator 2.3's CRD serves v2beta1 beside v2 with no conversion webhook (emqx/crds/SOURCES.md):
    # the API server hands the same stored object out in either by rewriting apiVersion alone.
    same_schema_versions = (frozenset({"v2", "v2beta1"}),)
    actions = ACTIONS
    list_filter = ("namespace", "labels", "state", "version", "kind_version")
    # The demo fleet labels instances by tier; deleting anything labelled environment=production asks for its name.
    list_filter_labels = ("environment", "tier")

    def current_of(self, conditions: Sequence[ConditionRow], api_version: str = "") -> ConditionRow | None:
        """The condition that is the state, by the rules of the object's version (module docstring)."""
        result: ConditionRow | None = current_condition(api_version or apps_v2beta1.EMQX.api_version, conditions)
        return result

    def stacks(self, api_version: str, conditions: Sequence[Any]) -> bool:
        """v2beta1 and v2 model A stack their conditions; model B and v3beta1 do not."""
        return is_stacked(api_version, conditions)

    def summarize_object(self, obj: Any) -> Summary:
        return summarize(obj)

    def health(self, summary: Summary, *, seen_ready: bool) -> Health:
        """As every kind's (ResourceAdmin.health), and for v2 model B and v3beta1: the EMQX API
        unreachable is unknown (the rest of the status is not trustworthy), fewer pods available
        than desired is degraded, paused before Ready is degraded (nothing will move), and so is a
        configuration EMQX rejected (v3beta1 ConfigApplied False ConfigRejected), even while Ready."""
        current = summary.current
        if summary.state == "API unavailable" and current is not None:
            return Health(
                UNKNOWN,
                gettext("the operator cannot reach the EMQX API (%(reason)s: %(message)s)")
                % {"reason": current.reason, "message": current.message},
            )
        if summary.state == "Not ready" and current is not None:
            return Health(DEGRADED, f"{current.type} {current.status}: {current.reason} {current.message}".strip())
        if summary.state == "Paused":
            return Health(
                DEGRADED,
                gettext("reconciliation paused (%(annotation)s) before the cluster was Ready")
                % {"annotation": PAUSED_ANNOTATION},
            )
        rejected = next(
            (c for c in summary.conditions if (c.type, c.reason) == ("ConfigApplied", "ConfigRejected")), None
        )
        if rejected is not None and rejected.status == "False":
            # It serves, on its last accepted configuration: the desired one will not apply until it is fixed.
            return Health(
                DEGRADED, gettext("configuration rejected by EMQX: %(message)s") % {"message": rejected.message}
            )
        return super().health(summary, seen_ready=seen_ready)

    def get_form_spec(self, model: type[Resource], context: FormContext) -> FormSpec:
        return _SPECS[model.version]

    def get_detail_context(self, request: HttpRequest, cluster: Any, obj: Resource) -> dict[str, Any]:
        """The instance's API keys (operator 3.0's EMQXAPIKey) and Rebalances (operator 2.x: the
        wizard's link and past ones), for templates/console/emqx/detail.html."""
        from console.kinds.apikeys import api_keys_context
        from console.kinds.rebalance import rebalance_context

        return {**api_keys_context(request, cluster, obj), **rebalance_context(request, cluster, obj)}

    def change_notes(self, before: Resource, after: Resource) -> list[str]:
        """What saving this change will do beyond the fields, for the preview: for v3beta1, the
        changed configuration roots that restart every pod (emqx.config_roots)."""
        if after.api_version != apps_v3beta1.EMQX.api_version:
            return []
        paths = changed_startup_paths(_roots(before), _roots(after))
        if not paths:
            return []
        what = (
            f"the configuration root {paths[0]} takes"
            if len(paths) == 1
            else (f"the configuration roots {', '.join(paths)} take")
        )
        return [f"Saving restarts every pod (a rolling update): {what} effect only when EMQX starts."]


def _roots(obj: Resource) -> Any:
    spec = getattr(obj, "spec", None)
    config = getattr(spec, "config", None) if spec is not None else None
    return getattr(config, "roots", None) if config is not None else None


_SPECS = {
    "v2beta1": form_spec_v2beta1(apps_v2beta1.EMQX),
    "v2": form_spec_v2beta1(apps_v2.EMQX),
    "v3beta1": form_spec_v3beta1(),
}
site.register(EMQXAdmin)
