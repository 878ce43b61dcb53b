"""The audit trail: browse and filter, export as CSV or JSON."""

from __future__ import annotations

import csv
import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from console.forms.audit import AuditFilterForm, visible_entries
from console.models import AuditEntry

EXPORT_FIELDS = (
    "time",
    "username",
    "cluster",
    "namespace",
    "kind",
    "name",
    "action",
    "outcome",
    "error",
    "request_id",
    "diff",
)


def _row(entry: AuditEntry) -> list[str]:
    return [entry.time.isoformat() if f == "time" else str(getattr(entry, f)) for f in EXPORT_FIELDS]


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def audit_list(request: HttpRequest) -> HttpResponseBase:
    form = AuditFilterForm(request.GET or None)
    entries = form.filter(visible_entries(request.user))
    export = request.GET.get("format")
    if export == "csv":
        writer = csv.writer(_Echo())
        rows = (writer.writerow(r) for r in [list(EXPORT_FIELDS)] + [_row(e) for e in entries.iterator()])
        stream = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        stream["Content-Disposition"] = 'attachment; filename="emqx-console-audit.csv"'
        return stream
    if export == "json":
        data = [dict(zip(EXPORT_FIELDS, _row(e), strict=True)) for e in entries.iterator()]
        response = HttpResponse(json.dumps(data, indent=1), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="emqx-console-audit.json"'
        return response
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "console/audit/list.html", {"form": form, "page": page, "query": request.GET.urlencode()})
