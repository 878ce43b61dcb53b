"""Request ids (console.middleware.RequestIdMiddleware): the console's own id on every response and
audit entry, never one a client chose; a trusted proxy's X-Request-ID kept next to it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from console.audit import record
from console.middleware import RequestIdMiddleware
from console.models import AuditEntry

pytestmark = pytest.mark.django_db
OURS = re.compile(r"[0-9a-f]{32}")


def _audited_request(**meta: str) -> tuple[HttpResponse, AuditEntry]:
    """One request through the middleware to a view that records an audit entry, as every write does."""

    def view(request: HttpRequest) -> HttpResponse:
        request.user = User.objects.create_user("olga")
        record(request, cluster="default", action="delete", kind="EMQX", namespace="prod", name="b", outcome="success")
        return HttpResponse("done")

    response = RequestIdMiddleware(view)(RequestFactory().post("/", **meta))
    return response, AuditEntry.objects.get()


def test_every_response_carries_an_id_of_the_consoles_own(client: Client) -> None:
    first, second = client.get("/login/")["X-Request-ID"], client.get("/login/")["X-Request-ID"]
    assert OURS.fullmatch(first) and OURS.fullmatch(second) and first != second


def test_the_audit_records_the_id_the_response_carried() -> None:
    response, entry = _audited_request()
    assert entry.request_id == response["X-Request-ID"]
    assert OURS.fullmatch(entry.request_id) and entry.proxy_request_id == ""


@pytest.mark.parametrize("trusted", [[], ["10.0.0.0/8"]], ids=["no-trusted-proxy", "peer-not-trusted"])
def test_a_clients_own_request_id_is_neither_echoed_nor_recorded(settings: Any, trusted: list[str]) -> None:
    settings.CONSOLE_TRUSTED_PROXIES = trusted
    response, entry = _audited_request(REMOTE_ADDR="203.0.113.66", HTTP_X_REQUEST_ID="forged-id")
    assert OURS.fullmatch(response["X-Request-ID"])
    assert "forged-id" not in (entry.request_id, entry.proxy_request_id)


def test_a_trusted_proxys_request_id_is_recorded_next_to_ours(settings: Any) -> None:
    settings.CONSOLE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    response, entry = _audited_request(REMOTE_ADDR="10.0.0.2", HTTP_X_REQUEST_ID="trace-42")
    assert (entry.request_id, entry.proxy_request_id) == (response["X-Request-ID"], "trace-42")
    assert OURS.fullmatch(response["X-Request-ID"])


@pytest.mark.parametrize("incoming", ["x" * 65, "has space", "new\nline", "quote'd", ""])
def test_a_trusted_proxys_id_that_is_not_an_id_is_dropped(settings: Any, incoming: str) -> None:
    settings.CONSOLE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    _, entry = _audited_request(REMOTE_ADDR="10.0.0.2", HTTP_X_REQUEST_ID=incoming)
    assert entry.proxy_request_id == "" and OURS.fullmatch(entry.request_id)
