"""Users, groups and role grants are managed in the Django admin; the audit log is read-only there."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from console.models import AuditEntry, RoleGrant


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
    search_fields = ("username", "namespace", "name", "request_id")
    date_hierarchy = "time"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
