"""Kubernetes Events (core/v1) about the EMQX custom resources: read them, and write them.

The emqx-operator records Events on the objects it manages (``CreateNewStatefulSet``,
``InvalidConfig`` ...); ``kubectl describe`` shows them under the object. The console lists
them on an object's page; the status simulator (``sandbox.operator``) writes them, as the
operator's ``record.EventRecorder`` does.

    events = EventsClient(cs.transport, "emqx-prod")
    for event in events.list(involved_object=emqx).items:
        print(event.type, event.reason, event.message, event.count)

Events live in the core API group (``/api/v1``), not in apps.emqx.io, so this is a small
hand-written client on the clientset's :class:`~emqx.rest.Transport` (same connection pool,
same typed errors from :mod:`emqx.errors`), with a hand-written model of the fields the
console needs; other fields of an Event survive a round trip (extra keys are kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, ValidationError

from emqx.client.names import validate_name, validate_namespace
from emqx.errors import InvalidArgument, ResponseDecodeError
from emqx.models._base import KubeModel, ListMeta, ObjectMeta, Resource
from emqx.rest import Transport

__all__ = [
    "Event",
    "EventList",
    "EventSeries",
    "EventSource",
    "EventsClient",
    "ObjectReference",
    "involved_object_selector",
    "reference_to",
]

EventType = Literal["Normal", "Warning"]


class ObjectReference(KubeModel):
    """core/v1 ObjectReference: which object an Event is about."""

    api_version: str | None = Field(default=None, alias="apiVersion")
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = Field(default=None, alias="resourceVersion")
    field_path: str | None = Field(default=None, alias="fieldPath")


class EventSource(KubeModel):
    """core/v1 EventSource: the component (and host) that reported the Event."""

    component: str | None = None
    host: str | None = None


class EventSeries(KubeModel):
    """core/v1 EventSeries (events.k8s.io-style repetition data, when the reporter uses it)."""

    count: int | None = None
    last_observed_time: datetime | None = Field(default=None, alias="lastObservedTime")


class Event(KubeModel):
    """core/v1 Event. ``count``/``first_timestamp``/``last_timestamp`` describe repetitions
    as the legacy recorder (client-go's ``tools/record``, what controllers use) writes them;
    ``reporting_controller`` is the JSON key ``reportingComponent``."""

    api_version: str = Field(default="v1", alias="apiVersion")
    kind: str = "Event"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    involved_object: ObjectReference = Field(default_factory=ObjectReference, alias="involvedObject")
    reason: str | None = None
    message: str | None = None
    type: str | None = None
    source: EventSource | None = None
    count: int | None = None
    first_timestamp: datetime | None = Field(default=None, alias="firstTimestamp")
    last_timestamp: datetime | None = Field(default=None, alias="lastTimestamp")
    event_time: datetime | None = Field(default=None, alias="eventTime")
    series: EventSeries | None = None
    action: str | None = None
    related: ObjectReference | None = None
    reporting_controller: str | None = Field(default=None, alias="reportingComponent")
    reporting_instance: str | None = Field(default=None, alias="reportingInstance")

    @property
    def last_seen(self) -> datetime | None:
        """When it last happened: lastTimestamp, else the series' or eventTime."""
        if self.last_timestamp is not None:
            return self.last_timestamp
        if self.series is not None and self.series.last_observed_time is not None:
            return self.series.last_observed_time
        return self.event_time or self.first_timestamp


class EventList(KubeModel):
    """core/v1 EventList."""

    api_version: str = Field(default="v1", alias="apiVersion")
    kind: str = "EventList"
    metadata: ListMeta = Field(default_factory=ListMeta)
    items: list[Event] = Field(default_factory=list)


def reference_to(obj: Resource | Mapping[str, Any]) -> ObjectReference:
    """The ObjectReference of a custom resource (a model or a decoded JSON object)."""
    if isinstance(obj, Resource):
        meta = obj.metadata
        return ObjectReference(
            apiVersion=obj.api_version,
            kind=obj.kind,
            name=meta.name,
            namespace=meta.namespace,
            uid=meta.uid,
            resourceVersion=meta.resource_version,
        )
    if isinstance(obj, Mapping):
        raw_meta = obj.get("metadata") or {}
        return ObjectReference(
            apiVersion=obj.get("apiVersion"),
            kind=obj.get("kind"),
            name=raw_meta.get("name"),
            namespace=raw_meta.get("namespace"),
            uid=raw_meta.get("uid"),
            resourceVersion=raw_meta.get("resourceVersion"),
        )
    raise InvalidArgument(f"an involved object is a Resource model or a mapping, got {type(obj).__name__}")


def involved_object_selector(obj: Resource | Mapping[str, Any] | ObjectReference) -> str:
    """The field selector of the Events about ``obj`` (kind, name, namespace and, when
    known, uid: an object deleted and created again under the same name has other Events)."""
    ref = obj if isinstance(obj, ObjectReference) else reference_to(obj)
    if not ref.kind or not ref.name:
        raise InvalidArgument("the involved object needs a kind and a name")
    parts = [f"involvedObject.kind={ref.kind}", f"involvedObject.name={ref.name}"]
    if ref.namespace:
        parts.append(f"involvedObject.namespace={ref.namespace}")
    if ref.uid:
        parts.append(f"involvedObject.uid={ref.uid}")
    return ",".join(parts)


class EventsClient:
    """Events in one namespace (or, with ``namespace=None``, in all: list only)."""

    def __init__(self, transport: Transport, namespace: str | None) -> None:
        self._transport = transport
        self.namespace = None if namespace is None else validate_namespace(namespace)

    def __repr__(self) -> str:
        where = "all namespaces" if self.namespace is None else f"namespace {self.namespace!r}"
        return f"<EventsClient in {where}>"

    def _path(self, namespace: str | None, name: str | None = None) -> str:
        path = "/api/v1" if namespace is None else f"/api/v1/namespaces/{quote(namespace, safe='')}"
        path += "/events"
        if name is not None:
            path += "/" + quote(validate_name(name, kind="Event"), safe="")
        return path

    def _own_namespace(self, verb: str) -> str:
        if self.namespace is None:
            raise InvalidArgument(f"{verb} needs a namespace: this Events client covers all namespaces")
        return self.namespace

    @staticmethod
    def _decode(data: bytes) -> Event:
        try:
            return Event.model_validate_json(data)
        except ValidationError as error:
            raise ResponseDecodeError(f"the server's Event does not fit the model: {error}") from None

    def create(self, event: Event | Mapping[str, Any]) -> Event:
        """Create an Event (POST). Its ``metadata.namespace`` must be the client's (and, as
        the API server requires, the involved object's) namespace."""
        namespace = self._own_namespace("create")
        item = event if isinstance(event, Event) else Event.model_validate(dict(event))
        if item.metadata.namespace not in (None, "", namespace):
            raise InvalidArgument(
                f"create: the Event's namespace {item.metadata.namespace!r} is not the client's {namespace!r}"
            )
        if item.metadata.name is None and not item.metadata.generate_name:
            raise InvalidArgument("create: an Event needs metadata.name or metadata.generateName")
        body = item.to_dict()
        body["apiVersion"], body["kind"] = "v1", "Event"
        body.setdefault("metadata", {})["namespace"] = namespace
        return self._decode(self._transport.request("POST", self._path(namespace), body=body))

    def get(self, name: str) -> Event:
        """Read one Event by name. Raises NotFound (Events expire after the API server's
        ``--event-ttl``, one hour by default)."""
        return self._decode(self._transport.request("GET", self._path(self._own_namespace("get"), name)))

    def patch(self, name: str, patch: Mapping[str, Any]) -> Event:
        """Merge-patch an Event, as the recorder does to count a repetition
        (``{"count": 3, "lastTimestamp": ...}``)."""
        data = self._transport.request(
            "PATCH",
            self._path(self._own_namespace("patch"), name),
            body=dict(patch),
            content_type="application/merge-patch+json",
        )
        return self._decode(data)

    def list(
        self,
        *,
        involved_object: Resource | Mapping[str, Any] | ObjectReference | None = None,
        field_selector: str | None = None,
        label_selector: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
    ) -> EventList:
        """List Events; ``involved_object=`` narrows them to one object's (combined with any
        ``field_selector``, e.g. ``"type=Warning"`` or ``"reason=InvalidConfig"``). The
        server does not sort Events: sort by :attr:`Event.last_seen` to show a timeline."""
        selectors = [s for s in (field_selector,) if s]
        if involved_object is not None:
            selectors.append(involved_object_selector(involved_object))
        query: list[tuple[str, str]] = []
        if selectors:
            query.append(("fieldSelector", ",".join(selectors)))
        if label_selector:
            query.append(("labelSelector", label_selector))
        if limit is not None:
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
                raise InvalidArgument(f"limit must be a positive integer, got {limit!r}")
            query.append(("limit", str(limit)))
        if continue_:
            query.append(("continue", continue_))
        data = self._transport.request("GET", self._path(self.namespace), query=query)
        try:
            return EventList.model_validate_json(data)
        except ValidationError as error:
            raise ResponseDecodeError(f"the server's EventList does not fit the model: {error}") from None
