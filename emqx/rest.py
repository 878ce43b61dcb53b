"""HTTP transport to the Kubernetes API: one urllib3 pool per clientset, JSON in and out.

The ``kubernetes`` package does the hard parts (kubeconfig, in-cluster config, exec/OIDC
auth plugins, client certificates, CA bundles, proxies): :class:`Transport` takes its
``kubernetes.client.Configuration``, lets ``kubernetes.client.rest.RESTClientObject`` build
the TLS-configured urllib3 pool from it, and then speaks HTTP on that pool itself, so that
bodies are decoded exactly once by us and every failure becomes a typed error from
:mod:`emqx.errors` (no ``ApiException``, no urllib3 exception escapes).
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, urlencode

import urllib3
from kubernetes.client import Configuration
from kubernetes.client.rest import RESTClientObject
from urllib3 import HTTPHeaderDict
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

from emqx.deadline import call_with_deadline
from emqx.errors import ClusterUnreachable, ConfigurationError, ResponseDecodeError, api_error_from_response

__all__ = ["JSON_CONTENT_TYPE", "QueryParams", "Timeouts", "Transport", "api_path", "decode_json", "gc_paused"]

log = logging.getLogger("emqx.rest")

JSON_CONTENT_TYPE = "application/json"
USER_AGENT = "emqx-console/0.1 (python; emqx client layer)"

QueryParams = Sequence[tuple[str, str]]

# Never sleep longer than this for one Retry-After, whatever the server asks.
_MAX_RETRY_AFTER_S = 10.0

RESPONSE_OBSERVERS: list[Callable[[str, str, int], None]] = []
"""Called as ``observer(server, verb, code)`` after every answer: ``verb`` is the HTTP method, or WATCH for a
stream; ``code`` the HTTP status, 0 when the server did not answer. The console counts them for /metrics
(console/metrics.py); an observer must be quick and must not raise."""


def _observe(server: str, verb: str, code: int) -> None:
    for observer in RESPONSE_OBSERVERS:
        try:
            observer(server, verb, code)
        except Exception:  # an observer's bug must not fail the request
            log.exception("response observer failed")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Client-side timeouts in seconds. ``read`` bounds the wait for each response of a
    plain request; a watch waits up to its server-side timeout plus ``watch_margin``."""

    connect: float = 5.0
    read: float = 30.0
    watch_margin: float = 30.0
    credentials: float = 10.0
    """How long a kubeconfig's credential plugin (``exec``) may take to give a token, when the
    kubeconfig is loaded and on each refresh (emqx.deadline)."""


def api_path(
    group: str,
    version: str,
    plural: str,
    *,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """``/apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}[/{subresource}]]``."""
    parts = ["", "apis", group, version]
    if namespace is not None:
        parts += ["namespaces", quote(namespace, safe="")]
    parts.append(plural)
    if name is not None:
        parts.append(quote(name, safe=""))
        if subresource is not None:
            parts.append(subresource)
    return "/".join(parts)


def _unreachable(server: str, error: BaseException) -> ClusterUnreachable:
    """Name the failure a person can act on; keep the low-level text as detail."""
    root: BaseException = error
    if isinstance(root, MaxRetryError) and root.reason is not None:
        root = root.reason
    if isinstance(root, ProxyError) and isinstance(root.original_error, BaseException):
        root = root.original_error
    text = str(root)
    # Order matters: urllib3's NewConnectionError and NameResolutionError subclass
    # ConnectTimeoutError for backwards compatibility.
    if isinstance(root, (NameResolutionError, socket.gaierror)):
        cause = "DNS lookup failed"
    elif isinstance(root, ConnectionRefusedError) or "Connection refused" in text:
        cause = "connection refused"
    elif isinstance(root, NewConnectionError) and "timed out" not in text:
        cause = "cannot connect"
    elif isinstance(root, ConnectTimeoutError):
        cause = "connection timed out"
    elif isinstance(root, ReadTimeoutError | TimeoutError | socket.timeout):
        cause = "no answer in time (read timeout)"
    elif isinstance(root, SSLError | ssl.SSLError):
        cause = "TLS handshake failed"
    elif isinstance(root, ProtocolError | ConnectionError):
        cause = "connection lost"
    else:
        cause = "connection error"
    return ClusterUnreachable(server, cause, text)


class Transport:
    """JSON over one pooled, TLS-configured HTTP connection set to one API server.

    Thread-safe (urllib3's PoolManager is); share one per clientset. ``close()`` drops the
    pooled connections.
    """

    def __init__(
        self, configuration: Configuration, *, timeouts: Timeouts | None = None, max_retries: int = 10
    ) -> None:
        self.configuration = configuration
        self.timeouts = timeouts or Timeouts()
        self.max_retries = max_retries
        """How often a request is resent when the server answers 429/5xx with Retry-After
        (client-go's default: 10)."""
        self.server = str(configuration.host).rstrip("/")
        self._impersonate: tuple[str, tuple[str, ...]] | None = None
        # RESTClientObject turns the Configuration (CA, client cert, verify, proxy,
        # tls-server-name) into a urllib3 PoolManager; we only borrow that pool.
        self._pool: urllib3.PoolManager = RESTClientObject(configuration).pool_manager
        # Retry failures that happen before the request reached the server (connect
        # errors: safe for every verb, and quick on a refused port), and once a GET whose
        # pooled keep-alive connection the server had just closed. Writes are never resent.
        self._retries = urllib3.Retry(
            total=3,
            connect=2,
            read=1,
            status=0,
            other=0,
            redirect=0,
            allowed_methods=frozenset({"GET"}),
            backoff_factor=0.1,
            raise_on_status=False,
        )

    # ----- headers ---------------------------------------------------------------------

    def impersonating(self, user: str, groups: Sequence[str] = ()) -> Transport:
        """The same server, credentials and connection pool, acting as ``user`` (and
        ``groups``) through Kubernetes impersonation: the API server checks the caller may
        ``impersonate`` and then applies RBAC as that user. An empty user is refused."""
        if not user or not isinstance(user, str):
            raise ConfigurationError("impersonation needs a user name")
        twin = copy.copy(self)
        twin._impersonate = (user, tuple(groups))
        return twin

    @property
    def impersonated(self) -> tuple[str, tuple[str, ...]] | None:
        """(user, groups) this transport acts as, or None for its own identity."""
        return self._impersonate

    def _headers(self, content_type: str | None) -> HTTPHeaderDict:
        headers = HTTPHeaderDict({"Accept": JSON_CONTENT_TYPE, "User-Agent": USER_AGENT})
        if content_type:
            headers["Content-Type"] = content_type
        # auth_settings() runs the kubeconfig's refresh hook (exec plugins, expiring
        # tokens, rotated service-account tokens) before giving the bearer token.
        try:
            if getattr(self.configuration, "refresh_api_key_hook", None) is not None:
                # The hook may run an exec plugin, which the kubernetes package waits for forever.
                refreshed = call_with_deadline(
                    f"refresh:{id(self.configuration)}",
                    self.configuration.auth_settings,
                    self.timeouts.credentials,
                    what=f"the credential plugin for {self.server}",
                )
            else:
                refreshed = self.configuration.auth_settings()
            settings = cast(Mapping[str, Mapping[str, Any]], refreshed)
        except Exception as error:  # an exec plugin or token file failing on refresh
            raise ConfigurationError(f"cannot refresh the credentials for {self.server}: {error}") from error
        for setting in settings.values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[str(setting["key"]).title()] = str(setting["value"])
        if self._impersonate is not None:
            user, groups = self._impersonate
            headers["Impersonate-User"] = user
            for group in groups:  # one header line per group, as the API expects
                headers.add("Impersonate-Group", group)
        return headers

    def _url(self, path: str, query: QueryParams | None) -> str:
        url = self.server + path
        if query:
            url += "?" + urlencode(list(query))
        return url

    # ----- requests --------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        query: QueryParams | None,
        payload: bytes | None,
        content_type: str | None,
        *,
        read_timeout: float | None,
        stream: bool,
    ) -> urllib3.BaseHTTPResponse:
        """One request, resent while the server answers 429 (or 5xx) with a Retry-After,
        as client-go does (it processed nothing and asked us to come back); a failure
        answer is raised as its typed error, no answer as ClusterUnreachable."""
        attempt = 0
        while True:
            try:
                response = self._pool.request(
                    method,
                    self._url(path, query),
                    body=payload,
                    headers=self._headers(content_type if payload is not None else None),
                    timeout=urllib3.Timeout(connect=self.timeouts.connect, read=read_timeout),
                    retries=self._retries,
                    preload_content=not stream,
                    redirect=False,
                )
            except (HTTPError, OSError) as error:
                _observe(self.server, "WATCH" if stream else method, 0)
                raise _unreachable(self.server, error) from None
            _observe(self.server, "WATCH" if stream else method, response.status)
            self._log_warnings(response)
            if 200 <= response.status < 300:
                return response
            try:
                data = response.data
            except (HTTPError, OSError):
                data = b""
            finally:
                response.release_conn()
            retry_after = response.headers.get("Retry-After")
            wait = _retry_after_seconds(retry_after)
            if wait is not None and (response.status == 429 or response.status >= 500) and attempt < self.max_retries:
                attempt += 1
                log.info(
                    "API server answered %s; retrying in %.1f s (%d/%d)",
                    response.status,
                    wait,
                    attempt,
                    self.max_retries,
                )
                time.sleep(min(wait, _MAX_RETRY_AFTER_S))
                continue
            raise api_error_from_response(response.status, data, retry_after=retry_after)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: QueryParams | None = None,
        body: Any = None,
        content_type: str = JSON_CONTENT_TYPE,
    ) -> bytes:
        """Send one request; return the raw 2xx body (decode it once, where the type is
        known). Non-2xx answers raise the typed :class:`~emqx.errors.ApiError`; no answer
        raises :class:`~emqx.errors.ClusterUnreachable`."""
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        response = self._send(method, path, query, payload, content_type, read_timeout=self.timeouts.read, stream=False)
        data: bytes = response.data
        return data

    def request_json(
        self,
        method: str,
        path: str,
        *,
        query: QueryParams | None = None,
        body: Any = None,
        content_type: str = JSON_CONTENT_TYPE,
    ) -> Any:
        """:meth:`request`, with the body decoded from JSON."""
        data = self.request(method, path, query=query, body=body, content_type=content_type)
        return decode_json(data)

    def stream(self, path: str, *, query: QueryParams | None = None, read_timeout: float | None) -> StreamResponse:
        """Open a GET whose body is read line by line (a watch). The caller must close it."""
        response = self._send("GET", path, query, None, None, read_timeout=read_timeout, stream=True)
        return StreamResponse(self.server, response)

    def close(self) -> None:
        """Drop every pooled connection."""
        self._pool.clear()

    @property
    def connections_opened(self) -> int:
        """How many connections the pool has opened so far (one while it reuses it)."""
        pools = self._pool.pools
        # RecentlyUsedContainer refuses plain iteration (not thread-safe); keys() copies.
        return sum(pools[key].num_connections for key in pools.keys())  # noqa: SIM118

    @staticmethod
    def _log_warnings(response: urllib3.BaseHTTPResponse) -> None:
        # The API server reports deprecated versions and dropped unknown fields in
        # Warning headers ("299 - message"); surface them in the log, as kubectl prints them.
        for value in response.headers.getlist("Warning") if hasattr(response.headers, "getlist") else ():
            log.warning("API server warning: %s", _warning_text(value))


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0)


def _warning_text(value: str) -> str:
    # RFC 7234 warn-value: 299 - "text"
    parts = value.split(" ", 2)
    if len(parts) == 3 and parts[0] == "299":
        return parts[2].strip().strip('"')
    return value


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large body is decoded into models.

    Decoding a 1,000-object LIST allocates millions of containers, and each allocation
    threshold crossed starts a collection that walks every live object of the process:
    measured here, 700 ms with the collector against 210 ms without, for 6 MB. Nothing
    decoded forms a cycle, so nothing is lost; one collection runs afterwards instead of
    dozens during. Re-entrant and thread-safe (the collector is process-wide): it is
    re-enabled when the last pauser leaves, and only if it was enabled before."""
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def decode_json(data: bytes) -> Any:
    """Decode a 2xx body; a body that is not JSON is a :class:`ResponseDecodeError`."""
    try:
        return json.loads(data)
    except ValueError as error:
        snippet = data[:200].decode("utf-8", "replace")
        raise ResponseDecodeError(f"the API server sent a body that is not JSON: {snippet!r}") from error


class StreamResponse:
    """A streaming response read as newline-delimited JSON; iterate for decoded lines.
    Connection failures while reading become :class:`ClusterUnreachable`."""

    def __init__(self, server: str, response: urllib3.BaseHTTPResponse) -> None:
        self._server = server
        self._response = response
        self._closed = False
        self._close_lock = threading.Lock()

    def lines(self) -> Iterable[Mapping[str, Any]]:
        """Yield each JSON line of the body as it arrives; ends when the server closes."""
        buffer = b""
        try:
            for chunk in self._response.stream(decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield decode_json(line)
            if buffer.strip():
                yield decode_json(buffer)
        except (HTTPError, OSError) as error:
            if self._closed:
                return  # closed on purpose from another thread: a clean end
            raise _unreachable(self._server, error) from None

    def close(self) -> None:
        """Stop reading (safe from another thread: it unblocks a pending read)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        response = self._response
        # shutdown() unblocks a read in progress in another thread; it refuses (RuntimeError,
        # ValueError) once the connection went back to the pool or has no socket any more.
        with contextlib.suppress(HTTPError, OSError, RuntimeError, ValueError):
            shutdown = getattr(response, "shutdown", None)
            if shutdown is not None:
                shutdown()
        with contextlib.suppress(HTTPError, OSError):
            response.close()
        response.release_conn()
