"""Small tools the console benchmark is made of: timing, statistics, API request counts, WSGI calls."""

from __future__ import annotations

import gc
import io
import json
import math
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from sandbox import Sandbox

_LABEL = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class ApiRequests:
    """apiserver_request_total by (resource, verb), as the API server counted them: only requests
    about resources, not /metrics, /readyz and other non-resource paths."""

    counts: dict[tuple[str, str], int]

    @property
    def emqxes(self) -> int:
        """Requests about EMQX objects (any verb, any subresource)."""
        return sum(n for (resource, _), n in self.counts.items() if resource == "emqxes")

    @property
    def resources(self) -> int:
        return sum(self.counts.values())

    def emqx_verbs(self) -> str:
        """The requests about EMQX objects by verb, e.g. 'WATCH 2' ('' for none)."""
        return ", ".join(f"{v} {n}" for (r, v), n in sorted(self.counts.items()) if n and r == "emqxes")

    def others(self) -> str:
        """The requests about other resources, e.g. 'leases PUT 2'."""
        return ", ".join(f"{r} {v} {n}" for (r, v), n in sorted(self.counts.items()) if n and r != "emqxes")

    def __sub__(self, other: ApiRequests) -> ApiRequests:
        keys = set(self.counts) | set(other.counts)
        return ApiRequests({k: self.counts.get(k, 0) - other.counts.get(k, 0) for k in keys})


def api_requests(sandbox: Sandbox) -> ApiRequests:
    """Counted on the API server's side, from /metrics. Long requests (watches) count when they end."""
    counts: dict[tuple[str, str], int] = {}
    for line in sandbox.metrics().splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels_text, value = line.rsplit(" ", 1)
        labels = dict(_LABEL.findall(labels_text))
        if labels.get("resource"):
            key = (labels["resource"], labels.get("verb", ""))
            counts[key] = counts.get(key, 0) + int(float(value))
    return ApiRequests(counts)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 100 samples is the 99th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values), len(values))

    def ms(self, digits: int = 1) -> str:
        return f"{self.median * 1e3:.{digits}f} ms ({self.low * 1e3:.{digits}f}-{self.high * 1e3:.{digits}f})"


def repeat(function: Callable[[], object], repeats: int, warmup: int = 2) -> list[float]:
    """Seconds of each of ``repeats`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        function()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


class GcPauses:
    """The garbage collector's pauses in this process while the block runs, by generation."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((int(info["generation"]), time.perf_counter() - self._started))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def full(self) -> list[float]:
        """Seconds of each full (generation 2) collection."""
        return [seconds for generation, seconds in self.pauses if generation == 2]


class Response(NamedTuple):
    status: int
    body: bytes
    seconds: float
    """Wall time of the whole request."""
    cpu: float
    """CPU time of the calling thread during it: the work, without waiting for the GIL or a core."""


class WsgiCaller:
    """Calls a WSGI application in-process as a server would (Django's WSGIHandler: every
    middleware, the session and user lookups, request_started/finished and their database
    connection handling), with a logged-in session cookie, and times each whole request."""

    def __init__(self, application: Any, cookie: str) -> None:
        self.application = application
        self.cookie = cookie

    def get(self, path: str, query: str = "", *, htmx: bool = False) -> Response:
        environ = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_COOKIE": self.cookie,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if htmx:
            environ["HTTP_HX_REQUEST"] = "true"
        status: list[str] = []

        def start_response(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(status_line)
            return lambda data: None

        started, cpu_started = time.perf_counter(), time.thread_time()
        result = self.application(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()  # request_finished: what a WSGI server does after the last byte
        seconds, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
        return Response(int(status[0].split(" ", 1)[0]), body, seconds, cpu)


def child_result(argv: Sequence[str], *, cwd: str | Path, env: Mapping[str, str], timeout: float) -> Any:
    """Run ``python -m <argv>`` in a fresh process (a measurement that must not share this one's
    memory or caches) and return the JSON of the last line it prints. Raises RuntimeError with the
    end of its stderr when it fails; subprocess.TimeoutExpired after ``timeout`` seconds."""
    out = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
