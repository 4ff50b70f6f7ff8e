"""/audit/: the whole trail, filtered, searchable, exportable. Read-only."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from core.access import staff_view
from core.csvexport import csv_response, csv_safe
from core.lists import PAGE_SIZES, list_page, wants_fragment

from .forms import AuditFilterForm
from .queries import audit_trail, object_url


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
