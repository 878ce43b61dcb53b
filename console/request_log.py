"""One log record per request (logger ``console.requests``) and per audit entry (``console.audit``), with
the request id, the user, the cluster and the outcome as fields of their own.

With ``CONSOLE_LOG_FORMAT=json`` (settings.LOGGING) they are written to standard error as one JSON object
a line (python-json-logger's ``JsonFormatter``), for a cluster's log pipeline; with ``text`` (the default)
Django's usual logging applies and these INFO records are not shown.

Fields of a request record: ``request_id``, ``user`` ('' when anonymous), ``cluster`` ('' outside
``/clusters/<cluster>/``), ``method``, ``path``, ``view`` (the URL name), ``status``, ``duration_ms`` and
``outcome`` (``ok`` below 400, ``refused`` for 4xx, ``error`` for 5xx). An audit record carries
``request_id``, ``user``, ``cluster``, ``action``, ``kind``, ``namespace``, ``object_name``, ``audit_id`` and
``outcome``: ``attempted`` when the attempt is recorded (before the write), then ``success`` or ``failure``
(with ``error``) when its outcome is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from console.models import AuditEntry

requests_log = logging.getLogger("console.requests")
audit_log = logging.getLogger("console.audit")

# Probes and scrapes come every few seconds from every kubelet and Prometheus: not worth a line each.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def outcome(status: int) -> str:
    """``ok`` (below 400), ``refused`` (4xx) or ``error`` (5xx), from an HTTP status code."""
    return "ok" if status < 400 else "refused" if status < 500 else "error"


class RequestLogMiddleware:
    """Logs each request once it is answered (after console.middleware.RequestIdMiddleware, which gives
    ``request.request_id``, and AuthenticationMiddleware, which gives ``request.user``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        if request.path in QUIET_PATHS or not requests_log.isEnabledFor(logging.INFO):
            return response
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "user", None)
        requests_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "request_id": getattr(request, "request_id", ""),
                "user": user.get_username() if user is not None and user.is_authenticated else "",
                "cluster": str(match.kwargs.get("cluster", "")) if match is not None else "",
                "method": request.method,
                "path": request.path,
                "view": match.view_name if match is not None else "",
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "outcome": outcome(response.status_code),
            },
        )
        return response


@receiver(post_save, sender=AuditEntry, dispatch_uid="console.request_log.audit")
def _log_audit_entry(sender: type[AuditEntry], instance: AuditEntry, **kwargs: Any) -> None:
    """Each save of an entry: ``attempted`` when console.audit.begin records the attempt, then ``success``
    or ``failure`` when console.audit.finish records how it went."""
    audit_log.info(
        "%s %s %s/%s: %s",
        instance.action,
        instance.kind,
        instance.namespace,
        instance.name,
        instance.outcome,
        extra={
            "request_id": instance.request_id,
            "user": instance.username,
            "cluster": instance.cluster,
            "action": instance.action,
            "kind": instance.kind,
            "namespace": instance.namespace,
            "object_name": instance.name,  # LogRecord has a "name" of its own (the logger's)
            "outcome": instance.outcome,
            "audit_id": instance.pk,
            **({"error": instance.error} if instance.error else {}),
        },
    )
