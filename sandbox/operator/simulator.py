"""The simulator: watches the EMQX custom resources and writes their status as the operator.

Threads (``start()``): one watch per kind (LIST, then WATCH from its resourceVersion; again
from a fresh LIST after ``410 Gone``, a dropped connection or an API server that went away),
and one worker that reconciles the objects that are due, one at a time. A watch event
makes an object due at once when its spec (generation) or annotations changed, or when it
is new; status-only changes, such as the simulator's own writes, do not. After a reconcile
the object is due again after the pace while something is still moving, after the resync
period once it is settled.

Synchronously, for tests: :meth:`Simulator.reconcile_object` runs one reconcile of one
object (the world moves exactly one step), :meth:`Simulator.reconcile_once` one of each.
Use one mode or the other on a simulator, not both at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emqx.client.clientset import Clientset
from emqx.errors import ApiError, ClusterUnreachable, EmqxClientError, Gone, InvalidArgument, NotFound, Status
from emqx.rest import StreamResponse
from emqx.retry import retry_on_conflict
from sandbox.operator.apikey import ApiKeyController
from sandbox.operator.base import Controller, Outcome, StatusChange
from sandbox.operator.brokers import BrokerController, BrokerV1beta1Controller
from sandbox.operator.common import STATUS_MODELS, pace_of
from sandbox.operator.emqx_v2 import EmqxV2Controller
from sandbox.operator.emqx_v2beta1 import EmqxController
from sandbox.operator.emqx_v3beta1 import EmqxV3beta1Controller
from sandbox.operator.rebalance import RebalanceController
from sandbox.operator.recorder import COMPONENT, EventRecorder

__all__ = ["Key", "Simulator"]

log = logging.getLogger("sandbox.operator")

_BACKOFF_START_S = 0.2
_BACKOFF_MAX_S = 2.0
_WATCH_REQUEST_S = 60


@dataclass(frozen=True, slots=True)
class Key:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


class _Queue:
    """Objects and when each is due; the earliest due one is handed out first."""

    def __init__(self) -> None:
        self._due: dict[Key, float] = {}
        self._cond = threading.Condition()

    def schedule(self, key: Key, at: float, *, earlier_only: bool = True) -> None:
        with self._cond:
            current = self._due.get(key)
            if current is None or not earlier_only or at < current:
                self._due[key] = at
                self._cond.notify()

    def discard(self, key: Key) -> None:
        with self._cond:
            self._due.pop(key, None)

    def pop_due(self, stop: threading.Event, max_wait: float = 0.5) -> Key | None:
        with self._cond:
            while not stop.is_set():
                now = time.monotonic()
                if self._due:
                    key, at = min(self._due.items(), key=lambda item: item[1])
                    if at <= now:
                        del self._due[key]
                        return key
                    wait = min(at - now, max_wait)
                else:
                    wait = max_wait
                self._cond.wait(wait)
            return None

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


class Simulator:
    """Plays the emqx-operator's part for a cluster without one: see the module docstring.

    ``pace`` is the time in seconds one simulated pod takes to start (or to stop, or to be
    drained); ``namespace`` limits it to one namespace (None: all). ``resync`` is how long
    a settled object waits before it is looked at again (the operator's 30 s).
    ``emqx_v2_model`` is the status model of operator 2.3 played for EMQX ``v2`` objects, ``A``
    (the state machine) or ``B`` (independent conditions); the annotation
    ``sim.emqx.io/status-model`` overrides it per object (OPERATOR-STATUS.md, "EMQX v2 status")."""

    def __init__(
        self,
        clientset: Clientset,
        *,
        pace: float = 2.0,
        namespace: str | None = None,
        resync: float = 30.0,
        emqx_v2_model: str = "A",
    ) -> None:
        if pace <= 0:
            raise ValueError(f"pace must be positive, got {pace!r}")
        if emqx_v2_model not in STATUS_MODELS:
            raise ValueError(f"emqx_v2_model is one of {', '.join(STATUS_MODELS)}, got {emqx_v2_model!r}")
        self.emqx_v2_model = emqx_v2_model
        self.clientset = clientset
        self.pace = pace
        self.namespace = namespace
        self.resync = resync
        self.recorder = EventRecorder(clientset.transport)
        self.before_status_write: Callable[[Key], None] | None = None
        """Test hook: runs right before each status PUT (e.g. to provoke a Conflict)."""
        self.status_writes = 0
        self.conflicts = 0
        self._controllers: dict[str, Controller] | None = None
        self._lock = threading.RLock()  # one reconcile at a time
        self._queue = _Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()
        self._streams: set[StreamResponse] = set()
        self._streams_lock = threading.Lock()
        self._seen: dict[Key, tuple[Any, ...]] = {}
        self._uids: dict[Key, str] = {}
        self._last_advance: dict[Key, float] = {}

    def __repr__(self) -> str:
        scope = self.namespace or "all namespaces"
        return f"<Simulator {self.clientset.server} in {scope}, pace {self.pace}s>"

    # ----- which kinds, in which versions -------------------------------------------------

    def controllers(self) -> dict[str, Controller]:
        """The simulated controllers for what the cluster serves (asked once, then cached):
        EMQX in the newest version served of v3beta1 (operator 3.0), v2 (2.3, in the status
        model ``emqx_v2_model``) and v2beta1 (2.2); EMQXAPIKey v3beta1; Rebalance v2beta1 when
        served; EmqxBroker/EmqxEnterprise in v1beta4, or in v1beta1 on a 2021 cluster."""
        if self._controllers is None:
            discovery = self.clientset.discovery
            discovery.refresh()
            found: dict[str, Controller] = {}
            emqx = discovery.kind("EMQX")
            if emqx.serves("v3beta1"):
                found["EMQX"] = EmqxV3beta1Controller()
            elif emqx.serves("v2"):
                found["EMQX"] = EmqxV2Controller(self.emqx_v2_model)
            elif emqx.serves("v2beta1"):
                found["EMQX"] = EmqxController()
            if discovery.kind("EMQXAPIKey").serves("v3beta1"):
                found["EMQXAPIKey"] = ApiKeyController()
            if discovery.kind("Rebalance").serves("v2beta1"):
                found["Rebalance"] = RebalanceController()
            for kind in ("EmqxBroker", "EmqxEnterprise"):
                version = discovery.best_version(kind, ("v1beta4", "v1beta1"))
                if version == "v1beta4":
                    found[kind] = BrokerController(kind)
                elif version == "v1beta1":
                    found[kind] = BrokerV1beta1Controller(kind)
            self._controllers = found
            log.info("simulating %s", ", ".join(f"{k} {c.version}" for k, c in found.items()) or "nothing")
        return self._controllers

    # ----- synchronous API (tests) ---------------------------------------------------------

    def reconcile_object(self, kind: str, namespace: str, name: str) -> bool:
        """One reconcile of one object, its world moving one step. True if its status was
        written. Errors from the API are raised (a test wants to see them)."""
        controller = self.controllers().get(kind)
        if controller is None:
            raise InvalidArgument(f"the cluster serves no version of {kind} that the simulator handles")
        before = self.status_writes
        with self._lock:
            raw = self.get_raw(controller, namespace, name)
            controller.reconcile(self, raw, advance=True)
        return self.status_writes > before

    def reconcile_once(self) -> list[Key]:
        """One reconcile of every object in scope; returns those whose status was written."""
        written: list[Key] = []
        for kind, controller in self.controllers().items():
            items = self.clientset.transport.request_json("GET", controller.path(self.namespace)).get("items") or []
            for raw in items:
                meta = raw.get("metadata") or {}
                key = Key(kind, str(meta.get("namespace")), str(meta.get("name")))
                try:
                    if self.reconcile_object(kind, key.namespace, key.name):
                        written.append(key)
                except NotFound:
                    continue
        return written

    # ----- background mode -----------------------------------------------------------------

    def start(self) -> Simulator:
        """Start the watches and the worker (daemon threads). Returns self."""
        with self._threads_lock:
            if self._threads:
                raise RuntimeError("the simulator is already running")
            self._stop.clear()
            worker = threading.Thread(target=self._work, name="sim-worker", daemon=True)
            boot = threading.Thread(target=self._boot, name="sim-watches", daemon=True)
            self._threads = [worker, boot]
            worker.start()
            boot.start()
        log.info("%r started", self)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every thread (closing open watch connections) and wait for them."""
        self._stop.set()
        self._queue.wake()
        with self._streams_lock:
            streams = list(self._streams)
        for stream in streams:
            stream.close()
        with self._threads_lock:  # no watch starts after this
            threads, self._threads = self._threads, []
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in threads if t.is_alive()]
        if alive:
            log.warning("simulator threads still running after %.0f s: %s", timeout, ", ".join(alive))

    @property
    def running(self) -> bool:
        """Whether its threads run (after start(), until stop())."""
        with self._threads_lock:
            return any(t.is_alive() for t in self._threads)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _boot(self) -> None:
        """Discover the served kinds (waiting for the API server if need be), then watch each."""
        backoff = _BACKOFF_START_S
        while not self._stop.is_set():
            try:
                controllers = self.controllers()
                break
            except EmqxClientError as error:
                log.warning("discovery failed, retrying in %.1f s: %s", backoff, error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)
        else:
            return
        with self._threads_lock:
            if self._stop.is_set():
                return
            for kind, controller in controllers.items():
                thread = threading.Thread(
                    target=self._watch, args=(kind, controller), name=f"sim-watch-{kind}", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def _watch(self, kind: str, controller: Controller) -> None:
        """LIST + WATCH one kind forever, on raw JSON, so that an object that fits no model
        is logged and skipped instead of ending the watch."""
        transport = self.clientset.transport
        path = controller.path(self.namespace)
        backoff = _BACKOFF_START_S
        while not self._stop.is_set():
            try:
                listed = transport.request_json("GET", path)
                resource_version = (listed.get("metadata") or {}).get("resourceVersion")
                present = set()
                for raw in listed.get("items") or []:
                    present.add(self._observe(kind, "ADDED", raw))
                for key in [k for k in self._seen if k.kind == kind and k not in present]:
                    self._observe_deleted(key)
                backoff = _BACKOFF_START_S
                while not self._stop.is_set():
                    resource_version = self._watch_once(kind, path, resource_version)
            except Gone:
                log.info("%s watch: resourceVersion too old, listing again", kind)
            except (ClusterUnreachable, ApiError) as error:
                if self._stop.is_set():
                    return
                log.warning("%s watch interrupted (%s); again in %.1f s", kind, error, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)
            except Exception:  # never let one bad answer end the watch
                if self._stop.is_set():
                    return
                log.exception("%s watch failed; listing again in %.1f s", kind, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)

    def _watch_once(self, kind: str, path: str, resource_version: str | None) -> str | None:
        """One watch request; returns the resourceVersion to go on from. Raises Gone."""
        query = [("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", str(_WATCH_REQUEST_S))]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        stream = self.clientset.transport.stream(path, query=query, read_timeout=_WATCH_REQUEST_S + 30)
        with self._streams_lock:
            self._streams.add(stream)
        try:
            if self._stop.is_set():
                return resource_version
            for line in stream.lines():
                event_type = line.get("type")
                raw = line.get("object") or {}
                if event_type == "ERROR":
                    if raw.get("code") == 410:
                        raise Gone(_status_of(raw))
                    raise ApiError(_status_of(raw))
                resource_version = (raw.get("metadata") or {}).get("resourceVersion") or resource_version
                if event_type == "BOOKMARK":
                    continue
                if event_type == "DELETED":
                    meta = raw.get("metadata") or {}
                    self._observe_deleted(Key(kind, str(meta.get("namespace")), str(meta.get("name"))))
                else:
                    self._observe(kind, str(event_type), raw)
                if self._stop.is_set():
                    break
        finally:
            with self._streams_lock:
                self._streams.discard(stream)
            stream.close()
        return resource_version

    def _observe(self, kind: str, event_type: str, raw: dict[str, Any]) -> Key:
        meta = raw.get("metadata") or {}
        key = Key(kind, str(meta.get("namespace")), str(meta.get("name")))
        # What makes the operator act: a new object, a spec change (generation), an
        # annotation (faults, pace), a deletion starting. Not status-only changes.
        fingerprint = (
            meta.get("uid"),
            meta.get("generation"),
            tuple(sorted((meta.get("annotations") or {}).items())),
            meta.get("deletionTimestamp"),
        )
        if self._seen.get(key) != fingerprint:
            if key in self._uids and self._uids[key] != meta.get("uid"):
                self._forget(key)  # deleted and created again under the same name
            self._seen[key] = fingerprint
            self._uids[key] = str(meta.get("uid"))
            self._queue.schedule(key, time.monotonic())
        return key

    def _observe_deleted(self, key: Key) -> None:
        self._seen.pop(key, None)
        self._queue.discard(key)
        self._forget(key)

    def _forget(self, key: Key) -> None:
        uid = self._uids.pop(key, None)
        self._last_advance.pop(key, None)
        controller = (self._controllers or {}).get(key.kind)
        if uid and controller is not None:
            with self._lock:
                controller.forget(uid)
            self.recorder.forget(uid)

    def _work(self) -> None:
        backoff = _BACKOFF_START_S
        while not self._stop.is_set():
            key = self._queue.pop_due(self._stop)
            if key is None:
                return
            try:
                delay = self._reconcile_due(key)
                backoff = _BACKOFF_START_S
            except NotFound:
                continue  # deleted meanwhile: the watch reports it
            except ClusterUnreachable as error:
                log.warning("reconcile %s: %s; again in %.1f s", key, error, backoff)
                delay, backoff = backoff, min(backoff * 2, _BACKOFF_MAX_S)
            except Exception:  # a bug or an object it does not understand: log, skip, go on
                log.exception("reconcile %s failed", key)
                delay = max(self.pace, 1.0)
            if delay is not None and not self._stop.is_set():
                self._queue.schedule(key, time.monotonic() + delay)

    def _reconcile_due(self, key: Key) -> float | None:
        controller = (self._controllers or {}).get(key.kind)
        if controller is None:
            return None
        with self._lock:
            raw = self.get_raw(controller, key.namespace, key.name)
            pace = _object_pace(raw, self.pace)
            now = time.monotonic()
            # The world moves at most one step per pace, however often events come in.
            advance = now - self._last_advance.get(key, float("-inf")) >= pace * 0.95
            if advance:
                self._last_advance[key] = now
            outcome: Outcome = controller.reconcile(self, raw, advance=advance)
        if outcome.settled and advance:
            return self.resync
        return pace

    # ----- reading and writing ---------------------------------------------------------------

    def get_raw(self, controller: Controller, namespace: str, name: str) -> dict[str, Any]:
        """The object as the API server has it (decoded JSON). Raises NotFound."""
        data = self.clientset.transport.request_json("GET", controller.path(namespace, name))
        if not isinstance(data, dict):
            raise InvalidArgument(f"the API server sent a {type(data).__name__} for {controller.kind} {name}")
        return data

    def get_optional(self, controller_or_path: Controller | str, namespace: str, name: str) -> dict[str, Any] | None:
        """Another object the reconcile depends on (a Rebalance's EMQX), or None if absent."""
        try:
            if isinstance(controller_or_path, Controller):
                return self.get_raw(controller_or_path, namespace, name)
            data = self.clientset.transport.request_json("GET", f"{controller_or_path}/{name}")
            return data if isinstance(data, dict) else None
        except NotFound:
            return None

    def write_status(
        self,
        controller: Controller,
        raw: dict[str, Any],
        compute: Callable[[dict[str, Any]], StatusChange | None],
    ) -> StatusChange | None:
        """Compute the status from the object and PUT it to ``/status`` if it changed. On a
        Conflict, read the object again and compute again (``retry_on_conflict``). The
        change's Events are recorded once the write succeeded. Returns the change written."""
        meta = raw.get("metadata") or {}
        namespace, name = str(meta.get("namespace")), str(meta.get("name"))
        key = Key(controller.kind, namespace, name)
        state: dict[str, Any] = {"current": raw, "attempt": 0}

        def attempt() -> StatusChange | None:
            if state["attempt"] > 0:
                self.conflicts += 1
                state["current"] = self.get_raw(controller, namespace, name)
            state["attempt"] += 1
            current = state["current"]
            change = compute(current)
            if change is None or change.status == (current.get("status") or {}):
                return None
            if self.before_status_write is not None:
                self.before_status_write(key)
            body = {key_: value for key_, value in current.items() if key_ != "status"}
            body["status"] = change.status
            controller.put_status(self, namespace, name, body, COMPONENT)
            return change

        change = retry_on_conflict(attempt)
        if change is not None:
            self.status_writes += 1
            for event in change.events:
                self.recorder.event(state["current"], *event)
        return change


def _object_pace(raw: dict[str, Any], default: float) -> float:
    return pace_of(raw.get("metadata") or {}, default)


def _status_of(raw: dict[str, Any]) -> Status:
    return Status.from_dict(raw)
