"""The kinds besides EMQX the console shows, one KindAdmin each (Django admin's registry,
in small): EmqxBroker, EmqxEnterprise and Rebalance, in whichever version the cluster serves.

Each admin turns a typed object of any supported version into an :class:`ObjectSummary`:
what the list and the detail page show, whatever the version's status looks like.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from console.emqx_summary import ConditionRow, Counts, version_of
from emqx.models import apps_v1beta1, apps_v1beta4, apps_v2beta1
from emqx.models._base import Resource

Broker2021 = apps_v1beta1.EmqxBroker | apps_v1beta1.EmqxEnterprise
Broker = Broker2021 | apps_v1beta4.EmqxBroker | apps_v1beta4.EmqxEnterprise
"""The 4.x brokers in the versions the console reads: v1beta4, or the 2021 v1beta1."""
AnyRebalance = apps_v1beta4.Rebalance | apps_v2beta1.Rebalance

STATE_CLASSES = {
    "Ready": "ok",
    "Completed": "ok",
    "Progressing": "busy",
    "Processing": "busy",
    "Failed": "bad",
    "Not ready": "warn",
    "Pending": "muted",
}


@dataclass(frozen=True)
class ObjectSummary:
    name: str
    namespace: str
    uid: str
    created: dt.datetime | None
    labels: dict[str, str]
    api_version: str
    version: str
    """What runs (the EMQX version) or what it acts on, for the Version column."""
    state: str
    current_condition: str
    ready: Counts | None
    conditions: list[ConditionRow] = field(default_factory=list)
    nodes: list[Any] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)

    @property
    def state_class(self) -> str:
        return STATE_CLASSES.get(self.state, "muted")

    @property
    def settled(self) -> bool:
        return self.state in ("Ready", "Completed", "Failed")


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _rows(conditions: list[Any] | None) -> list[ConditionRow]:
    return [
        ConditionRow(c.type, c.status, c.reason or "", c.message or "", _when(c.last_transition_time))
        for c in conditions or []
    ]


def _base(obj: Resource) -> dict[str, Any]:
    meta = obj.metadata
    return {
        "name": meta.name or "",
        "namespace": meta.namespace or "",
        "uid": meta.uid or "",
        "created": meta.creation_timestamp,
        "labels": dict(meta.labels or {}),
        "api_version": obj.api_version,
    }


def _broker_image(obj: Broker) -> str:
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


def summarize_broker(obj: Broker) -> ObjectSummary:
    """EmqxBroker / EmqxEnterprise, v1beta4 (Running condition) or the 2021 v1beta1 (Healthy)."""
    status = obj.status
    conditions = _rows(status.conditions if status else None)
    # Both generations keep the newest condition first.
    current = conditions[0] if conditions else None
    if current is None:
        state = "Pending"
    elif current.type in ("Running", "Healthy") and current.status == "True":
        state = "Ready"
    elif current.type in ("Failed",) or current.status == "False":
        state = "Not ready"
    else:
        state = "Progressing"
    ready = None
    replicas = getattr(obj.spec, "replicas", None)
    if not isinstance(obj, Broker2021):
        ready = Counts(ready=(obj.status.ready_replicas or 0) if obj.status else 0, desired=replicas or 0)
    image = _broker_image(obj)
    return ObjectSummary(
        **_base(obj),
        version=version_of(image) or image,
        state=state,
        current_condition=current.type if current else "",
        ready=ready,
        conditions=conditions,
        nodes=list(getattr(status, "emqx_nodes", None) or []) if status else [],
        details=[("Image", image or "—"), ("Replicas", str(replicas if replicas is not None else "—"))],
    )


def summarize_rebalance(obj: AnyRebalance) -> ObjectSummary:
    status, spec = obj.status, obj.spec
    phase = (status.phase if status else None) or ""
    state = {"Processing": "Processing", "Completed": "Completed", "Failed": "Failed"}.get(phase, "Pending")
    # v2beta1 names the kind it acts on; a (deprecated) v1beta4 Rebalance has no instanceKind: it acts on an
    # EmqxEnterprise (load rebalancing is an EMQX Enterprise 4.4 feature). A cluster that serves only v1beta4
    # (an older operator) is read in v1beta4.
    target_kind = spec.instance_kind if isinstance(spec, apps_v2beta1.RebalanceSpec) else "EmqxEnterprise"
    instance = f"{target_kind} {spec.instance_name}" if spec is not None else "—"
    strategy = spec.rebalance_strategy if spec is not None else None
    return ObjectSummary(
        **_base(obj),
        version=instance,
        state=state,
        current_condition=phase,
        ready=None,
        conditions=_rows(status.conditions if status else None),
        details=[
            ("Instance", instance),
            ("Connection evict rate", str(strategy.conn_evict_rate) if strategy is not None else "—"),
            ("Started", str(status.started_time or "—") if status else "—"),
            ("Completed", str(status.completed_time or "—") if status else "—"),
        ],
    )


@dataclass(frozen=True)
class KindAdmin:
    kind: str
    slug: str
    verbose_name: str
    verbose_name_plural: str
    summarize: Callable[[Any], ObjectSummary]
    version_label: str = "Version"
    create_hint: str = ""
    timeline: bool = False
    """The console records its condition changes (console.timeline.TRACKED_KINDS)."""


KINDS: dict[str, KindAdmin] = {
    a.slug: a
    for a in (
        KindAdmin(
            "EmqxBroker",
            "emqxbrokers",
            "EMQX broker",
            "EMQX brokers (v4)",
            summarize_broker,
            create_hint="kind EmqxBroker, apiVersion apps.emqx.io/v1beta4",
            timeline=True,
        ),
        KindAdmin(
            "EmqxEnterprise",
            "emqxenterprises",
            "EMQX Enterprise",
            "EMQX Enterprise (v4)",
            summarize_broker,
            create_hint="kind EmqxEnterprise, apiVersion apps.emqx.io/v1beta4",
            timeline=True,
        ),
        KindAdmin(
            "Rebalance",
            "rebalances",
            "rebalance",
            "Rebalances",
            summarize_rebalance,
            version_label="Target",
            create_hint="kind Rebalance, apiVersion apps.emqx.io/v2beta1",
        ),
    )
}


class KindConverter:
    """URL converter that only matches registered kinds' slugs."""

    regex = "|".join(KINDS)

    def to_python(self, value: str) -> KindAdmin:
        return KINDS[value]

    def to_url(self, value: KindAdmin | str) -> str:
        return value if isinstance(value, str) else value.slug
