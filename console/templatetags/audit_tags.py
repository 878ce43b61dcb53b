"""Template helpers of the pages that show audit entries (the audit trail, an object's History, the
dashboards' recent actions), in the page's language (issue 19).

- ``{{ entry.action|audit_action }}``: the action an audit entry names (``update``, ``set_image``) as people
  read it (:data:`console.audit.ACTION_LABELS`); an action it does not know is shown as stored.
- ``{{ entry.outcome|audit_outcome }}``: an entry's outcome as the audit page shows it: the stored value
  as a word (``success``), in the page's language.
"""

from __future__ import annotations

from django import template

from console.audit import ACTION_LABELS, OUTCOME_WORDS

register = template.Library()


@register.filter
def audit_action(action: str) -> str:
    """``update`` -> "update" in English, "更新" in Chinese; an unknown action as it is."""
    return str(ACTION_LABELS.get(action, action))


@register.filter
def audit_outcome(outcome: str) -> str:
    """``success`` -> "success" in English (the stored value, as the audit page showed it), "成功" in Chinese
    (:data:`console.audit.OUTCOME_WORDS`)."""
    return str(OUTCOME_WORDS.get(outcome, outcome))
