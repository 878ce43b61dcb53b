"""The audit page's filters: user, namespace, object name, action, outcome, time range."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from console.audit import ACTION_LABELS
from console.forms.filters import valid_fields
from console.models import ALL, AuditEntry, Role, RoleGrant

WRITES = ("create", "update", "scale", "delete")


def audit_actions() -> list[str]:
    """Every action an audit entry can name: the writes, then each registered kind's object actions
    (EMQX v3beta1's pause and resume) and list actions (label, restart, set_image), from the registry."""
    from console.registry import site

    named = {action.name for admin in site for action in admin.object_actions}
    named |= {action.audit_action for admin in site for action in admin.actions}
    return [*WRITES, *sorted(named - set(WRITES))]


ANY = pgettext_lazy("any action or outcome", "any")


def _action_choices() -> list[tuple[str, Any]]:
    """ "any", then each action of :func:`audit_actions` (the value) as people read it (console.audit.ACTION_LABELS)."""
    return [("", ANY)] + [(a, ACTION_LABELS.get(a, a)) for a in audit_actions()]


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, max_length=150, label=_("User"))
    namespace = forms.CharField(required=False, max_length=63, label=_("Namespace"))
    name = forms.CharField(required=False, max_length=253, label=_("Object"))
    action = forms.ChoiceField(required=False, choices=_action_choices, label=_("Action"))
    outcome = forms.ChoiceField(required=False, choices=[("", ANY), *AuditEntry.Outcome.choices], label=_("Outcome"))
    since = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        label=pgettext_lazy("the start of a time range", "Since"),
    )
    until = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label=_("Until")
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        # Form.clean() returns cleaned_data, but is typed Optional (an override may return None): use it directly.
        data = self.cleaned_data
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end of the range is before its start."))
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
