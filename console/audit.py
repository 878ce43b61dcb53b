"""The audit trail: exactly one entry per mutation attempt, failures included, that cannot be lost.

An entry is written **before** the write (outcome ``attempted``, with what was asked for) and
completed **after** it (``success`` with the result, or ``failure`` with the API's error): see
:func:`begin` and :func:`finish`. When the attempt cannot be recorded (the database is locked or
down), :func:`begin` raises :class:`AuditUnavailable` and the caller writes nothing; when only the
outcome cannot be recorded, the entry stays ``attempted`` and the page says so. Dry-runs are not
mutations and are not recorded.

Secrets never reach the trail: ``before``, ``after`` and the diff are redacted first
(console/redaction.py says what counts as a secret).
"""

from __future__ import annotations

import difflib
import logging
from typing import Any

from django.db import DatabaseError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext, pgettext_lazy

from console import diffs
from console.models import AuditEntry
from console.redaction import redacted

log = logging.getLogger(__name__)

# An entry's action (``AuditEntry.action``, stored as this key, in English) as the pages show it, in their
# language: the writes (console.forms.audit.WRITES), the change list's actions (console/actions.py) and the
# objects' own actions (console/kinds/emqx.py). In English each is the key itself, as the pages showed it.
ACTION_LABELS = {
    "create": pgettext_lazy("audit action", "create"),
    "update": pgettext_lazy("audit action", "update"),
    "scale": pgettext_lazy("audit action", "scale"),
    "delete": pgettext_lazy("audit action", "delete"),
    "label": pgettext_lazy("audit action", "label"),
    "restart": pgettext_lazy("audit action", "restart"),
    "set_image": pgettext_lazy("audit action", "set_image"),
    "pause": pgettext_lazy("audit action", "pause"),
    "resume": pgettext_lazy("audit action", "resume"),
}
# An entry's outcome (``AuditEntry.outcome``) as the audit page shows it: the stored word, in the page's language.
OUTCOME_WORDS = {
    "success": pgettext_lazy("audit outcome", "success"),
    "failure": pgettext_lazy("audit outcome", "failure"),
    "attempted": pgettext_lazy("audit outcome", "attempted"),
}


class AuditUnavailable(Exception):
    """The audit trail cannot record a write attempt right now (a database error). Raised by
    :func:`begin` before anything is written: the caller must not write. ``str()`` is a message for
    the user that says nothing was changed."""

    def __init__(self, error: DatabaseError) -> None:
        super().__init__(
            gettext(
                "Nothing was changed: the audit trail cannot be written right now, and the console writes nothing"
                " it cannot audit (%(error)s). Try again in a moment; if it persists, tell whoever runs the console."
            )
            % {"error": f"{type(error).__name__}: {error}"}
        )


def _clean(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """The object without bookkeeping the server changes on every write and the status."""
    return None if obj is None else diffs.without(obj, *diffs.BOOKKEEPING, status=True)


# A value this long that an update leaves as it was is stored once, in ``before``: a large
# configuration or kubectl's last-applied annotation is not kept twice per edit; the diff shows
# every change (tests/fieldcases/16-large-config-last-applied).
LONG_VALUE = 1024


def _once(after: Any, before: Any) -> Any:
    """``after`` with every string of LONG_VALUE characters or more that ``before`` holds at the
    same path replaced by ``<unchanged: N characters, as before>``."""
    if isinstance(after, dict):
        return {k: _once(v, before.get(k) if isinstance(before, dict) else None) for k, v in after.items()}
    if isinstance(after, list):
        old = before if isinstance(before, list) else []
        return [_once(v, old[i] if i < len(old) else None) for i, v in enumerate(after)]
    if isinstance(after, str) and len(after) >= LONG_VALUE and after == before:
        return f"<unchanged: {len(after)} characters, as before>"
    return after


def _after(after: dict[str, Any] | None, before: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the entry keeps of ``after``: cleaned, redacted, long unchanged values once (:func:`_once`)."""
    return _clean(_once(redacted(after, before), redacted(before)))


def spec_diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """A unified YAML diff of two objects (bookkeeping fields and status left out), secrets redacted."""

    def lines(obj: dict[str, Any] | None) -> list[str]:
        return [] if obj is None else diffs.dump(_clean(obj), sort_keys=True).splitlines(keepends=True)

    shown_before = redacted(before)
    return "".join(difflib.unified_diff(lines(shown_before), lines(redacted(after, before)), "before", "after"))


def begin(
    request: HttpRequest,
    *,
    cluster: str,
    action: str,
    kind: str,
    namespace: str,
    name: str,
    before: dict[str, Any] | None = None,
    intended: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record a write attempt before it is sent: outcome ``attempted``, with ``before`` (the object as
    it was, ``to_dict()``) and ``intended`` (what is asked for) as JSON documents, redacted.

    Raises :class:`AuditUnavailable` when the database refuses the row: then nothing may be written."""
    user = request.user if request.user.is_authenticated else None
    try:
        # A savepoint of its own: a refused row leaves any transaction around it usable.
        with transaction.atomic():
            return AuditEntry.objects.create(
                user=user,
                username=user.get_username() if user is not None else "",
                cluster=cluster,
                namespace=namespace,
                kind=kind,
                name=name,
                action=action,
                outcome=AuditEntry.Outcome.ATTEMPTED,
                request_id=getattr(request, "request_id", ""),
                proxy_request_id=getattr(request, "proxy_request_id", ""),
                diff=spec_diff(before, intended),
                before=_clean(redacted(before)),
                after=_after(intended, before),
            )
    except DatabaseError as error:
        log.error("audit: cannot record %s %s %s/%s: %s", action, kind, namespace, name, error)
        raise AuditUnavailable(error) from error


def finish(
    entry: AuditEntry,
    *,
    outcome: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    error: str = "",
) -> bool:
    """Complete the entry of :func:`begin` with the write's outcome (``"success"`` or ``"failure"``),
    the object the API server returned (``after``; None for a delete or a failure, when the entry
    keeps what was asked for) and the API's error text. Returns False, and logs, when the database
    refuses: the entry then stays ``attempted``; the caller tells the user."""
    entry.outcome = outcome
    entry.error = error
    fields = ["outcome", "error"]
    if after is not None or (outcome == AuditEntry.Outcome.SUCCESS and entry.action == "delete"):
        entry.after = _after(after, before)
        entry.diff = spec_diff(before, after)
        fields += ["after", "diff"]
    try:
        with transaction.atomic():
            entry.save(update_fields=fields)
    except DatabaseError as failure:
        log.error("audit: cannot record the outcome (%s) of entry %s: %s", outcome, entry.pk, failure)
        return False
    return True


def record(
    request: HttpRequest,
    *,
    cluster: str,
    action: str,
    kind: str,
    namespace: str,
    name: str,
    outcome: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    error: str = "",
) -> AuditEntry:
    """One complete entry at once (:func:`begin` then :func:`finish`), for a write whose outcome is
    already known. Raises :class:`AuditUnavailable` as :func:`begin` does."""
    entry = begin(
        request,
        cluster=cluster,
        action=action,
        kind=kind,
        namespace=namespace,
        name=name,
        before=before,
        intended=after,
    )
    finish(entry, outcome=outcome, before=before, after=after, error=error)
    return entry
