"""Dashboard pages of the inventory: list, detail panel and CSV export."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from audit.queries import history_for
from console.access import staff_view
from console.csvexport import csv_response, csv_safe
from console.forms.numbers import NumberFilterForm
from console.lists import (
    PAGE_SIZES,
    Chip,
    list_page,
    query_ending_with,
    sort_headers,
    wants_fragment,
)
from console.number_fields import panel_cells
from console.number_rows import number_rows, render_rows
from phone_numbers import queries
from phone_numbers.health import HEALTH_FINDINGS, findings_for
from phone_numbers.models import PROVIDER_CONNECTION_TYPES, PhoneNumber, TelephonyProvider
from phone_numbers.queries import CONNECTION_ROLES
from users.models import User

COLUMNS = [
    ("number", "Number"),
    ("label", "Label"),
    ("owner", "Owner"),
    ("agent", "Inbound agent"),
    ("telephony_provider", "Provider"),
    ("", "Connection"),
    ("active", "Active"),
    ("outbound_only", "Outbound only"),
    ("updated_at", "Updated"),
]


def _chips(form: NumberFilterForm) -> list[Chip]:
    """The filters in force, each with its display value (one small query, the
    owner's; the agent, prompt, webhook and connection were read by the form)."""
    f = form.filters()
    chips = []
    if f.q:
        chips.append(Chip("Search", f.q, "q"))
    if f.owner is not None:
        owner = User.objects.filter(pk=f.owner).values_list("email", flat=True).first()
        chips.append(Chip("Owner", owner or "unknown account", "owner"))
    if f.agent is not None:
        chips.append(Chip("Agent", f.agent.name, "agent"))
    if f.prompt is not None:
        chips.append(Chip("Prompt", str(f.prompt), "prompt"))
    if f.webhook is not None:
        chips.append(Chip("Webhook", str(f.webhook), "webhook"))
    if f.connection is not None:
        chips.append(Chip("Connection", str(f.connection), "connection"))
        if f.connection_role:
            chips.append(Chip("Used for", CONNECTION_ROLES[f.connection_role], "connection_role"))
    if f.provider:
        chips.append(Chip("Provider", TelephonyProvider(f.provider).label, "provider"))
    if f.active is not None:
        chips.append(Chip("Active", "yes" if f.active else "no", "active"))
    if f.outbound_only is not None:
        chips.append(Chip("Outbound only", "yes" if f.outbound_only else "no", "outbound"))
    if f.language:
        chips.append(
            Chip("Language", dict(form.fields["language"].choices)[f.language], "language")
        )
    if f.health:
        chips.append(Chip("Health", HEALTH_FINDINGS[f.health].label, "health"))
    return chips


def inventory_context(
    request: HttpRequest, form: NumberFilterForm, *, selected: Collection[str] = ()
) -> dict[str, Any]:
    """What the table fragment shows: used by the list and by bulk edits (whose
    selection, ``selected`` ids, stays ticked)."""
    sort, desc = form.sort
    can_edit = request.user.has_perm("numbers.change_phonenumber")
    queryset = queries.inventory(filters=form.filters(), sort=sort, desc=desc)
    page = list_page(queryset, form)
    columns = [("", ""), *COLUMNS] if can_edit else COLUMNS
    return {
        "form": form,
        "page": page,
        "rows_html": render_rows(
            number_rows(page.items, selected=selected),
            can_edit=can_edit,
            owner_query=query_ending_with(request, "owner"),
            health_query=query_ending_with(request, "health"),
        ),
        "headers": sort_headers(columns, sort, desc),
        "chips": _chips(form),
        "page_sizes": PAGE_SIZES,
        "can_edit": can_edit,
    }


def inventory_response(
    request: HttpRequest, form: NumberFilterForm, *, fragment: bool, **extra: Any
) -> HttpResponse:
    """The inventory's table fragment, or the whole page; ``extra`` goes to the
    template (a bulk step, the selection it carries: ``console.number_bulk``)."""
    context = {**inventory_context(request, form, selected=extra.get("selected", ())), **extra}
    if fragment:
        return render(request, "numbers/_table.html", context)
    context["owners"] = User.objects.filter(is_staff=False).only("id", "email").order_by("email")
    return render(request, "numbers/list.html", context)


@require_GET
@staff_view("numbers.view_phonenumber")
@vary_on_headers("HX-Request")
def inventory(request: HttpRequest) -> HttpResponse:
    form = NumberFilterForm(request.GET)
    return inventory_response(request, form, fragment=wants_fragment(request))


def detail_context(request: HttpRequest, number: PhoneNumber) -> dict[str, Any]:
    """What the detail page and panel show of a number read by ``phone_number_detail``
    (an edit without JavaScript shows it too, with one cell's form in place)."""
    conn = number.telephony_account_connection
    return {
        "number": number,
        "agent": number.inbound_agent,
        "findings": findings_for(number),
        # Which part of a "Misconfigured connection" is the telephony connection's.
        "connection_mismatch": conn is not None
        and conn.type not in PROVIDER_CONNECTION_TYPES.get(number.telephony_provider, ()),
        "panel_cells": panel_cells(number, request.user),  # the fields edited in place
        "history": history_for(number),
    }


@require_GET
@staff_view("numbers.view_phonenumber", "agents.view_agent", "agents.view_accountconnection")
@vary_on_headers("HX-Request")
def detail(request: HttpRequest, pk: Any) -> HttpResponse:
    number = queries.phone_number_detail(pk=pk)
    if number is None:
        raise Http404("No such number.")
    context = detail_context(request, number)
    if wants_fragment(request):
        return render(request, "numbers/_detail.html", {**context, "as_panel": True})
    return render(request, "numbers/detail.html", context)


CSV_HEADER = [
    "number",
    "label",
    "owner",
    "inbound_agent",
    "agent_language",
    "provider",
    "telephony_connection",
    "active",
    "outbound_only",
    "description",
    "updated_at",
    "id",
]


CSV_COLUMNS = (
    "number",
    "label",
    "user__email",
    "inbound_agent__name",
    "inbound_agent__language",
    "telephony_provider",
    "telephony_account_connection__label",
    "active",
    "outbound_only",
    "description",
    "updated_at",
    "id",
)


def csv_rows(queryset: Any) -> Iterator[list[str]]:
    """Plain tuples, not model instances: a million rows stream at tens of thousands a second."""
    yield CSV_HEADER
    rows = queryset.values_list(*CSV_COLUMNS)
    for (
        number,
        label,
        email,
        agent,
        language,
        provider,
        conn,
        active,
        outbound,
        description,
        updated_at,
        pk,
    ) in rows.iterator(chunk_size=5000):
        # Only text can start a formula: flags, timestamps and ids are written as they are.
        yield [
            csv_safe(number),
            csv_safe(label),
            csv_safe(email),
            csv_safe(agent),
            language or "",
            provider,
            csv_safe(conn),
            "yes" if active else "no",
            "yes" if outbound else "no",
            csv_safe(description),
            updated_at.isoformat(),
            pk,
        ]


@require_GET
@staff_view("numbers.view_phonenumber")
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every number of the current filtered, sorted view, streamed (all pages)."""
    form = NumberFilterForm(request.GET)
    sort, desc = form.sort
    queryset = queries.inventory(filters=form.filters(), sort=sort, desc=desc)
    return csv_response(csv_rows(queryset), "numbers")
