"""Typed errors of the emqx client layer.

Everything the client raises derives from :class:`EmqxClientError`:

* :class:`ApiError` and its subclasses: the API server answered with a failure ``Status``
  (the same reasons as ``k8s.io/apimachinery/pkg/api/errors``: ``IsNotFound``,
  ``IsConflict``, ``IsInvalid`` ...). Each carries the decoded :class:`Status`.
* :class:`ClusterUnreachable`: no HTTP answer at all (refused, DNS, TLS, timeout, reset).
  Raw ``urllib3``/``socket`` exceptions never escape the client; they are wrapped here.
* :class:`InvalidArgument` and its subclasses: bad input caught before any request
  (invalid names, objects of the wrong kind, unsupported patch types, unknown kinds).
* :class:`ConfigurationError`: no usable kubeconfig / in-cluster configuration.
* :class:`ResponseDecodeError`: the server's answer is not the JSON or the object we expect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AlreadyExists",
    "ApiError",
    "BadRequest",
    "ClusterUnreachable",
    "ConfigurationError",
    "Conflict",
    "EmqxClientError",
    "Forbidden",
    "Gone",
    "InternalError",
    "Invalid",
    "InvalidArgument",
    "InvalidName",
    "MethodNotAllowed",
    "NotFound",
    "ResponseDecodeError",
    "RetryableError",
    "ServerTimeout",
    "ServiceUnavailable",
    "Status",
    "StatusCause",
    "StatusDetails",
    "TooManyRequests",
    "Unauthorized",
    "UnknownKind",
    "UnsupportedPatchType",
    "WrongKind",
    "api_error_from_response",
    "api_error_from_status",
]


# --------------------------------------------------------------------------------------
# The API's Status (meta/v1), decoded defensively: an error body may be anything.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusCause:
    """One cause of a failure: ``field`` is the JSON path the server blames
    (``spec.coreTemplate.spec.replicas``), ``reason`` a machine code (``FieldValueInvalid``)."""

    reason: str = ""
    message: str = ""
    field: str = ""


# The structural-schema validator of CRDs (kube-openapi) reports some causes without a field
# ("<nil>") and names it at the end of the message instead: "... with format int32 in spec.replicas".
_FIELD_IN_MESSAGE = re.compile(r" in ((?:metadata|spec|status)(?:\.[\w\-/\[\]]+)*)$")


def cause_field(field: str, message: str) -> str:
    """The JSON path a cause blames, as ``spec.replicas``: the API server writes some with a
    leading dot (``.spec.replicas``, the CRD schema's validator) and some as ``<nil>`` with the
    path at the end of the message; '' when it names none."""
    if field in ("", "<nil>"):
        found = _FIELD_IN_MESSAGE.search(message)
        return found.group(1) if found else ""
    return field.removeprefix(".")


@dataclass(frozen=True, slots=True)
class StatusDetails:
    """``Status.details``: which object failed, the causes, and how long to wait."""

    name: str = ""
    group: str = ""
    kind: str = ""
    uid: str = ""
    causes: tuple[StatusCause, ...] = ()
    retry_after_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class Status:
    """A ``meta/v1 Status`` as the API server sends it on failure."""

    code: int
    reason: str = ""
    message: str = ""
    status: str = "Failure"
    details: StatusDetails = field(default_factory=StatusDetails)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, code: int | None = None) -> Status:
        """Decode a Status mapping; ``code`` (the HTTP status) fills in a missing ``code``."""
        raw_details = data.get("details")
        details = StatusDetails()
        if isinstance(raw_details, Mapping):
            causes = tuple(
                StatusCause(
                    reason=str(c.get("reason") or ""),
                    message=str(c.get("message") or ""),
                    field=cause_field(str(c.get("field") or ""), str(c.get("message") or "")),
                )
                for c in raw_details.get("causes") or ()
                if isinstance(c, Mapping)
            )
            retry = raw_details.get("retryAfterSeconds")
            details = StatusDetails(
                name=str(raw_details.get("name") or ""),
                group=str(raw_details.get("group") or ""),
                kind=str(raw_details.get("kind") or ""),
                uid=str(raw_details.get("uid") or ""),
                causes=causes,
                retry_after_seconds=retry if isinstance(retry, int) and retry > 0 else None,
            )
        raw_code = data.get("code")
        return cls(
            code=raw_code if isinstance(raw_code, int) and raw_code else (code or 0),
            reason=str(data.get("reason") or ""),
            message=str(data.get("message") or ""),
            status=str(data.get("status") or "Failure"),
            details=details,
        )


# --------------------------------------------------------------------------------------
# Base classes
# --------------------------------------------------------------------------------------


class EmqxClientError(Exception):
    """Base of every error the emqx client layer raises."""


class ConfigurationError(EmqxClientError):
    """No usable cluster configuration (kubeconfig missing or invalid, unknown context,
    not running in a cluster)."""


class ResponseDecodeError(EmqxClientError):
    """The server answered 2xx but the body is not the JSON object we expected."""


class ClusterUnreachable(EmqxClientError):
    """The API server could not be reached or did not answer: connection refused, DNS
    failure, TLS failure, timeout, connection reset. ``cause`` is a short category
    (``"connection refused"``, ``"dns"``, ``"tls"``, ``"timeout"``, ``"connection error"``)."""

    def __init__(self, server: str, cause: str, detail: str = "") -> None:
        self.server = server
        self.cause = cause
        self.detail = detail
        text = f"cannot reach the Kubernetes API server at {server}: {cause}"
        if detail:
            text += f" ({detail})"
        super().__init__(text)


class ApiError(EmqxClientError):
    """The API server answered with a failure Status. ``status`` is the decoded Status;
    ``code``, ``reason``, ``message`` and ``details`` are shortcuts into it."""

    def __init__(self, status: Status, *, retry_after: float | None = None) -> None:
        self.status = status
        self._retry_after = retry_after
        super().__init__(self._text())

    def _text(self) -> str:
        reason = f" {self.status.reason}" if self.status.reason else ""
        return f"{self.status.code}{reason}: {self.status.message or 'no message from the server'}"

    @property
    def code(self) -> int:
        """The HTTP status code (``Status.code``)."""
        return self.status.code

    @property
    def reason(self) -> str:
        """The machine-readable reason (``NotFound``, ``Conflict``, ``Invalid`` ...)."""
        return self.status.reason

    @property
    def message(self) -> str:
        """The server's human-readable message."""
        return self.status.message

    @property
    def details(self) -> StatusDetails:
        """Which object failed and why (``Status.details``)."""
        return self.status.details


class RetryableError(ApiError):
    """A failure worth retrying later: the server is overloaded or timed out.
    ``retry_after`` is the delay in seconds the server asked for (``Retry-After`` header or
    ``details.retryAfterSeconds``), or None when it gave none."""

    @property
    def retry_after(self) -> float | None:
        if self._retry_after is not None:
            return self._retry_after
        seconds = self.status.details.retry_after_seconds
        return float(seconds) if seconds is not None else None


class BadRequest(ApiError):
    """400: the request itself is malformed (bad selector, bad patch, strict decoding)."""


class Unauthorized(ApiError):
    """401: the credentials were refused (bad or expired token, unknown certificate)."""


class Forbidden(ApiError):
    """403: authenticated, but RBAC does not allow this verb on this resource."""


class NotFound(ApiError):
    """404: the object (or the resource type) does not exist."""


class MethodNotAllowed(ApiError):
    """405: the resource does not support this verb."""


class Conflict(ApiError):
    """409 Conflict: a stale ``resourceVersion`` on update, a failed delete precondition,
    or an apply conflict with another field manager. Retry with :func:`emqx.retry.retry_on_conflict`."""


class AlreadyExists(ApiError):
    """409 AlreadyExists: an object with this name already exists."""


class Gone(ApiError):
    """410: the requested ``resourceVersion`` is too old (compacted); watch relists on it."""


class Invalid(ApiError):
    """422: the object fails validation. ``causes`` lists each field path and message;
    :attr:`field_errors` groups them by path so a form can put each on its field."""

    @property
    def causes(self) -> tuple[StatusCause, ...]:
        return self.status.details.causes

    @property
    def field_errors(self) -> dict[str, list[str]]:
        """Field path (as the server names it, e.g. ``spec.coreTemplate.spec.replicas``) ->
        messages for that field. Causes without a field are under ``""``."""
        result: dict[str, list[str]] = {}
        for cause in self.causes:
            result.setdefault(cause.field, []).append(cause.message or cause.reason)
        return result


class TooManyRequests(RetryableError):
    """429: API priority and fairness (or a webhook) throttled the request."""


class ServerTimeout(RetryableError):
    """The server could not finish in time (reason ``ServerTimeout``/``Timeout``, 504)."""


class ServiceUnavailable(RetryableError):
    """503: the API server (or an aggregated API) is not available right now."""


class InternalError(ApiError):
    """500: the server failed (webhook errors, etcd trouble)."""


# --------------------------------------------------------------------------------------
# Client-side input errors: raised before any request is sent.
# --------------------------------------------------------------------------------------


class InvalidArgument(EmqxClientError, ValueError):
    """An argument is not acceptable; nothing was sent to the server."""


class InvalidName(InvalidArgument):
    """A name or namespace does not follow RFC 1123 (as the API server would reject it)."""


class WrongKind(InvalidArgument, TypeError):
    """An object of another kind or version (or not an object at all) was given to a client."""


class UnknownKind(InvalidArgument, LookupError):
    """A kind (or kind/version) the client layer knows nothing about."""


class UnsupportedPatchType(InvalidArgument):
    """A patch type the resource does not support (strategic merge on custom resources)."""


# --------------------------------------------------------------------------------------
# Mapping a failure response to the right class
# --------------------------------------------------------------------------------------

_BY_REASON: dict[str, type[ApiError]] = {
    "BadRequest": BadRequest,
    "Unauthorized": Unauthorized,
    "Forbidden": Forbidden,
    "NotFound": NotFound,
    "MethodNotAllowed": MethodNotAllowed,
    "AlreadyExists": AlreadyExists,
    "Conflict": Conflict,
    "Gone": Gone,
    "Expired": Gone,
    "Invalid": Invalid,
    "TooManyRequests": TooManyRequests,
    "ServerTimeout": ServerTimeout,
    "Timeout": ServerTimeout,
    "ServiceUnavailable": ServiceUnavailable,
    "InternalError": InternalError,
}

_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
    500: InternalError,
    503: ServiceUnavailable,
    504: ServerTimeout,
}


def _error_class(status: Status) -> type[ApiError]:
    # Like apimachinery's ReasonForError: the reason decides, the code is the fallback
    # (an aggregated API or a proxy may answer with a bare code and no Status).
    by_reason = _BY_REASON.get(status.reason)
    if by_reason is not None:
        return by_reason
    return _BY_CODE.get(status.code, ApiError)


def api_error_from_status(status: Status | Mapping[str, Any], *, retry_after: float | None = None) -> ApiError:
    """The typed :class:`ApiError` for a Status (decoded or as a mapping)."""
    if not isinstance(status, Status):
        status = Status.from_dict(status)
    return _error_class(status)(status, retry_after=retry_after)


def _retry_after_header(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: the API server never sends one
    return seconds if seconds >= 0 else None


def api_error_from_response(code: int, body: bytes, *, retry_after: str | None = None) -> ApiError:
    """The typed error for a non-2xx answer. ``body`` is usually a Status; when it is not
    (a proxy's HTML page, an empty body), a Status is made up from the code and the text."""
    status: Status | None = None
    try:
        decoded = json.loads(body) if body else None
    except ValueError:
        decoded = None
    if isinstance(decoded, Mapping) and decoded.get("kind") == "Status":
        status = Status.from_dict(decoded, code=code)
    if status is None:
        text = body.decode("utf-8", "replace").strip()[:500] if body else ""
        reason = _DEFAULT_REASON.get(code, "")
        status = Status(code=code, reason=reason, message=text or f"the server answered HTTP {code}")
    return api_error_from_status(status, retry_after=_retry_after_header(retry_after))


_DEFAULT_REASON: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
