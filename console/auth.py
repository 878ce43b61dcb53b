"""Log-in, throttled against password guessing by django-axes on every log-in path.

Axes' authentication backend comes first in AUTHENTICATION_BACKENDS, so ``/login/``, ``/admin/login/``
and any other caller of ``authenticate()`` are counted and refused alike; the limits, the lock-out
key and the client's address are one block of console/settings.py. This module gives axes the
username as Django compares it (:func:`axes_username`) and turns a lock-out into the log-in page
the person is on, saying when to try again (the forms below and :func:`lockout_response`).

Failures live in the database (axes' AccessAttempt), so every worker process sees the same count.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

THROTTLED = _("Too many failed log-in attempts. Try again in %(wait)s.")
USERNAME_MAX = 255
"""The length of axes' username column; a normalised name is cut there (casefolding can triple a
150-character name)."""


def normalize_username(raw: object) -> str | None:
    """The name the throttle counts for ``raw``: stripped, NFKC-normalised (as Django's log-in form,
    ``UsernameField``, does before the password is checked, and ``AbstractBaseUser.normalize_username``
    to stored names), then casefolded, at most USERNAME_MAX characters. So ``admin`` in fullwidth letters
    (U+FF41...), in mathematical bold letters (U+1D41A...) or as ``ADMIN`` is ``admin``. None for no name."""
    if not isinstance(raw, str):
        return None
    return unicodedata.normalize("NFKC", raw.strip()).casefold()[:USERNAME_MAX]


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the normalised username of an attempt, from the credentials given
    to ``authenticate()`` or else the POSTed form (axes' own order)."""
    field = get_user_model().USERNAME_FIELD
    if credentials:
        return normalize_username(credentials.get(field))
    return normalize_username(request.POST.get(field))


def minutes_left(request: HttpRequest) -> int:
    """Whole minutes (at least 1) until the locked-out (username, address) pair of ``request`` may
    try again: the cool-off after its latest counted failure. Call after ``authenticate()``."""
    cool_off: dt.timedelta = get_cool_off(request) or dt.timedelta(0)
    now = timezone.now()
    latest: dt.datetime | None = None
    handler = AxesProxyHandler.get_implementation()
    if isinstance(handler, AxesDatabaseHandler):
        credentials = getattr(request, "axes_credentials", None)
        for attempts in handler.get_user_attempts(request, credentials):
            found = attempts.aggregate(latest=Max("attempt_time"))["latest"]
            if found is not None and (latest is None or found > latest):
                latest = found
    ends = (latest or now) + cool_off
    return max(1, math.ceil((ends - now).total_seconds() / 60))


def wait_text(request: HttpRequest) -> str:
    """``"15 minutes"``, ``"1 minute"``: :func:`minutes_left` as the lock-out message says it, in the
    request's language (``ngettext``: "15 分钟" in Chinese, which has one plural form)."""
    minutes = minutes_left(request)
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def _throttled(form: AuthenticationForm) -> ValidationError | None:
    """The form's error for a refused attempt that axes locked out (None if it did not): the
    generic "wrong username or password" would send the person guessing again."""
    request = form.request
    if request is None or not getattr(request, "axes_locked_out", False):
        return None
    request.console_lockout_shown = True  # type: ignore[attr-defined]
    return ValidationError(form.error_messages["throttled"], code="throttled", params={"wait": wait_text(request)})


class _SaysThrottled(AuthenticationForm):
    """A log-in form whose failure says "Too many failed log-in attempts. Try again in N minutes."
    when axes refused the attempt or this failure locked the pair."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            throttled = _throttled(self)
            if throttled is None:
                raise
            raise throttled from None


class ThrottledAuthenticationForm(_SaysThrottled):
    """Django's log-in form (``/login/``), with the lock-out message."""

    error_messages = {**AuthenticationForm.error_messages, "throttled": THROTTLED}


class ThrottledAdminAuthenticationForm(_SaysThrottled, AdminAuthenticationForm):
    """The admin site's log-in form (``admin.site.login_form``), with the same lock-out message."""

    error_messages = {**AdminAuthenticationForm.error_messages, "throttled": THROTTLED}


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE, called by axes' middleware for a locked-out attempt: the log-in page
    the form already rendered with the lock-out message, as 429 Too Many Requests; for any other
    path that authenticates (none today), a plain 429 with the same message."""
    if original_response is not None and getattr(request, "console_lockout_shown", False):
        original_response.status_code = 429
        return original_response
    return HttpResponse(THROTTLED % {"wait": wait_text(request)}, status=429, content_type="text/plain")


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True
