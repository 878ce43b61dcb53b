"""The audit page's filters: user, namespace, object name, action, outcome, time range."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet

from console.forms.filters import valid_fields
from console.models import ALL, AuditEntry, Role, RoleGrant

WRITES = ("create", "update", "scale", "delete")


def audit_actions() -> list[str]:
    """Every action an audit entry can name: the writes, then each registered kind's object actions
    (EMQX v3beta1's pause and resume), from the registry."""
    from console.registry import site

    extra = sorted({action.name for admin in site for action in admin.object_actions} - set(WRITES))
    return [*WRITES, *extra]


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, max_length=150)
    namespace = forms.CharField(required=False, max_length=63)
    name = forms.CharField(required=False, max_length=253, label="Object")
    action = forms.ChoiceField(required=False, choices=lambda: [("", "any")] + [(a, a) for a in audit_actions()])
    outcome = forms.ChoiceField(required=False, choices=[("", "any"), *AuditEntry.Outcome.choices])
    since = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def clean(self) -> dict[str, Any]:
        super().clean()
        # Form.clean() returns cleaned_data, but is typed Optional (an override may return None): use it directly.
        data = self.cleaned_data
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end of the range is before its start.")
        return data

    def filter(self, entries: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        data = valid_fields(self)
        if data.get("user"):
            entries = entries.filter(username__icontains=data["user"])
        if data.get("namespace"):
            entries = entries.filter(namespace=data["namespace"])
        if data.get("name"):
            entries = entries.filter(name__icontains=data["name"])
        if data.get("action"):
            entries = entries.filter(action=data["action"])
        if data.get("outcome"):
            entries = entries.filter(outcome=data["outcome"])
        if data.get("since"):
            entries = entries.filter(time__gte=data["since"])
        if data.get("until"):
            entries = entries.filter(time__lte=data["until"])
        return entries


def _admin_grants(user: Any) -> QuerySet[RoleGrant]:
    return RoleGrant.objects.filter(role=Role.ADMIN).filter(Q(user=user) | Q(group__in=user.groups.all()))


def sees_others_entries(user: Any) -> bool:
    """Whether :func:`visible_entries` can hold other people's entries: a superuser, or an Admin
    somewhere (own grant or a group's)."""
    return bool(user.is_superuser) or _admin_grants(user).exists()


def visible_entries(user: Any) -> QuerySet[AuditEntry]:
    """Superusers see every entry; an Admin sees the entries of the namespaces (and clusters)
    they administer; everyone else sees none."""
    if user.is_superuser:
        return AuditEntry.objects.all()
    grants = _admin_grants(user)
    scope = Q(pk__in=[])
    for g in grants:
        q = Q()
        if g.cluster != ALL:
            q &= Q(cluster=g.cluster)
        if g.namespace != ALL:
            q &= Q(namespace=g.namespace)
        scope |= q
    return AuditEntry.objects.filter(scope)
