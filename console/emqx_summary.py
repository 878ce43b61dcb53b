"""What a person looks for in an EMQX object, computed from the typed model.

The operator sets conditions only to True and keeps them newest first, so the first
condition is the instance's current state (what `kubectl get emqx` shows as Status).
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass, field

from emqx.models.apps_v2beta1 import EMQX, EMQXCondition, EMQXSpec, Node, NodesStatus

PROGRESSING_TYPES = {
    "Initialized",
    "CoreNodesProgressing",
    "CoreNodesReady",
    "ReplicantNodesProgressing",
    "ReplicantNodesReady",
}


@dataclass(frozen=True)
class Counts:
    ready: int
    desired: int

    def __str__(self) -> str:
        return f"{self.ready}/{self.desired}"

    @property
    def complete(self) -> bool:
        return self.ready >= self.desired


@dataclass(frozen=True)
class ConditionRow:
    type: str
    status: str
    reason: str
    message: str
    last_transition_time: dt.datetime | None


@dataclass(frozen=True)
class EmqxSummary:
    name: str
    namespace: str
    uid: str
    resource_version: str
    generation: int
    created: dt.datetime | None
    labels: dict[str, str]
    image: str
    version: str
    state: str
    """'Ready', 'Available', 'Progressing' or 'Pending' (no status written yet)."""
    current_condition: str
    core: Counts
    replicant: Counts | None
    conditions: list[ConditionRow] = field(default_factory=list)
    core_nodes: list[Node] = field(default_factory=list)
    replicant_nodes: list[Node] = field(default_factory=list)
    observed: bool = True
    """The operator has seen the latest spec: the current condition was set for this generation.
    (Older conditions keep the generation they were set at: the operator never rewrites them.)"""

    @property
    def settled(self) -> bool:
        """Nothing will change without a new edit: Ready for the current generation.
        Live polling stops here and starts again after an edit."""
        return self.state == "Ready" and self.observed

    @property
    def state_class(self) -> str:
        return {"Ready": "ok", "Available": "warn", "Progressing": "busy", "Pending": "muted"}.get(self.state, "muted")


def version_of(image: str) -> str:
    """The tag of an image reference (``emqx/emqx:5.8.6`` -> ``5.8.6``), or '' for none/latest."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def _counts(status: NodesStatus | None, desired: int) -> Counts:
    return Counts(ready=(status.ready_replicas or 0) if status else 0, desired=desired)


# Summaries of objects read from the API, by id(), for as long as each object lives: the list
# page summarizes every cached object on each request (to filter and sort), which at 1,000
# instances was most of its time. The watch cache replaces an object on each change and never
# mutates one. Objects without a resourceVersion (built locally, maybe edited) are not kept.
_memo: dict[int, tuple[weakref.ref[EMQX], str | None, EmqxSummary]] = {}


def _forget(key: int, ref: weakref.ref[EMQX]) -> None:
    entry = _memo.get(key)
    if entry is not None and entry[0] is ref:
        _memo.pop(key, None)


def summarize(obj: EMQX) -> EmqxSummary:
    """The summary of ``obj``, computed once per object (shared: callers must not mutate it)."""
    key, version = id(obj), obj.metadata.resource_version
    if not version:
        return _summarize(obj)
    entry = _memo.get(key)
    if entry is not None and entry[0]() is obj and entry[1] == version:
        return entry[2]
    summary = _summarize(obj)
    _memo[key] = (weakref.ref(obj, lambda ref: _forget(key, ref)), version, summary)
    return summary


def _summarize(obj: EMQX) -> EmqxSummary:
    # The CRD does not require a spec: an EMQX without one is accepted by the API server, and
    # reads as the schema's defaults with no image.
    meta, spec, status = obj.metadata, obj.spec or EMQXSpec(image=""), obj.status
    conditions: list[EMQXCondition] = (status.conditions or []) if status else []
    current = next((c for c in conditions if c.status == "True"), None)
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
    replicant = None
    if spec.replicant_template is not None:
        rspec = spec.replicant_template.spec
        desired = rspec.replicas if rspec and rspec.replicas is not None else 2
        replicant = _counts(status.replicant_nodes_status if status else None, desired)
    generation = meta.generation or 0
    observed = current is None or current.observed_generation in (None, generation)
    return EmqxSummary(
        name=meta.name or "",
        namespace=meta.namespace or "",
        uid=meta.uid or "",
        resource_version=meta.resource_version or "",
        generation=generation,
        created=meta.creation_timestamp,
        labels=dict(meta.labels or {}),
        image=spec.image,
        version=version_of(spec.image),
        state=state,
        current_condition=current.type if current else "",
        core=_counts(status.core_nodes_status if status else None, core_desired),
        replicant=replicant,
        conditions=[
            ConditionRow(c.type, c.status, c.reason, c.message, c.last_transition_time) for c in conditions
        ],
        core_nodes=list(status.core_nodes or []) if status else [],
        replicant_nodes=list(status.replicant_nodes or []) if status else [],
        observed=observed,
    )
