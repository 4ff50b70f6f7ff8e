"""/audit/: the whole trail, filtered, searchable, exportable. Read-only."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from audit.models import AuditEntry
from audit.queries import audit_trail
from console.access import staff_view
from console.csvexport import csv_response, csv_safe
from console.forms.audit import AuditFilterForm
from console.lists import PAGE_SIZES, list_page, wants_fragment

# The console page of each object type that has one.
OBJECT_PAGES = {
    "numbers.phonenumber": "numbers:detail",
    "agents.agent": "agents:detail",
    "agents.webhook": "agents:webhook",
    "agents.accountconnection": "agents:connection",
}


def object_url(entry: AuditEntry) -> str | None:
    """Where an entry's object lives in the console (None when it has no page)."""
    name = OBJECT_PAGES.get(entry.object_type)
    if name is None or entry.action == "delete":
        return None
    try:
        return reverse(name, args=[entry.object_id])
    except NoReverseMatch:
        return None


@require_GET
@staff_view("audit.view_auditentry")
@vary_on_headers("HX-Request")
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    page = list_page(audit_trail(form.filters()), form)
    rows = [(entry, object_url(entry)) for entry in page.items]
    context = {"form": form, "page": page, "rows": rows, "page_sizes": PAGE_SIZES}
    if wants_fragment(request):
        return render(request, "audit/_table.html", context)
    return render(request, "audit/list.html", context)


@require_GET
@staff_view("audit.view_auditentry")
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    form = AuditFilterForm(request.GET)
    entries = audit_trail(form.filters())

    def rows():
        yield [
            "created_at",
            "actor",
            "source",
            "request_id",
            "action",
            "object_type",
            "object_id",
            "object",
            "changes",
        ]
        for e in entries.iterator(chunk_size=2000):
            yield [
                csv_safe(v)
                for v in (
                    e.created_at.isoformat(),
                    e.actor_label,
                    e.source,
                    e.request_id,
                    e.action,
                    e.object_type,
                    e.object_id,
                    e.object_label,
                    json.dumps(e.changes, ensure_ascii=False, sort_keys=True),
                )
            ]

    return csv_response(rows(), "audit")
