"""Template tags for the console in another language than English (issue 19).

- ``{% cluster_text value %}``: text as the cluster wrote it (a condition's type or message, an API error,
  an Event), never translated. On a page in another language it is marked as English (``lang="en"``, so a
  screen reader reads it as English) with a dotted underline and a tooltip saying so (``.cluster-text`` in
  console.css); in English it is the plain escaped text, so English pages are byte for byte as before.
- ``{% state_badge summary %}``: a summary's status badge (``Summary.badge``) in the page's language: the
  console's states translated, a condition type from the cluster as ``cluster_text``.
- ``{{ field.help_text|field_help }}``: a form field's help text, as ``cluster_text`` when the CRD wrote it.
- ``{{ state|state_name }}``: one of the console's state values (``Summary.state``) as people read it.
- ``{{ label|label_name }}``: a summary's count or detail label (``Summary.counts``, ``Summary.details``) as
  people read it.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext, pgettext

from console.summaries import LABEL_NAMES, STATE_NAMES, Summary, label_in_sentence

register = template.Library()


def _english() -> bool:
    return (get_language() or "en").split("-")[0] == "en"


@register.simple_tag
def cluster_text(value: Any) -> SafeString:
    """``value`` (any object; None is '') as the cluster wrote it: escaped, and on a page that is not in
    English wrapped in ``<span lang="en" class="cluster-text" title="...">`` (WCAG 2.1 3.1.2, Language
    of Parts)."""
    text = "" if value is None else str(value)
    if not text or _english():
        return conditional_escape(text)
    return format_html(
        '<span lang="en" class="cluster-text" title="{}">{}</span>',
        gettext("As the cluster wrote it (not translated)"),
        text,
    )


@register.filter
def field_help(help_text: Any) -> SafeString:
    """A form field's help text: the console's own (translated) escaped, one taken from the CRD's
    ``description`` (:class:`console.forms.schema.ClusterText`) as :func:`cluster_text`."""
    if getattr(help_text, "from_cluster", False):
        return cluster_text(help_text)
    return conditional_escape(help_text)


@register.filter
def state_name(state: str) -> str:
    """``Ready`` -> "就绪" in Chinese: :data:`console.summaries.STATE_NAMES`, or ``state`` itself for a
    value it does not know."""
    return str(STATE_NAMES.get(state, state))


@register.filter
def label_name(label: str) -> str:
    """``Core nodes`` -> "核心节点" in Chinese: :data:`console.summaries.LABEL_NAMES`, or ``label`` itself for
    a label it does not know."""
    return str(LABEL_NAMES.get(str(label), label))


@register.filter
def label_names_or(labels: Any) -> str:
    """["Core nodes", "Replicant nodes"] -> "core nodes or replicant nodes" (each as inside a sentence:
    :func:`console.summaries.label_in_sentence`; "核心节点或复制节点" in Chinese)."""
    return pgettext("joins the names of a list of choices", " or ").join(label_in_sentence(str(x)) for x in labels)


@register.simple_tag
def state_badge(summary: Summary) -> SafeString:
    """What ``summary``'s badge says, in the page's language (``Summary.badge_parts``). In English:
    ``Summary.badge``, escaped."""
    if _english():
        return conditional_escape(summary.badge)
    paused, shown, from_cluster = summary.badge_parts
    text = cluster_text(shown) if from_cluster else conditional_escape(state_name(shown))
    if paused:
        return format_html("{} · {}", pgettext("state", "Paused"), text)
    return text
