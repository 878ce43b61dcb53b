"""Django's database holds users, their roles and the audit log; never the EMQX resources."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

ALL = "*"


class Role(models.TextChoices):
    VIEWER = "viewer", _("Viewer (read)")
    OPERATOR = "operator", _("Operator (read, create, edit, scale)")
    ADMIN = "admin", _("Admin (everything, including delete)")


class RoleGrant(models.Model):
    """A role for a user or a group, in one namespace of one cluster (``*`` for all)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="emqx_grants",
    )
    group = models.ForeignKey(
        Group, verbose_name=_("group"), null=True, blank=True, on_delete=models.CASCADE, related_name="emqx_grants"
    )
    role = models.CharField(verbose_name=_("role"), max_length=16, choices=Role.choices)
    cluster = models.CharField(
        verbose_name=_("cluster"), max_length=63, default=ALL, help_text=_("A configured cluster's name, or * for all.")
    )
    namespace = models.CharField(
        verbose_name=_("namespace"), max_length=63, default=ALL, help_text=_("A namespace, or * for all.")
    )

    class Meta:
        verbose_name = _("role grant")
        verbose_name_plural = _("role grants")
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(group__isnull=True))
                | (Q(user__isnull=True) & Q(group__isnull=False)),
                name="grant_is_for_a_user_or_a_group",
            )
        ]

    def __str__(self) -> str:
        where = f"{self.cluster}/{self.namespace}"
        if self.user_id:
            text = gettext("user %(who)s: %(role)s in %(where)s")
        else:
            text = gettext("group %(who)s: %(role)s in %(where)s")
        return text % {"who": self.user if self.user_id else self.group, "role": self.role, "where": where}


class AuditEntry(models.Model):
    """One mutation attempt through the console: who, what, on which object, and how it went."""

    class Outcome(models.TextChoices):
        # The labels: as the history and audit pages show them (the audit page showed the value itself).
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")
        # Recorded before the write; stays so only when the outcome could not be recorded after it.
        ATTEMPTED = "attempted", _("attempted (outcome not recorded)")

    time = models.DateTimeField(verbose_name=_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(
        verbose_name=_("username"), max_length=150, help_text=_("Kept when the user is deleted.")
    )
    cluster = models.CharField(verbose_name=_("cluster"), max_length=63)
    namespace = models.CharField(verbose_name=_("namespace"), max_length=63, db_index=True)
    kind = models.CharField(verbose_name=_("kind"), max_length=63)
    name = models.CharField(verbose_name=_("name"), max_length=253, db_index=True)
    action = models.CharField(verbose_name=_("action"), max_length=32, db_index=True)
    outcome = models.CharField(verbose_name=_("outcome"), max_length=16, choices=Outcome.choices)
    error = models.TextField(verbose_name=_("error"), blank=True)
    request_id = models.CharField(
        verbose_name=_("request id"), max_length=64, blank=True, help_text=_("The console's own id of the request.")
    )
    proxy_request_id = models.CharField(
        verbose_name=_("proxy request id"),
        max_length=64,
        blank=True,
        help_text=_("The X-Request-ID a trusted proxy gave the request (console.middleware)."),
    )
    diff = models.TextField(
        verbose_name=_("diff"), blank=True, help_text=_("Unified diff of the object, before to after.")
    )
    before = models.JSONField(verbose_name=_("before"), null=True, blank=True)
    after = models.JSONField(verbose_name=_("after"), null=True, blank=True)

    class Meta:
        ordering = ["-time", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.kind} {self.namespace}/{self.name}"


class ConditionTransition(models.Model):
    """A change of a status condition of an EMQX instance, as this console saw it happen.

    The Kubernetes API keeps only the latest condition of each type, so the history exists
    only where someone recorded it: here, by console.timeline, for as long as the console
    runs. ``at`` is when it happened as the operator wrote it (the condition's
    lastTransitionTime); a removal has no time of its own and takes the newest time of the
    conditions set in the same update. The same change seen twice (a restart, two console
    processes) is the same row: see the unique constraint.
    """

    class Change(models.TextChoices):
        SET = "set", _("set")
        REMOVED = "removed", _("removed")
        RESUMED = "resumed", _("current again")

    cluster = models.CharField(verbose_name=_("cluster"), max_length=63)
    kind = models.CharField(verbose_name=_("kind"), max_length=32)
    namespace = models.CharField(verbose_name=_("namespace"), max_length=63)
    name = models.CharField(verbose_name=_("name"), max_length=253)
    uid = models.CharField(
        verbose_name=_("uid"), max_length=64, help_text=_("An instance deleted and created again is another instance.")
    )
    condition_type = models.CharField(verbose_name=_("condition type"), max_length=64)
    status = models.CharField(verbose_name=_("status"), max_length=16)
    change = models.CharField(verbose_name=_("change"), max_length=16, choices=Change.choices)
    reason = models.CharField(verbose_name=_("reason"), max_length=256, blank=True)
    message = models.TextField(verbose_name=_("message"), blank=True)
    generation = models.BigIntegerField(
        verbose_name=_("generation"), null=True, help_text=_("metadata.generation when the change was seen.")
    )
    at = models.DateTimeField(
        verbose_name=_("at"), help_text=_("When it happened (the condition's lastTransitionTime).")
    )
    observed_at = models.DateTimeField(verbose_name=_("observed at"), help_text=_("When this console saw it."))
    current = models.BooleanField(
        verbose_name=_("current"), default=False, help_text=_("The condition became the instance's current state.")
    )
    first_seen = models.BooleanField(
        verbose_name=_("first seen"),
        default=False,
        help_text=_("Found in place when the console first saw the instance, not seen changing."),
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("condition transition")
        verbose_name_plural = _("condition transitions")
        indexes = [models.Index(fields=["cluster", "kind", "namespace", "name", "at"], name="transition_instance_at")]
        constraints = [
            models.UniqueConstraint(
                fields=["uid", "condition_type", "change", "status", "at"], name="condition_transition_once"
            )
        ]

    def __str__(self) -> str:
        where = f"{self.kind} {self.namespace}/{self.name}"
        return f"{self.at:%Y-%m-%d %H:%M:%S} {where} {self.condition_type} {self.change}"
