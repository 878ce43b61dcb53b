"""Typed watches that survive server timeouts and ``410 Gone``.

A :class:`Watch` is an iterator of :class:`WatchEvent`. It

* starts from ``resource_version`` when given (resuming where a LIST or an earlier watch
  left off), otherwise it LISTs first and reports every current object as ``ADDED``;
* reconnects from the last resourceVersion it saw when the server ends a watch request
  (every few minutes, as client-go's reflector does), until its own ``timeout_seconds``;
* on ``410 Gone`` (the resourceVersion was compacted away) LISTs again and emits what changed
  against what it knows (``ADDED`` / ``MODIFIED`` / ``DELETED``, marked ``synthetic``), then
  keeps watching from the LIST's resourceVersion. Pass ``known=`` (the objects you already
  have, e.g. the items of the LIST whose resourceVersion you resume from) so that the diff is
  exact; objects it never heard of come back as ``ADDED``. Of each known object the watch keeps
  only its uid and resourceVersion (what the diff compares), so a ``DELETED`` it derives carries
  an object with nothing but its identity (namespace, name, uid, resourceVersion);
* passes ``BOOKMARK`` events on (``allow_watch_bookmarks``) and records their resourceVersion.

``stop()`` (from any thread) ends the iteration; so does leaving a ``with`` block.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeVar

from emqx.errors import Gone, ResponseDecodeError, Status, api_error_from_status
from emqx.models._base import ObjectMeta, Resource

if TYPE_CHECKING:
    from emqx.client.resource import InvalidHandler, ResourceClient
    from emqx.rest import StreamResponse

__all__ = ["EventType", "Watch", "WatchEvent"]

T = TypeVar("T", bound=Resource)

# client-go's reflector asks for server timeouts between 5 and 10 minutes, so that all
# watches of a fleet do not reconnect at the same moment.
_MIN_REQUEST_TIMEOUT_S = 300
_MAX_REQUEST_TIMEOUT_S = 600


class EventType(StrEnum):
    """The type of a watch event."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"


@dataclass(frozen=True, slots=True)
class WatchEvent(Generic[T]):
    """One change. For ``BOOKMARK`` the object carries only ``metadata.resourceVersion``.
    ``synthetic`` is True for events the client derived from a LIST (initial state, or the
    diff after a ``410 Gone``) rather than received from the watch itself."""

    type: EventType
    object: T
    synthetic: bool = False


class _Skipped(Enum):
    """_event's answer for an object handed to on_invalid (an enum member, so `is` narrows it away)."""

    SKIPPED = "skipped"


_SKIPPED: Final = _Skipped.SKIPPED


def _key(obj: Resource) -> tuple[str, str]:
    return (obj.metadata.namespace or "", obj.metadata.name or "")


def _identity(obj: Resource) -> tuple[str | None, str | None]:
    """What a relist's diff compares of a known object: its uid and resourceVersion."""
    return (obj.metadata.uid, obj.metadata.resource_version)


class Watch(Generic[T]):
    """An iterator of typed watch events; see the module docstring."""

    def __init__(
        self,
        client: ResourceClient[T],
        *,
        resource_version: str | None,
        label_selector: str | None,
        field_selector: str | None,
        allow_watch_bookmarks: bool,
        timeout_seconds: float | None,
        known: Iterable[T] | None,
        relist_page_size: int,
        request_timeout_seconds: int | None = None,
        on_invalid: InvalidHandler | None = None,
    ) -> None:
        self._client = client
        self._resource_version = resource_version or None
        self._label_selector = label_selector
        self._field_selector = field_selector
        self._bookmarks = allow_watch_bookmarks
        self._timeout = timeout_seconds
        self._known: dict[tuple[str, str], tuple[str | None, str | None]] = {_key(o): _identity(o) for o in known or ()}
        self._page_size = relist_page_size
        self._request_timeout = request_timeout_seconds
        self._on_invalid = on_invalid
        self._stopped = threading.Event()
        self._stream: StreamResponse | None = None
        self._lock = threading.Lock()
        self.relists = 0
        """How many times the watch had to LIST again after ``410 Gone``."""

    @property
    def resource_version(self) -> str | None:
        """The last resourceVersion seen (event, bookmark or LIST): resume from it later."""
        return self._resource_version

    def stop(self) -> None:
        """End the iteration; safe to call from another thread while it blocks on a read."""
        self._stopped.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    def __enter__(self) -> Watch[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __iter__(self) -> Iterator[WatchEvent[T]]:
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        if self._resource_version is None:
            yield from self._relist()
        while not self._stopped.is_set():
            request_timeout = self._request_timeout or random.randint(_MIN_REQUEST_TIMEOUT_S, _MAX_REQUEST_TIMEOUT_S)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                request_timeout = min(request_timeout, max(1, math.ceil(remaining)))
            try:
                stream = self._client._open_watch(
                    resource_version=self._resource_version,
                    label_selector=self._label_selector,
                    field_selector=self._field_selector,
                    allow_watch_bookmarks=self._bookmarks,
                    timeout_seconds=request_timeout,
                )
            except Gone:
                yield from self._relist()
                continue
            with self._lock:
                self._stream = stream
            if self._stopped.is_set():  # stop() ran before the stream was registered
                stream.close()
                return
            gone = False
            try:
                for raw in stream.lines():
                    event = self._event(raw)
                    if event is None:
                        gone = True
                        break
                    if event is _SKIPPED:
                        continue
                    yield event
                    if self._stopped.is_set():
                        return
            finally:
                with self._lock:
                    self._stream = None
                stream.close()
            if gone:
                yield from self._relist()
            # Otherwise the server ended this request (its timeoutSeconds): go on from
            # the last resourceVersion, until our own deadline.

    def _event(self, raw: Mapping[str, Any]) -> WatchEvent[T] | Literal[_Skipped.SKIPPED] | None:
        """Decode one line; None means ``410 Gone`` (relist). Other errors are raised."""
        kind = raw.get("type")
        obj = raw.get("object")
        if not isinstance(obj, Mapping):
            obj = {}
        if kind == "ERROR":
            error = api_error_from_status(Status.from_dict(obj))
            if isinstance(error, Gone):
                return None
            raise error
        if kind == "BOOKMARK":
            bookmark = self._client._decode_bookmark(obj)
            self._resource_version = bookmark.metadata.resource_version or self._resource_version
            return WatchEvent(EventType.BOOKMARK, bookmark)
        try:
            event_type = EventType(str(kind))  # ADDED / MODIFIED / DELETED
        except ValueError:
            raise ResponseDecodeError(f"unknown watch event type {kind!r}") from None
        try:
            item = self._client._decode_object(obj)
        except ResponseDecodeError as error:
            if self._on_invalid is None:
                raise
            # Skip it, but move on past it and forget any valid version we knew of it.
            meta = obj.get("metadata")
            if not isinstance(meta, Mapping):
                meta = {}
            self._resource_version = str(meta.get("resourceVersion") or "") or self._resource_version
            self._known.pop((str(meta.get("namespace") or ""), str(meta.get("name") or "")), None)
            self._on_invalid(obj, error)
            return _SKIPPED
        self._client._noted(item, obj, self._on_invalid)
        self._resource_version = item.metadata.resource_version or self._resource_version
        if event_type is EventType.DELETED:
            self._known.pop(_key(item), None)
        else:
            self._known[_key(item)] = _identity(item)
        return WatchEvent(event_type, item)

    def _gone(self, key: tuple[str, str], identity: tuple[str | None, str | None]) -> T:
        """The object a derived DELETED carries: its identity only, the rest unset (not validated)."""
        meta = ObjectMeta(namespace=key[0] or None, name=key[1], uid=identity[0], resourceVersion=identity[1])
        return self._client.resource.model_construct(metadata=meta)

    def _relist(self) -> Iterator[WatchEvent[T]]:
        """LIST everything the watch covers and emit the difference to what is known."""
        if self._known or self._resource_version is not None:
            self.relists += 1
        items, resource_version = self._client._list_everything(
            label_selector=self._label_selector,
            field_selector=self._field_selector,
            page_size=self._page_size,
            on_invalid=self._on_invalid,
        )
        previous = self._known
        current: dict[tuple[str, str], tuple[str | None, str | None]] = {}
        events: list[WatchEvent[T]] = []
        for item in items:
            key = _key(item)
            current[key] = _identity(item)
            before = previous.get(key)
            if before is None:
                events.append(WatchEvent(EventType.ADDED, item, synthetic=True))
            elif before[0] and item.metadata.uid and before[0] != item.metadata.uid:
                # deleted and created again under the same name while we were not watching
                events.append(WatchEvent(EventType.DELETED, self._gone(key, before), synthetic=True))
                events.append(WatchEvent(EventType.ADDED, item, synthetic=True))
            elif before[1] != item.metadata.resource_version:
                events.append(WatchEvent(EventType.MODIFIED, item, synthetic=True))
        for key, before in previous.items():
            if key not in current:
                events.append(WatchEvent(EventType.DELETED, self._gone(key, before), synthetic=True))
        self._known = current
        self._resource_version = resource_version
        for event in events:
            if self._stopped.is_set():
                return
            yield event
