"""Records Kubernetes Events the way the operator's ``record.EventRecorder`` does.

client-go's recorder names an Event ``<object name>.<hex nanoseconds>``, fills the legacy
fields (``source``, ``count``, ``firstTimestamp``, ``lastTimestamp``) and, through its
EventCorrelator, turns a repetition of the same (object, type, reason, message) into a
PATCH of ``count`` and ``lastTimestamp`` on the existing Event instead of a new one. This
recorder does the same, in memory, for one simulator.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from emqx.errors import EmqxClientError, NotFound
from emqx.events import Event, EventsClient, reference_to
from emqx.rest import Transport
from sandbox.operator.common import now_rfc3339

__all__ = ["COMPONENT", "EventRecorder"]

log = logging.getLogger(__name__)

COMPONENT = "emqx-operator"
"""``source.component`` and ``reportingComponent`` of every Event the simulator writes."""

_INSTANCE = "emqx-operator-simulator"


class EventRecorder:
    """``event(obj, "Normal", "CreateNewStatefulSet", "Create new statefulSet")``.

    Never raises: an Event that cannot be written (API server away) is logged and dropped,
    as client-go's recorder drops Events it cannot deliver."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._lock = threading.Lock()
        # (namespace, uid, type, reason, message) -> (event name, count)
        self._seen: dict[tuple[str, str, str, str, str], tuple[str, int]] = {}

    def event(self, obj: Mapping[str, Any], type_: str, reason: str, message: str) -> Event | None:
        """Record one occurrence; returns the Event as stored (or None if it was dropped)."""
        ref = reference_to(obj)
        namespace = ref.namespace or "default"
        key = (namespace, ref.uid or ref.name or "", type_, reason, message)
        client = EventsClient(self._transport, namespace)
        now = now_rfc3339()
        with self._lock:
            seen = self._seen.get(key)
        try:
            if seen is not None:
                name, count = seen
                try:
                    stored = client.patch(name, {"count": count + 1, "lastTimestamp": now})
                except NotFound:  # expired (--event-ttl) or deleted: start a new one
                    stored = None
                if stored is not None:
                    with self._lock:
                        self._seen[key] = (name, count + 1)
                    return stored
            name = f"{ref.name}.{time.time_ns():x}"
            stored = client.create(
                {
                    "metadata": {"name": name, "namespace": namespace},
                    "involvedObject": ref.to_dict(),
                    "reason": reason,
                    "message": message,
                    "type": type_,
                    "source": {"component": COMPONENT},
                    "count": 1,
                    "firstTimestamp": now,
                    "lastTimestamp": now,
                    "reportingComponent": COMPONENT,
                    "reportingInstance": _INSTANCE,
                }
            )
            with self._lock:
                self._seen[key] = (name, 1)
            return stored
        except EmqxClientError as error:
            log.warning("could not record event %s %s on %s/%s: %s", type_, reason, namespace, ref.name, error)
            return None

    def forget(self, uid: str) -> None:
        """Drop what is remembered about a deleted object's Events."""
        with self._lock:
            for key in [k for k in self._seen if k[1] == uid]:
                del self._seen[key]
