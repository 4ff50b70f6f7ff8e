"""/audit/: the whole trail, filtered, searchable, exportable; and reverting a number's entry.

The trail is read-only. A revert is a new change (``phone_numbers.services.
phone_number_revert``): a plain POST form with a reason, answered with the
number's page, or with this page again naming what stands in the way (a
conflict, a refusal, a bad reason) as 200, like every console form.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from audit.models import AuditEntry, Source
from audit.queries import audit_trail
from audit.services import Actor
from console.access import staff_view
from console.csvexport import csv_response, csv_safe
from console.forms.audit import AuditFilterForm, RevertForm
from console.history import (
    CHANGE_NUMBERS,
    NUMBER,
    ReadableEntry,
    field_label,
    readable_entries,
    readable_value,
)
from console.lists import PAGE_SIZES, list_page, wants_fragment
from phone_numbers import queries, services
from phone_numbers.models import PhoneNumber

VIEW_AUDIT = "audit.view_auditentry"


@require_GET
@staff_view(VIEW_AUDIT)
@vary_on_headers("HX-Request")
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    page = list_page(audit_trail(form.filters()), form)
    context = {
        "form": form,
        "page": page,
        "entries": readable_entries(page.items, request.user),
        "page_sizes": PAGE_SIZES,
    }
    if wants_fragment(request):
        return render(request, "audit/_table.html", context)
    return render(request, "audit/list.html", context)


@require_GET
@staff_view(VIEW_AUDIT)
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
            "reason",
            "id",
            "reverts",
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
                    e.reason,
                    e.pk,
                    e.reverts_id or "",
                )
            ]

    return csv_response(rows, "audit")


def _number_of(entry: AuditEntry) -> PhoneNumber | None:
    """The number an entry is about, as it is now (None: not a number's entry, or gone)."""
    if entry.object_type != NUMBER:
        return None
    try:
        pk = uuid.UUID(entry.object_id)
    except ValueError:
        return None
    return queries.phone_number_detail(pk=pk)


def _differences(differences: list[services.Difference]) -> list[dict[str, Any]]:
    return [
        {
            "label": field_label(PhoneNumber, d.field),
            "recorded": readable_value(PhoneNumber, d.field, d.recorded),
            "current": readable_value(PhoneNumber, d.field, d.current),
        }
        for d in differences
    ]


def _check(number: PhoneNumber | None, entry: AuditEntry) -> tuple[str, list[dict[str, Any]]]:
    """What stands in the way of reverting ``entry`` now: a refusal, or the differences."""
    if number is None and entry.object_type == NUMBER:
        return "The number no longer exists.", []
    if number is None:
        return services.revert_refusal(entry) or "Only a number's changes can be reverted.", []
    try:
        services.revert_changes(number=number, entry=entry)
    except services.RevertRefused as refused:
        return str(refused), []
    except services.RevertConflict as conflict:
        return "", _differences(conflict.differences)
    return "", []


@require_http_methods(["GET", "POST"])
@staff_view(VIEW_AUDIT, "numbers.view_phonenumber", CHANGE_NUMBERS)
def revert_entry(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what reverting entry ``pk`` would write, and the form. POST: revert it."""
    entry = get_object_or_404(AuditEntry, pk=pk)
    number = _number_of(entry)
    form = RevertForm(request.POST if request.method == "POST" else None)
    refusal, differences = _check(number, entry)
    ready = number is not None and not refusal and not differences
    if request.method == "POST" and ready and form.is_valid():
        actor = Actor.for_request(request, Source.DASHBOARD, reason=form.cleaned_data["reason"])
        try:
            services.phone_number_revert(number=number, entry=entry, actor=actor)
        except services.VersionConflict:
            # Written in between the check and the write: say what differs now.
            refusal, differences = _check(_number_of(entry), entry)
            refusal = refusal or (
                "" if differences else "The number changed meanwhile: review and try again."
            )
        except services.RevertRefused as refused:
            refusal = str(refused)
        except services.ValidationError as exc:
            refusal = " ".join(exc.messages)
        else:
            messages.success(request, f"Reverted entry #{entry.pk}.")
            return redirect(reverse("numbers:detail", args=[number.pk]) + "#history")
    readable: ReadableEntry = readable_entries([entry], request.user)[0]
    context = {
        "e": readable,
        "number": number,
        "form": form,
        "refusal": refusal,
        "differences": differences,
    }
    return render(request, "audit/revert.html", context)
