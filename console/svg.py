"""Small server-rendered SVG charts (no JavaScript): the state breakdown, the versions in
use, and an instance's phases on a time line.

Each function returns markup that is safe to put in a template (every text is escaped by
format_html); colours come from CSS classes (``static/console/console.css``), and every
chart carries a <title> and per-shape <title>s so that screen readers and tooltips say
what the shapes show. The numbers are also in a table next to each chart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext

from console.dashboard import STATE_LABELS, STATES, Totals, kind_label
from console.timeline import Phase

_ROW_H = 22
_GAP = 8
_LABEL_W = 170
_BAR_W = 360
_COUNT_W = 50


def _n(value: float) -> str:
    """A coordinate for an attribute (format_html escapes its arguments, format specs included)."""
    return f"{value:.1f}"


def _svg(title: str, width: int, height: int, body: str, css: str) -> SafeString:
    return format_html(
        '<svg class="chart {}" role="img" viewBox="0 0 {} {}" width="{}" height="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}</svg>',
        css,
        width,
        height,
        width,
        height,
        title,
        mark_safe(body),  # built from format_html pieces only
    )


def state_bars(totals: Totals) -> SafeString:
    """One horizontal bar per kind, split into its states (ready, progressing, degraded,
    unknown), all bars on the scale of the largest kind."""
    rows = [(kind_label(k), counts, sum(counts.values())) for k, counts in totals.by_kind.items()]
    largest = max((total for _, _, total in rows), default=0) or 1
    parts: list[str] = []
    for i, (label, counts, total) in enumerate(rows):
        y = i * (_ROW_H + _GAP)
        parts.append(format_html('<text class="chart-label" x="0" y="{}">{}</text>', _n(y + _ROW_H * 0.7), label))
        x = float(_LABEL_W)
        for state in STATES:
            n = counts.get(state, 0)
            if not n:
                continue
            w = _BAR_W * n / largest
            parts.append(
                format_html(
                    '<rect class="seg-{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {} {}</title></rect>',
                    state,
                    _n(x),
                    y,
                    _n(w),
                    _ROW_H,
                    label,
                    n,
                    STATE_LABELS[state],
                )
            )
            x += w
        parts.append(
            format_html(
                '<text class="chart-count" x="{}" y="{}">{}</text>', _LABEL_W + _BAR_W + 6, _n(y + _ROW_H * 0.7), total
            )
        )
    height = max(len(rows) * (_ROW_H + _GAP) - _GAP, _ROW_H)
    title = gettext("Instances by kind and state: %(counts)s") % {
        "counts": "; ".join(
            f"{label} " + ", ".join(f"{counts.get(s, 0)} {STATE_LABELS[s].lower()}" for s in STATES)
            for label, counts, _ in rows
        )
    }
    return _svg(title, _LABEL_W + _BAR_W + _COUNT_W, height, "".join(parts), "chart-states")


def version_bars(versions: Sequence[tuple[str, int]], *, limit: int = 8) -> SafeString:
    """The EMQX versions in use, most used first, one bar each (the rest summed as 'other')."""
    shown = list(versions[:limit])
    rest = sum(n for _, n in versions[limit:])
    if rest:
        shown.append((pgettext("the other EMQX versions", "other"), rest))
    largest = max((n for _, n in shown), default=0) or 1
    parts: list[str] = []
    for i, (version, n) in enumerate(shown):
        y = i * (_ROW_H + _GAP)
        w = _BAR_W * n / largest
        parts.append(
            format_html(
                '<text class="chart-label" x="0" y="{}">{}</text>'
                '<rect class="bar-version" x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>'
                '<text class="chart-count" x="{}" y="{}">{}</text>',
                _n(y + _ROW_H * 0.7),
                version,
                _LABEL_W,
                y,
                _n(w),
                _ROW_H,
                version,
                n,
                _n(_LABEL_W + w + 6),
                _n(y + _ROW_H * 0.7),
                n,
            )
        )
    height = max(len(shown) * (_ROW_H + _GAP) - _GAP, _ROW_H)
    title = gettext("EMQX versions in use: %(counts)s") % {"counts": ", ".join(f"{v}: {n}" for v, n in shown)}
    return _svg(title, _LABEL_W + _BAR_W + _COUNT_W, height, "".join(parts), "chart-versions")


def phase_strip(phases: Sequence[Phase], now: dt.datetime, *, width: int = 720) -> SafeString:
    """The phases of one instance side by side on a time axis, each as wide as it lasted
    (at least 2 px, so that a short phase stays visible)."""
    if not phases:
        return SafeString("")
    start = phases[0].started
    span = max((now - start).total_seconds(), 1.0)
    height = 28
    parts: list[str] = []
    for p in phases:
        x = width * (p.started - start).total_seconds() / span
        w = max(width * p.duration(now).total_seconds() / span, 2.0)
        css = "seg-ready" if p.ready else ("seg-degraded" if p.label == "fell back" else "seg-progressing")
        parts.append(
            format_html(
                '<rect class="{}" x="{}" y="0" width="{}" height="{}"><title>{}</title></rect>',
                css,
                _n(x),
                _n(w),
                height,
                gettext("%(phase)s from %(start)s for %(lasted)s")
                % {
                    "phase": p.name,
                    "start": p.started.strftime("%Y-%m-%d %H:%M:%S UTC"),
                    "lasted": duration(p.duration(now)),
                },
            )
        )
    title = gettext("Phases: %(phases)s") % {
        "phases": ", ".join(f"{p.name} {duration(p.duration(now))}" for p in phases)
    }
    return _svg(title, width, height, "".join(parts), "chart-phases")


def duration(delta: dt.timedelta) -> str:
    """'45 s', '3 min 20 s', '2 h 5 min', '3 d 4 h': two units at most, in the page's language
    ('3 分 20 秒')."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        if hours:
            return gettext("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
        return gettext("%(days)s d") % {"days": days}
    if hours:
        if minutes:
            return gettext("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
        return gettext("%(hours)s h") % {"hours": hours}
    if minutes:
        if secs:
            return gettext("%(minutes)s min %(seconds)s s") % {"minutes": minutes, "seconds": secs}
        return gettext("%(minutes)s min") % {"minutes": minutes}
    return gettext("%(seconds)s s") % {"seconds": secs}


__all__ = ["duration", "phase_strip", "state_bars", "version_bars"]
