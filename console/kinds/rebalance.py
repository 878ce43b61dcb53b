"""Rebalance (apps.emqx.io/v2beta1, or v1beta4 from an older operator): moves connections and
sessions across an EMQX Enterprise cluster's nodes once, then reports Completed or Failed.

State (../shared/crds/OPERATOR-STATUS.md, "Rebalance v2beta1"): its ``phase`` (Processing,
Completed, Failed); no phase yet is Pending. A v1beta4 Rebalance names no instanceKind: it acts
on an EmqxEnterprise (load rebalancing is an EMQX Enterprise 4.4 feature).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from console.forms.schema import FieldOptions, FormSpec
from console.registry import AGE, NAME, NAMESPACE, STATE, Column, FormContext, ResourceAdmin, site
from console.summaries import Summary, base_fields, condition_rows, memoized, parse_time
from emqx import images
from emqx.errors import EmqxClientError
from emqx.models import apps_v1beta4, apps_v2, apps_v2beta1
from emqx.models._base import Resource

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

AnyRebalance = apps_v1beta4.Rebalance | apps_v2beta1.Rebalance
PHASES = {"Processing": "Processing", "Completed": "Completed", "Failed": "Failed"}
# What a Rebalance may act on (the operator's instanceKind values).
TARGET_KINDS = ("EMQX", "EmqxEnterprise")
# Operator lines whose Rebalance v2beta1 CRD has no instanceKind: 2.3 removed EmqxEnterprise, and
# with it the field (apps.emqx.io_rebalances.v2beta1.main-2.3-b515557.yaml). Writing it there is an
# unknown field, refused.
LINES_WITHOUT_INSTANCE_KIND = frozenset({"2.3"})


def _has_instance_kind(context: FormContext) -> bool:
    """Whether the cluster's Rebalance v2beta1 has spec.instanceKind (by its operator line, from the
    discovery already done; assumed so when unknown)."""
    cluster = context.cluster
    return cluster is None or cluster.operator_line() not in LINES_WITHOUT_INSTANCE_KIND


def target_of(obj: AnyRebalance) -> tuple[str, str]:
    """(kind, name) of the instance the Rebalance acts on."""
    spec = obj.spec
    if spec is None:
        return "", ""
    kind = spec.instance_kind if isinstance(spec, apps_v2beta1.RebalanceSpec) else "EmqxEnterprise"
    return kind, spec.instance_name


def _when(value: Any) -> str:
    """A status time as the detail page writes the creation time: ``2026-11-26 10:05:00 UTC``."""
    when = parse_time(value)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if when is not None else "—"


@memoized
def summarize_rebalance(obj: AnyRebalance) -> Summary:
    status, spec = obj.status, obj.spec
    phase = (status.phase if status else None) or ""
    state = PHASES.get(phase, "Pending")
    kind, name = target_of(obj)
    instance = f"{kind} {name}" if name else "—"
    strategy = spec.rebalance_strategy if spec is not None else None
    conditions = condition_rows(status.conditions if status else None)
    base = base_fields(obj)
    if base["deleting"]:
        state = "Deleting"
    return Summary(
        **base,
        state=state,
        current=conditions[0] if conditions else None,
        version=instance,
        conditions=tuple(conditions),
        details=(
            ("Instance", instance),
            ("Connection evict rate", str(strategy.conn_evict_rate) if strategy is not None else "—"),
            ("Started", _when(status.started_time if status else None)),
            ("Completed", _when(status.completed_time if status else None)),
            *_node_states(status.rebalance_states if status else None),
        ),
        settled=state in ("Completed", "Failed"),
    )


def _node_states(states: Any) -> list[tuple[str, str]]:
    """Detail lines of EMQX's rebalance while Processing (``status.rebalanceStates``, from EMQX's
    ``/api/v5/load_rebalance/global_status``): its state (``evicting_conns``...), the coordinator
    node, the donors (connections and sessions leave them) and the recipients. Not the page's
    node table: a node's rebalance state is not whether it runs (the dashboards' degraded rule)."""
    lines: list[tuple[str, str]] = []
    for entry in states or ():
        lines.append(("Rebalance state", str(entry.state or "—")))
        lines.append(("Coordinator node", str(entry.coordinator_node or entry.node or "—")))
        lines.append(("Donor nodes", ", ".join(entry.donors or ()) or "—"))
        lines.append(("Recipient nodes", ", ".join(entry.recipients or ()) or "—"))
    return lines


_STRATEGY = "spec.rebalanceStrategy"
# (label, help, minimum): EMQX's rebalance API refuses rates below 1 and negative waits or
# thresholds (emqx_node_rebalance's schema); the CRD itself bounds only connEvictRate.
STRATEGY_FIELDS: dict[str, tuple[StrOrPromise, StrOrPromise | None, int | None]] = {
    "connEvictRate": (_("Connection evict rate"), _("Connections evicted per second on each source node."), 1),
    "sessEvictRate": (_("Session evict rate"), _("Sessions evicted per second on each source node."), 1),
    "waitTakeover": (
        _("Wait for takeover (s)"),
        _("Seconds to wait for clients to reconnect before evicting sessions."),
        0,
    ),
    "waitHealthCheck": (
        _("Wait for health check (s)"),
        _("Seconds the load balancer needs to drop a source node."),
        0,
    ),
    "absConnThreshold": (_("Absolute connection threshold"), _("Connections a node may have above the average."), 0),
    "relConnThreshold": (_("Relative connection threshold"), _("A decimal, e.g. 1.1 (10% above the average)."), None),
    "absSessThreshold": (_("Absolute session threshold"), _("Sessions a node may have above the average."), 0),
    "relSessThreshold": (_("Relative session threshold"), _("A decimal, e.g. 1.1 (10% above the average)."), None),
}


def operator_defaults() -> dict[str, Any]:
    """The CRD's ``default`` of each strategy field that has one, by its JSON name
    (``{"sessEvictRate": 500, "relConnThreshold": "1.1", ...}``): the same in v2beta1 and v1beta4."""
    fields = apps_v2beta1.RebalanceStrategy.model_fields
    return {
        str(info.alias): info.default
        for info in fields.values()
        if info.alias in STRATEGY_FIELDS and not info.is_required() and info.default is not None
    }


def _with_bounds(help_text: StrOrPromise | None, key: str, minimum: int | None) -> str:
    """A strategy field's help with its bounds and the operator's default (the CRD's ``default``,
    the same in v2beta1 and v1beta4): "... At least 1. The operator's default: 500." The relative
    thresholds' bound is EMQX's (greater than 1); connEvictRate has no default (it is required).
    In the language of the request (the form is built for each one)."""
    default = operator_defaults().get(key)
    parts = [str(help_text or "")]
    if key.startswith("rel"):
        parts.append(gettext("Greater than 1."))
    elif minimum is not None:
        parts.append(gettext("At least %(minimum)s.") % {"minimum": minimum})
    parts.append(
        gettext("The operator's default: %(default)s.") % {"default": default}
        if default is not None
        else gettext("Required: no default.")
    )
    return " ".join(p for p in parts if p)


def _decimal_above_one(value: Any) -> None:
    """EMQX's relative thresholds are decimals greater than 1 ("1.1": 10% above the average)."""
    if value in (None, ""):
        return
    try:
        number = float(str(value))
    except ValueError:
        raise forms.ValidationError(gettext("A decimal such as 1.1.")) from None
    if not number > 1:
        raise forms.ValidationError(gettext("Must be greater than 1 (e.g. 1.1)."))


def _instances(context: FormContext, kind: str) -> list[str]:
    """Names of the namespace's instances of ``kind`` the console knows (from the cache). The
    first form of a console that has not listed ``kind`` yet waits for the cache's first LIST,
    as the add page does for its own kind: without it, the choice is not offered."""
    cluster = context.cluster
    if cluster is None or not context.namespace:
        return []
    try:
        cache = cluster.cache(kind)
    except EmqxClientError:
        return []
    return sorted(o.metadata.name or "" for o in cache.list(context.namespace))


def form_spec(model: type[Resource], context: FormContext) -> FormSpec:
    """The form of Rebalance ``model`` (v2beta1 or v1beta4) on the context's cluster: v2beta1 names
    the instance's kind, except on operator lines whose CRD dropped the field (2.3: EMQX only)."""
    v2 = model is apps_v2beta1.Rebalance
    with_kind = v2 and _has_instance_kind(context)
    kinds = TARGET_KINDS if with_kind else ("EMQX",) if v2 else ("EmqxEnterprise",)
    by_kind = {kind: _instances(context, kind) for kind in kinds}
    names = sorted({n for found in by_kind.values() for n in found})
    instance = FieldOptions(
        label=_("Instance"),
        choices=tuple(names) if names else None,
        help_text=_("The instance to rebalance, in the same namespace.")
        if names
        else _("The name of the instance to rebalance, in the same namespace."),
    )
    fields = ["spec.instanceKind", "spec.instanceName"] if with_kind else ["spec.instanceName"]
    options: dict[str, FieldOptions] = {
        "metadata.labels": FieldOptions(label=_("Labels")),
        "spec.instanceName": instance,
        "spec.instanceKind": FieldOptions(label=_("Instance kind"), choices=TARGET_KINDS, required=True),
        **{
            f"{_STRATEGY}.{key}": FieldOptions(
                label=label,
                help_text=_with_bounds(help_text, key, minimum),
                min_value=minimum,
                validators=(_decimal_above_one,) if key.startswith("rel") else (),
            )
            for key, (label, help_text, minimum) in STRATEGY_FIELDS.items()
        },
    }

    def check_target(values: Mapping[str, Any], changed: frozenset[str]) -> dict[str, str]:
        if context.cluster is None or not context.namespace or not {"spec.instanceName", "spec.instanceKind"} & changed:
            return {}
        kind = str(values.get("spec.instanceKind") or ("EMQX" if v2 else "EmqxEnterprise"))
        name = str(values.get("spec.instanceName") or "")
        known = by_kind.get(kind)
        if name and known is not None and names and name not in known:
            return {
                "spec.instanceName": gettext("There is no %(kind)s called %(name)s in namespace %(namespace)s.")
                % {"kind": kind, "name": repr(name), "namespace": context.namespace}
            }
        return {}

    return FormSpec(
        model=model,
        fieldsets=(
            (_("Rebalance"), ["metadata.name", "metadata.namespace", "metadata.labels", *fields]),
            (_("Strategy"), [f"{_STRATEGY}.{key}" for key in STRATEGY_FIELDS]),
        ),
        options=options,
        # The add form opens on the operator's defaults, so that the wizard shows what it would do anyway.
        suggested={f"{_STRATEGY}.connEvictRate": 10, **{f"{_STRATEGY}.{k}": v for k, v in operator_defaults().items()}},
        always_write=(f"{_STRATEGY}.connEvictRate", "spec.instanceName", *(["spec.instanceKind"] if with_kind else [])),
        clean=check_target,
    )


class RebalanceAdmin(ResourceAdmin):
    kind = "Rebalance"
    slug = "rebalances"
    models = (apps_v2beta1.Rebalance, apps_v1beta4.Rebalance)
    verbose_name = _("Rebalance")
    verbose_name_plural = _("Rebalances")
    list_display = (
        NAMESPACE,
        NAME,
        STATE,
        Column(
            "version", pgettext_lazy("a rebalance's target version", "Target"), lambda s: s.version, lambda s: s.version
        ),
        AGE,
    )
    counted = False
    status_follows_spec = False
    status_panel_permissions = ("delete",)  # the Stop link of rebalances/_status.html
    list_filter_labels = ("environment",)  # no version facet: its Version column is the target instance
    create_hint = _("kind Rebalance, apiVersion apps.emqx.io/v2beta1")
    menu_order = 30

    def summarize_object(self, obj: Any) -> Summary:
        return summarize_rebalance(obj)

    def get_form_spec(self, model: type[Resource], context: FormContext) -> FormSpec:
        return form_spec(model, context)


site.register(RebalanceAdmin)


# ----- the EMQX detail page's Rebalance wizard and past Rebalances ------------------------------


def can_be_rebalanced(obj: Resource) -> bool:
    """Whether a Rebalance may target this EMQX (operator 2.x's rebalance controller: "Only
    enterprise edition can be rebalanced", judged from the ``edition`` EMQX reports for its first
    core node; emqx/crds: instanceName "just works for EMQX Enterprise"). The node's reported
    edition decides where the status has one (v2beta1); otherwise the image's (emqx.images.edition_of:
    an ``emqx/emqx-enterprise`` or ``emqx-ee`` image, or EMQX 5.9 and later).
    v3beta1 (operator 3.0) serves no Rebalance: False."""
    if not isinstance(obj, apps_v2beta1.EMQX | apps_v2.EMQX) or obj.spec is None:
        return False
    status = obj.status
    nodes = status.core_nodes if status is not None else None
    edition = getattr(nodes[0], "edition", None) if nodes else None
    if edition:
        return str(edition) == "Enterprise"
    return images.edition_of(obj.spec.image) == "Enterprise"


def is_ready_for_rebalance(obj: Resource) -> bool:
    """Whether the operator would start a Rebalance of this EMQX now: its ``Ready`` condition is
    True (operator 2.x's rebalance controller fails one of an instance that is not: "EMQX <name>
    is not ready"; sandbox/operator/rebalance.py plays the same rule)."""
    conditions = getattr(getattr(obj, "status", None), "conditions", None)
    return any(c.type == "Ready" and str(c.status) == "True" for c in conditions or ())


def rebalances_of(cache: Any, namespace: str, instance: str) -> list[Summary]:
    """Summaries of the namespace's Rebalances of EMQX ``instance``, newest first."""
    found = [summarize_rebalance(o) for o in cache.list(namespace) if target_of(o) == ("EMQX", instance)]
    return sorted(found, key=lambda s: (s.created is not None, s.created), reverse=True)


def rebalance_context(request: Any, cluster: Any, obj: Resource) -> dict[str, Any]:
    """The EMQX detail page's Rebalance context (templates/console/emqx/detail.html): ``rebalances``
    (this instance's, newest first), ``rebalance_add_query`` (the add form's first values: the
    namespace, the instance, a name) when the user may create a Rebalance there and the instance
    can be rebalanced (:func:`can_be_rebalanced`) now (:func:`is_ready_for_rebalance`); else, where
    only readiness is missing, ``rebalance_blocked`` (why, for the page). {} when the cluster serves no Rebalance
    (operator 3.0), the user may not view Rebalances there, or the cache cannot be had."""
    from urllib.parse import urlencode

    from console import impersonation
    from console.kinds.apikeys import RELATED_WAIT_S

    namespace, name = obj.metadata.namespace or "", obj.metadata.name or ""
    admin = site.for_kind(RebalanceAdmin.kind)
    if not admin.has_view_permission(request.user, cluster.name, namespace):
        return {}
    try:
        cache = cluster.cache(RebalanceAdmin.kind, wait=RELATED_WAIT_S)
        if impersonation.enabled() and not impersonation.may_read(
            cluster.clientset, request.user, cluster.kind_client(RebalanceAdmin.kind), namespace
        ):
            return {}
    except EmqxClientError:
        return {}
    context: dict[str, Any] = {"rebalances": rebalances_of(cache, namespace, name)}
    if not can_be_rebalanced(obj) or not admin.has_add_permission(request.user, cluster.name, namespace):
        return context
    if not is_ready_for_rebalance(obj):
        context["rebalance_blocked"] = _(
            "A Rebalance can start once this instance is Ready: the operator fails one of an instance that is not."
        )
    else:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        context["rebalance_add_query"] = urlencode(
            {
                "namespace": namespace,
                "metadata.name": f"{name}-rebalance-{stamp}"[:253],
                "spec.instanceKind": "EMQX",
                "spec.instanceName": name,
            }
        )
    return context
