"""Recent Warning Events about apps.emqx.io objects, per cluster, for the dashboards.

Events are core/v1 (``/api/v1/events``), so :class:`emqx.cache.Informer` cannot hold them:
it takes a typed apps.emqx.io ``ResourceClient`` (list_all + watch under ``/apis/...``), and
:class:`emqx.events.EventsClient` has neither. Instead one background thread per cluster
LISTs the Warning Events every ``CONSOLE_EVENTS_POLL_SECONDS`` (a bounded LIST: at most
``MAX_PAGES`` pages of ``PAGE_SIZE``, with the console's short timeouts) and keeps the latest
answer. Pages read that answer and never call the API server, so a dead cluster slows no
page: its Events simply stop being fresh, and the dashboard says so.

Nobody looking, nobody polling: after ``IDLE_AFTER_S`` without a read the thread sleeps
until the next read wakes it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from django.conf import settings

from emqx.errors import EmqxClientError
from emqx.events import Event, EventsClient

if TYPE_CHECKING:
    from console.clusters import Cluster

log = logging.getLogger(__name__)

GROUP_PREFIX = "apps.emqx.io/"
PAGE_SIZE = 500
MAX_PAGES = 4
KEEP = 200
IDLE_AFTER_S = 300.0


@dataclass(frozen=True)
class EventsSnapshot:
    """What the poller knows: the newest Warning Events first, and how fresh they are."""

    events: list[Event] = field(default_factory=list)
    fetched_at: float | None = None
    """time.time() of the last successful LIST (None: none yet)."""
    error: str = ""
    """Why the last LIST failed ('' when it worked)."""


def _when(event: Event) -> datetime:
    seen = event.last_seen
    if seen is None:
        return datetime.min.replace(tzinfo=UTC)
    return seen if seen.tzinfo else seen.replace(tzinfo=UTC)


class WarningEvents:
    """One cluster's poller. ``start()`` once; ``snapshot()`` from any thread."""

    def __init__(self, cluster: Cluster, *, interval: float | None = None) -> None:
        self._cluster = cluster
        self.interval = interval if interval is not None else float(settings.CONSOLE_EVENTS_POLL_SECONDS)
        self._lock = threading.Lock()
        self._snapshot = EventsSnapshot()
        self._last_read = time.monotonic()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> WarningEvents:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"events-{self._cluster.name}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def snapshot(self) -> EventsSnapshot:
        """The latest answer (never waits). A read after a long idle wakes the poller."""
        with self._lock:
            idle = time.monotonic() - self._last_read > IDLE_AFTER_S
            self._last_read = time.monotonic()
            snapshot = self._snapshot
        if idle:
            self._wake.set()
        return snapshot

    def _run(self) -> None:
        while not self._stop.is_set():
            self._poll()
            self._wake.clear()
            self._wake.wait(self.interval)
            with self._lock:
                idle = time.monotonic() - self._last_read > IDLE_AFTER_S
            if idle:  # nobody has looked for a while: sleep until someone does
                self._wake.clear()
                self._wake.wait()

    def _poll(self) -> None:
        try:
            events = self._list()
        except EmqxClientError as error:
            log.info("events of cluster %s: %s", self._cluster.name, error)
            with self._lock:
                self._snapshot = EventsSnapshot(self._snapshot.events, self._snapshot.fetched_at, str(error))
            return
        except Exception as error:  # never let the thread die silently
            log.exception("events of cluster %s: unexpected failure", self._cluster.name)
            with self._lock:
                self._snapshot = EventsSnapshot(self._snapshot.events, self._snapshot.fetched_at, str(error))
            return
        with self._lock:
            self._snapshot = EventsSnapshot(events, time.time(), "")

    def _list(self) -> list[Event]:
        client = EventsClient(self._cluster.clientset.transport, None)
        found: list[Event] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            page = client.list(field_selector="type=Warning", limit=PAGE_SIZE, continue_=token)
            found += [e for e in page.items if (e.involved_object.api_version or "").startswith(GROUP_PREFIX)]
            token = page.metadata.continue_
            if not token or self._stop.is_set():
                break
        found.sort(key=_when, reverse=True)
        return found[:KEEP]
