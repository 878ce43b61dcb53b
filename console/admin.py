"""Users, groups and role grants are managed in the Django admin; the audit log is read-only there.

The admin's log-in is throttled like the console's (console.auth), and a group whose name could not
be sent as a Kubernetes group in impersonation mode (console.impersonation) cannot be saved.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest
from django.utils.translation import gettext

from console import impersonation
from console.auth import ThrottledAdminAuthenticationForm
from console.models import AuditEntry, RoleGrant

admin.site.login_form = ThrottledAdminAuthenticationForm


class ConsoleGroupForm(forms.ModelForm):  # type: ignore[type-arg]
    """Django's group form, refusing a name that impersonation could not send: one that would map
    into Kubernetes' ``system:`` names (``system:masters`` is cluster-admin) or that is not
    printable ASCII (see console.impersonation). Checked whether or not impersonation is on,
    so turning it on later cannot grant what nobody reviewed."""

    class Meta:
        model = Group
        fields = "__all__"

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        problem = impersonation.group_name_problem(name)
        if problem is not None:
            raise forms.ValidationError(
                gettext("Choose another name: %(problem)s.") % {"problem": problem}, code="impersonation"
            )
        return name


admin.site.unregister(Group)


@admin.register(Group)
class ConsoleGroupAdmin(GroupAdmin):
    form = ConsoleGroupForm


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("__str__", "role", "cluster", "namespace")
    list_filter = ("role", "cluster", "namespace")
    search_fields = ("user__username", "group__name", "namespace")
    autocomplete_fields = ("user", "group")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("time", "username", "action", "kind", "namespace", "name", "outcome", "cluster")
    list_filter = ("outcome", "action", "kind", "cluster")
    search_fields = ("username", "namespace", "name", "request_id", "proxy_request_id")
    date_hierarchy = "time"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
