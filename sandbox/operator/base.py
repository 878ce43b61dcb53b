"""What every simulated controller shares: the controller interface, the outcome of a
reconcile, status changes with the Events they cause, and condition-list helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from emqx.client.resource import ResourceClient
from emqx.discovery import GROUP
from emqx.models._base import Resource
from emqx.rest import api_path
from sandbox.operator.common import now_rfc3339

if TYPE_CHECKING:
    from sandbox.operator.simulator import Simulator

__all__ = ["Controller", "EventSpec", "Outcome", "StatusChange", "move_to_front"]

EventSpec = tuple[str, str, str]  # (type, reason, message)


@dataclass
class StatusChange:
    """The status to write, and the Events to record once it is written."""

    status: dict[str, Any]
    events: list[EventSpec] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    """``settled``: nothing will change until the object does (requeue after the resync
    period, not after the pace)."""

    settled: bool


class Controller:
    """One simulated controller: a kind in one served version."""

    kind: ClassVar[str]
    model: ClassVar[type[Resource]]

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def plural(self) -> str:
        return self.model.plural

    def path(self, namespace: str | None, name: str | None = None) -> str:
        return api_path(GROUP, self.version, self.plural, namespace=namespace, name=name)

    def client(self, sim: Simulator, namespace: str) -> ResourceClient[Any]:
        return sim.clientset.resource(self.model, namespace)

    def put_status(self, sim: Simulator, namespace: str, name: str, body: dict[str, Any], field_manager: str) -> None:
        """PUT ``body`` to the object's ``/status`` (through the typed client, which checks it
        against the model; a controller whose objects the model cannot always read overrides it)."""
        self.client(sim, namespace).update_status(body, field_manager=field_manager)

    def reconcile(self, sim: Simulator, raw: dict[str, Any], *, advance: bool) -> Outcome:
        """One reconcile of one object (decoded JSON, as the API server sent it)."""
        raise NotImplementedError

    def forget(self, uid: str) -> None:
        """The object is gone: drop what is simulated for it."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {GROUP}/{self.version} {self.kind}>"


def move_to_front(
    conditions: list[dict[str, Any]],
    condition: Mapping[str, Any],
    *,
    keep_transition_time_if_same_status: bool = True,
    update_time_key: str | None = "lastUpdateTime",
) -> list[dict[str, Any]]:
    """The condition list with ``condition`` set and placed first (the newest first), as the
    operator's ``SetCondition``/``AddCondition`` sort them. ``lastTransitionTime`` is now,
    unless the condition exists with the same status (and ``keep_...`` is set)."""
    now = now_rfc3339()
    existing = next((c for c in conditions if c.get("type") == condition["type"]), None)
    new = dict(condition)
    if update_time_key:
        new[update_time_key] = now
    if keep_transition_time_if_same_status and existing is not None and existing.get("status") == new["status"]:
        new["lastTransitionTime"] = existing.get("lastTransitionTime") or now
    else:
        new["lastTransitionTime"] = now
    rest = [c for c in conditions if c.get("type") != condition["type"]]
    return [new, *rest]


def first_condition(
    conditions: list[dict[str, Any]], predicate: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    return next((c for c in conditions if predicate(c)), None)
