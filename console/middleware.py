"""The console's own middleware.

- :class:`RequestIdMiddleware`: the console's own request id on every request, echoed in the response
  and written into audit entries; a trusted proxy's X-Request-ID is kept next to it.
- :class:`HtmxSessionEndedMiddleware`: an htmx request (a poll) whose session has ended is sent to the
  log-in page as a whole page, never swapped into the fragment it polls.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

from console.proxies import from_trusted_proxy

_SAFE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestIdMiddleware:
    """Sets ``request.request_id``: always the console's own id (``uuid4().hex``, 32 hex digits),
    never one a client chose, echoed in the response's ``X-Request-ID`` and recorded in audit
    entries. Sets ``request.proxy_request_id``: the ``X-Request-ID`` the request arrived with,
    only when its peer is a trusted proxy (console.proxies, CONSOLE_TRUSTED_PROXIES) and the
    value is 1-64 of ``A-Za-z0-9._-``; else "". The audit keeps it next to ours, to find the
    proxy's log lines; from anyone else the header is ignored."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = uuid.uuid4().hex
        incoming = request.headers.get("X-Request-ID", "")
        proxy_request_id = incoming if _SAFE.fullmatch(incoming) and from_trusted_proxy(request) else ""
        request.request_id = request_id  # type: ignore[attr-defined]
        request.proxy_request_id = proxy_request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class HtmxSessionEndedMiddleware:
    """Turn the log-in redirect of an htmx request into ``HX-Redirect`` (django-htmx's
    ``HttpResponseClientRedirect``) to the log-in page with ``next`` set to the page the user is on
    (``HX-Current-URL``), not to the polled partial: htmx would otherwise follow the 302 and swap the
    whole log-in page into the status panel, every 2 s. Must come after HtmxMiddleware and
    AuthenticationMiddleware (it reads ``request.htmx`` and ``request.user``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if not htmx or response.status_code not in (301, 302) or request.user.is_authenticated:
            return response
        login = resolve_url(settings.LOGIN_URL)
        if urlsplit(response.get("Location", "")).path != login:
            return response
        page = htmx.current_url_abs_path or "/"
        return HttpResponseClientRedirect(f"{login}?{urlencode({'next': page})}")
