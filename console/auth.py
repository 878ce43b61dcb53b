"""Log-in with throttling: after too many failures for a username or from an address, further
attempts are refused for a while without even checking the password.

Failures live in the database (``LoginFailure``), so every worker process sees the same count.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from console.models import LoginFailure


def _limits() -> tuple[int, dt.timedelta]:
    return (
        getattr(settings, "CONSOLE_LOGIN_MAX_FAILURES", 5),
        dt.timedelta(seconds=getattr(settings, "CONSOLE_LOGIN_LOCKOUT_SECONDS", 15 * 60)),
    )


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many failed log-in attempts. Try again in %(minutes)d minutes.",
    }

    def clean(self) -> dict[str, Any]:
        username = (self.data.get("username") or "").strip()[:150]
        ip = self.request.META.get("REMOTE_ADDR") if self.request else None
        max_failures, window = _limits()
        since = timezone.now() - window
        recent = LoginFailure.objects.filter(time__gte=since).filter(Q(username__iexact=username) | Q(ip=ip))
        if (username and recent.filter(username__iexact=username).count() >= max_failures) or (
            ip and recent.filter(ip=ip).count() >= max_failures * 4
        ):
            raise ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": max(1, int(window.total_seconds() // 60))},
            )
        try:
            return super().clean()
        except ValidationError:
            LoginFailure.objects.create(username=username, ip=ip)
            raise


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> Any:
        LoginFailure.objects.filter(username__iexact=form.get_user().get_username()).delete()
        return super().form_valid(form)
