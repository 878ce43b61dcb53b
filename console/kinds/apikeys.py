"""EMQXAPIKey (apps.emqx.io/v3beta1, operator 3.0): an API key of one EMQX instance, which the
operator creates in EMQX and stores, with its secret, in a Secret of the key's namespace.

Facts (../shared/crds/OPERATOR-STATUS.md, "EMQXAPIKey v3beta1"): ``spec.emqxRef.name`` (the
instance, same namespace) and ``spec.secretRef.name`` (the Secret the operator creates) are
required and immutable (CEL ``self == oldSelf``, refused with a 422 naming the field);
``role`` is Administrator (the default), Viewer or Publisher; ``expiresAt`` is an optional
RFC 3339 date-time (the API server refuses anything else). The status holds only conditions.
Upstream's controller writes none yet; the sandbox's simulator sets ``Ready`` True or False
with a reason.

State (:func:`summarize`, and nowhere else):

- no condition at all: Pending, "Not reconciled yet" (the operator has not looked at it);
- the ``Ready`` condition, found by type (list order means nothing): True is Ready, False is
  Not ready (its reason and message shown; the health is degraded: the key does not work),
  Unknown is Pending;
- conditions without ``Ready``: Pending; they are listed, never interpreted;
- a deletionTimestamp: Deleting.

Expiry is the clock's, not the operator's: within :data:`EXPIRY_WARNING` of ``expiresAt`` the
key keeps its state with a note ("expires in 3 days"); past it the health is degraded
("expired at …") whatever the conditions say, since EMQX no longer accepts an expired key.
Because the state depends on the clock, summaries are not memoized (there are few keys).

The console never reads the Secret: every page shows its name only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

from django import forms
from django.http import HttpRequest
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from pydantic import Field, field_validator

from console import impersonation
from console.forms.schema import FieldOptions, FormSpec
from console.registry import (
    AGE,
    DEGRADED,
    NAME,
    NAMESPACE,
    STATE,
    UNKNOWN,
    Column,
    FormContext,
    Health,
    ResourceAdmin,
    site,
)
from console.summaries import ConditionRow, Summary, base_fields, condition_rows, parse_time
from emqx.client.names import DNS_SUBDOMAIN
from emqx.errors import EmqxClientError
from emqx.models import apps_v3beta1
from emqx.models._base import Resource

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = [
    "EXPIRY_WARNING",
    "APIKeySummary",
    "EMQXAPIKeyAdmin",
    "EMQXAPIKeyInput",
    "api_keys_context",
    "api_keys_for",
    "expiry_warning",
    "instances_in",
    "parse_expiry",
    "stored_expiry",
    "summarize",
]

KIND = "EMQXAPIKey"
EXPIRY_WARNING = dt.timedelta(days=7)
"""How long before ``expiresAt`` a key is flagged ("expires in 3 days"): the list, the detail page
and the EMQX page's key list all ask :func:`expiry_warning`."""
# How long the EMQX detail page waits for a cold API key cache before showing what it has.
RELATED_WAIT_S = 1.0

INSTANCE = "spec.emqxRef.name"
SECRET = "spec.secretRef.name"
ROLE = "spec.role"
EXPIRES = "spec.expiresAt"
IMMUTABLE = {INSTANCE: _("The EMQX instance"), SECRET: _("The Secret name")}

# ----- expiry: one place ---------------------------------------------------------------------

# The console's own short form, read as UTC: 2026-12-31 23:59 (a browser's datetime-local sends
# 2026-12-31T23:59). Seconds are allowed; a zone is not (that is RFC 3339's form).
_SHORT = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?")
# RFC 3339 section 5.6 date-time (what the CRD's ``format: date-time`` takes); t and z may be lower case.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
EXPIRY_FORMATS = _("RFC 3339 (2026-12-31T23:59:00Z) or YYYY-MM-DD HH:MM in UTC")


def parse_expiry(text: str) -> dt.datetime:
    """An expiry as typed: RFC 3339, or ``YYYY-MM-DD HH:MM[:SS]`` (also with a T) read as UTC.
    Returns an aware datetime; ValueError (saying which forms are accepted) for anything else."""
    value = text.strip()
    if not (_RFC3339.fullmatch(value) or _SHORT.fullmatch(value)):
        raise ValueError(
            gettext("%(value)s is not a date and time: write %(formats)s.")
            % {"value": repr(value), "formats": EXPIRY_FORMATS}
        )
    try:
        parsed = dt.datetime.fromisoformat(value.upper())
    except ValueError as error:
        raise ValueError(
            gettext("%(value)s is not a valid date and time (%(error)s).") % {"value": repr(value), "error": error}
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def stored_expiry(text: str) -> str:
    """What is written for a typed expiry: the short form as RFC 3339 in UTC (``2026-12-31 23:59``
    -> ``2026-12-31T23:59:00Z``); an RFC 3339 value as written, zone included, as quantities are
    kept as written (the API server stores it so, and an unchanged one read back from the cluster is
    never rewritten). ValueError as :func:`parse_expiry`."""
    parsed = parse_expiry(text)
    value = text.strip()
    if _RFC3339.fullmatch(value):
        return value
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unit(unit: str, count: int) -> str:
    """``3 days``, ``1 hour``, ``12 minutes`` in the active language ("3 天")."""
    if unit == "day":
        return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}
    if unit == "hour":
        return ngettext("%(count)d hour", "%(count)d hours", count) % {"count": count}
    return ngettext("%(count)d minute", "%(count)d minutes", count) % {"count": count}


def _span(delta: dt.timedelta) -> str:
    """``3 days 4 hours``, ``5 hours``, ``12 minutes``: the largest unit and the next one, if any, in the
    active language (``3 天 4 小时``)."""
    seconds = int(delta.total_seconds())
    units = (("day", 86400), ("hour", 3600), ("minute", 60))
    for index, (unit, size) in enumerate(units):
        if seconds >= size:
            count, rest = divmod(seconds, size)
            text = _unit(unit, count)
            if index + 1 < len(units) and (more := rest // units[index + 1][1]):
                text = pgettext("a duration: the larger unit, then the smaller", "%(larger)s %(smaller)s") % {
                    "larger": text,
                    "smaller": _unit(units[index + 1][0], more),
                }
            return text
    return gettext("less than a minute")


def _expiry_words(expired: bool, seconds: int) -> str:
    span = _span(dt.timedelta(seconds=seconds))
    if expired:
        return gettext("expired %(span)s ago") % {"span": span}
    return gettext("expires in %(span)s") % {"span": span}


# Summaries outlive a request (the watch cache's summaries serve every user): the words are those of the
# language of the page that shows them.
_lazy_expiry_words = lazy(_expiry_words, str)


def expiry_warning(expires_at: dt.datetime | None, now: dt.datetime) -> StrOrPromise:
    """The warning an expiry deserves at ``now``: '' (none, or more than EXPIRY_WARNING away),
    ``expires in 3 days`` or ``expired 2 hours ago`` (lazy: in the language of the page showing it)."""
    if expires_at is None:
        return ""
    left = expires_at - now
    if left <= dt.timedelta(0):
        return _lazy_expiry_words(True, int((-left).total_seconds()))
    if left <= EXPIRY_WARNING:
        return _lazy_expiry_words(False, int(left.total_seconds()))
    return ""


def _when(value: dt.datetime) -> str:
    """A time as the console's pages write it: ``2026-11-26 10:05 UTC``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# ----- the summary ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class APIKeySummary(Summary):
    """A :class:`Summary` with an API key's own facts (never the Secret's content)."""

    instance: str = ""
    """The EMQX instance the key belongs to (``spec.emqxRef.name``), in the key's namespace."""
    role: str = ""
    secret_name: str = ""
    description: str = ""
    expires_at: dt.datetime | None = None
    expired: bool = False
    expiry_note: StrOrPromise = ""
    """:func:`expiry_warning` at the time of the summary ('' when none is due)."""

    @property
    def expires(self) -> str:
        """``2026-12-31 23:59 UTC``, with the warning when one is due, or ``never`` (in the active language)."""
        return _expires_text(self.expires_at, self.expiry_note)


def _expires_text(expires_at: dt.datetime | None, note: StrOrPromise) -> str:
    if expires_at is None:
        return pgettext("an API key's expiry", "never")
    return f"{_when(expires_at)} ({note})" if note else _when(expires_at)


_lazy_expires_text = lazy(_expires_text, str)


def _ready_is(status: str, why: str) -> str:
    return (gettext("Ready is %(status)s: %(why)s") % {"status": status, "why": why}).strip()


_lazy_ready_is = lazy(_ready_is, str)


def _ready_of(conditions: Sequence[ConditionRow]) -> ConditionRow | None:
    return next((c for c in conditions if c.type == "Ready"), None)


def summarize(obj: apps_v3beta1.EMQXAPIKey, now: dt.datetime | None = None) -> APIKeySummary:
    """The key as the pages show it, by the rules of the module docstring, at ``now`` (default:
    the clock). The only place that computes a key's state."""
    now = now or dt.datetime.now(dt.UTC)
    spec, status = obj.spec, obj.status
    conditions = condition_rows(status.conditions if status else None)
    ready = _ready_of(conditions)
    # The operator's line: the console's words (lazy: a summary outlives the request) around the cluster's.
    operator: StrOrPromise
    if not conditions:
        state, operator = "Pending", _("Not reconciled yet: the operator has not reported on this key")
    elif ready is None:
        state = "Pending"
        operator = format_lazy(
            _("No Ready condition (reported: {conditions})"),
            conditions=", ".join(f"{c.type}={c.status}" for c in conditions),
        )
    elif ready.status == "True":
        state, operator = "Ready", ready.message or ready.reason or "Ready"
    elif ready.status == "False":
        state, operator = "Not ready", f"{ready.reason}: {ready.message}" if ready.message else ready.reason
    else:
        state, operator = "Pending", _lazy_ready_is(str(ready.status), f"{ready.reason} {ready.message}".strip())
    base = base_fields(obj)
    if base["deleting"]:
        state = "Deleting"
    expires_at = parse_time(spec.expires_at) if spec is not None else None
    note = expiry_warning(expires_at, now)
    instance = spec.emqx_ref.name if spec is not None else ""
    secret = spec.secret_ref.name if spec is not None else ""
    role = (spec.role or "Administrator") if spec is not None else ""
    observed = ready is None or ready.observed_generation is None or ready.observed_generation >= base["generation"]
    summary = APIKeySummary(
        **base,
        state=state,
        current=ready,
        conditions=tuple(conditions),
        observed=observed,
        settled=state == "Ready" and observed,
        instance=instance,
        role=role,
        secret_name=secret,
        description=(spec.description or "") if spec is not None else "",
        expires_at=expires_at,
        expired=expires_at is not None and expires_at <= now,
        expiry_note=note,
    )
    details = [
        ("Instance", instance or "—"),
        ("Role", role or "—"),
        ("Expires", _lazy_expires_text(expires_at, note)),
        ("Secret", secret or "—"),
        ("Operator", operator),
    ]
    if summary.description:
        details.insert(4, ("Description", summary.description))
    return dataclasses.replace(summary, details=tuple(details))


def _of(summary: Summary, name: str) -> Any:
    """One of APIKeySummary's own fields, for the columns ('' for any other summary)."""
    return getattr(summary, name, "")


_NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)


def _column(key: str, label: StrOrPromise, name: str) -> Column:
    return Column(key, label, lambda s: _of(s, name) or "—", lambda s: (_of(s, name), s.namespace, s.name))


INSTANCE_COLUMN = _column("instance", _("Instance"), "instance")
ROLE_COLUMN = _column("role", _("Role"), "role")
SECRET_COLUMN = _column("secret", _("Secret"), "secret_name")
EXPIRES_COLUMN = Column(
    "expires",
    _("Expires"),
    lambda s: _of(s, "expires") or "—",
    lambda s: (_of(s, "expires_at") or _NEVER, s.namespace, s.name),
    lambda s: _of(s, "expires_at").isoformat() if _of(s, "expires_at") else "",
)


# ----- the form ------------------------------------------------------------------------------


class _SpecInput(apps_v3beta1.EMQXAPIKeySpec):
    """The spec as the form and the YAML editor read it: ``expiresAt`` as text (the schema form
    has no date-time field, and strict validation refuses a string for a datetime), written by
    :func:`stored_expiry`; an invalid one is refused (ValueError, on the field that shows it)."""

    # Text here, a datetime in the generated model: the one field this class exists to retype.
    expires_at: Annotated[
        str | None, Field(alias="expiresAt", description="When the key stops working. Empty: it never expires.")
    ] = None  # type: ignore[assignment]

    @field_validator("expires_at", mode="before")
    @classmethod
    def _rfc3339(cls, value: Any) -> Any:
        if isinstance(value, dt.datetime):  # an unquoted timestamp in YAML: its zone as written, UTC without one
            if value.tzinfo is None or value.utcoffset() == dt.timedelta(0):
                return value.replace(tzinfo=None).isoformat() + "Z"
            return value.isoformat()
        if isinstance(value, str):
            return stored_expiry(value)
        return value


class EMQXAPIKeyInput(apps_v3beta1.EMQXAPIKey):
    """EMQXAPIKey as the console's forms build it (``FormSpec.model``): the generated model with
    ``spec.expiresAt`` as RFC 3339 text (see :class:`_SpecInput`). Same apiVersion and kind, so
    the client writes it as it writes the generated model, and reads back the generated one.
    Not registered as the kind's model (it declares no ``kind`` of its own)."""

    spec: Annotated[_SpecInput | None, Field(description="Specification of the desired state of the EMQX API key.")] = (
        None
    )


def _valid_expiry(value: Any) -> None:
    """A NEW expiry (the form judges only changed values): one of the accepted forms, in the future."""
    if value in (None, ""):
        return
    try:
        when = parse_expiry(str(value))
    except ValueError as error:
        raise forms.ValidationError(str(error)) from None
    if when <= dt.datetime.now(dt.UTC):
        raise forms.ValidationError(
            gettext("%(when)s has passed: a new expiry must be in the future.") % {"when": _when(when)}
        )


def _valid_secret_name(value: Any) -> None:
    """Kubernetes' rule for a Secret's name (a DNS subdomain), said on the field before the
    operator fails to create it."""
    if value in (None, ""):
        return
    problem = DNS_SUBDOMAIN.check(str(value))
    if problem is not None:
        raise forms.ValidationError(gettext("Not a valid Secret name: %(problem)s.") % {"problem": problem})


def instances_in(context: FormContext) -> list[str] | None:
    """Names of the EMQX instances in the form's namespace, from the console's EMQX cache (as the
    Rebalance form does); None when unknown (no namespace chosen yet, the cluster's EMQX version
    not handled, the cache not loaded)."""
    if context.cluster is None or not context.namespace:
        return None
    try:
        cache = context.cluster.cache("EMQX")
    except EmqxClientError:
        return None
    if not cache.state().synced:
        return None
    return sorted(o.metadata.name or "" for o in cache.list(context.namespace))


def form_spec(context: FormContext) -> FormSpec:
    """The form: instance (a select of the namespace's EMQX instances when known), role, expiry,
    description, labels, and the Secret's name. On an edit the instance is a select of its one
    value and a changed instance or Secret name is refused on its field (both are immutable: the
    API server would refuse the update with a 422 naming the field)."""
    names = None if context.editing else instances_in(context)
    # Built for each request (FormContext), so in its language.
    if context.editing:
        instance = FieldOptions(
            label=_("EMQX instance"),
            choices=(),  # the stored one only: a key stays with its instance
            help_text=_("A key stays with its instance (spec.emqxRef is immutable): for another, add another key."),
        )
    elif names:
        instance = FieldOptions(
            label=_("EMQX instance"),
            choices=tuple(names),
            help_text=gettext("The instance in namespace %(namespace)s.") % {"namespace": context.namespace}
            if context.namespace
            else gettext("The instance in the key's namespace."),
        )
    else:
        if context.namespace:
            where = (
                gettext(
                    "The name of the EMQX instance in namespace %(namespace)s (none found there yet). "
                    "Cannot be changed later."
                )
                if names is not None
                else gettext("The name of the EMQX instance in namespace %(namespace)s. Cannot be changed later.")
            ) % {"namespace": context.namespace}
        else:
            where = gettext("The name of the EMQX instance in the key's namespace. Cannot be changed later.")
        instance = FieldOptions(label=_("EMQX instance"), help_text=where)
    secret_help = (
        _("Cannot be changed (spec.secretRef is immutable).")
        if context.editing
        else _(
            "The Secret the operator creates in this namespace with the generated key and secret; "
            "the console never shows its content. Cannot be changed later."
        )
    )
    options = {
        INSTANCE: instance,
        ROLE: FieldOptions(label=_("Role"), required=True, help_text=_("What the key may do in EMQX's API.")),
        EXPIRES: FieldOptions(
            label=_("Expires at"),
            placeholder="2026-12-31 23:59",
            help_text=format_lazy(_("{formats}. Empty: the key never expires."), formats=EXPIRY_FORMATS),
            validators=(_valid_expiry,),
        ),
        SECRET: FieldOptions(
            label=_("Secret name"),
            placeholder=_("e.g. <key name>-api-key"),
            help_text=secret_help,
            validators=(_valid_secret_name,),
        ),
        "spec.description": FieldOptions(label=_("Description")),
        "metadata.labels": FieldOptions(label=_("Labels"), help_text=_("One key=value a line.")),
    }

    def refuse_immutable(values: Mapping[str, Any], changed: frozenset[str]) -> dict[str, str]:
        if not context.editing:
            return {}
        return {
            path: gettext(
                "%(what)s of an API key cannot be changed (the operator's CRD refuses it): "
                "delete this key and add a new one instead."
            )
            % {"what": what}
            for path, what in IMMUTABLE.items()
            if path in changed
        }

    # Least privilege first: the CRD defaults a key to Administrator, the form suggests Viewer.
    suggested = {ROLE: "Viewer", **({INSTANCE: names[0]} if names is not None and len(names) == 1 else {})}
    return FormSpec(
        model=EMQXAPIKeyInput,
        fieldsets=(
            (_("API key"), ["metadata.name", "metadata.namespace", INSTANCE, ROLE, EXPIRES, "spec.description"]),
            (pgettext_lazy("the API key form's fieldset", "Secret"), [SECRET]),
            (_("Labels"), ["metadata.labels"]),
        ),
        options=options,
        suggested=suggested,
        always_write=(INSTANCE, SECRET, ROLE),
        clean=refuse_immutable,
    )


# ----- the admin -----------------------------------------------------------------------------


class EMQXAPIKeyAdmin(ResourceAdmin):
    """EMQX API keys (operator 3.0): the rules are the module's docstring."""

    kind = KIND
    slug = "emqxapikeys"
    models = (apps_v3beta1.EMQXAPIKey,)
    verbose_name = _("EMQX API key")
    verbose_name_plural = _("EMQX API keys")
    list_display = (
        NAMESPACE,
        NAME,
        STATE,
        INSTANCE_COLUMN,
        ROLE_COLUMN,
        EXPIRES_COLUMN,
        SECRET_COLUMN,
        AGE,
    )
    ready_conditions = frozenset({"Ready"})
    known_conditions = frozenset({"Ready"})
    counted = False
    menu_order = 5
    list_filter_labels = ("environment",)  # no image, so no version facet
    create_hint = _("kind EMQXAPIKey, apiVersion apps.emqx.io/v3beta1 (operator 3.0)")

    def current_of(self, conditions: Sequence[ConditionRow], api_version: str = "") -> ConditionRow | None:
        """The ``Ready`` condition, by type (or None)."""
        return _ready_of(conditions)

    def summarize_object(self, obj: Any) -> Summary:
        return summarize(obj)

    def health(self, summary: Summary, *, seen_ready: bool) -> Health:
        """Degraded when expired (whatever the operator says) or when Ready is False; unknown
        when the operator reported conditions but no Ready; otherwise as every kind's."""
        if summary.deleting:
            return super().health(summary, seen_ready=seen_ready)
        if isinstance(summary, APIKeySummary) and summary.expired and summary.expires_at is not None:
            return Health(DEGRADED, gettext("expired at %(when)s") % {"when": _when(summary.expires_at)})
        current = summary.current
        if current is not None and current.status == "False":
            return Health(
                DEGRADED,
                (gettext("Ready False: %(why)s") % {"why": f"{current.reason} {current.message}".strip()}).strip(),
            )
        if current is None and summary.conditions:
            return Health(
                UNKNOWN,
                gettext("unknown condition %(type)s") % {"type": ", ".join(c.type for c in summary.conditions)},
            )
        return super().health(summary, seen_ready=seen_ready)

    def get_form_spec(self, model: type[Resource], context: FormContext) -> FormSpec:
        return form_spec(context)


site.register(EMQXAPIKeyAdmin)


# ----- on the EMQX detail page ------------------------------------------------------------------


def _keys_of(cache: Any, namespace: str, instance_name: str) -> list[Summary]:
    found = [
        summarize(o) for o in cache.list(namespace) if o.spec is not None and o.spec.emqx_ref.name == instance_name
    ]
    return sorted(found, key=lambda s: s.name)


def api_keys_for(cluster: Any, namespace: str, instance_name: str) -> list[Summary]:
    """The summaries of the API keys of EMQX ``namespace/instance_name``, by name, from the
    cluster's EMQXAPIKey watch cache (waiting up to RELATED_WAIT_S for a cold one); [] when the
    cluster does not serve the kind or the cache cannot be had. Never raises for those."""
    try:
        cache = cluster.cache(KIND, wait=RELATED_WAIT_S)
    except EmqxClientError:
        return []
    return _keys_of(cache, namespace, instance_name)


def api_keys_context(request: HttpRequest, cluster: Any, obj: Resource) -> dict[str, Any]:
    """The EMQX detail page's context for its API keys module (templates/console/emqx/detail.html):
    ``api_keys`` (summaries), ``api_keys_loading`` and ``api_keys_may_add``; {} (no module) when
    the user may not view API keys in the namespace (console roles, and the cluster's RBAC in
    impersonation mode), or the cluster does not serve the kind (operator 2.x) or cannot be asked."""
    namespace, name = obj.metadata.namespace or "", obj.metadata.name or ""
    admin = site.for_kind(KIND)
    user = request.user
    if not admin.has_view_permission(user, cluster.name, namespace):
        return {}
    try:
        cache = cluster.cache(KIND, wait=RELATED_WAIT_S)
        if impersonation.enabled() and not impersonation.may_read(
            cluster.clientset, user, cluster.kind_client(KIND), namespace
        ):
            return {}
    except EmqxClientError:
        return {}
    return {
        "api_keys": _keys_of(cache, namespace, name),
        "api_keys_loading": not cache.state().synced,
        "api_keys_may_add": admin.has_add_permission(user, cluster.name, namespace),
    }
