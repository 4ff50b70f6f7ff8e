"""Inline edits of a number's label and inbound agent, and bulk agent assignment.

Every write goes through ``services`` (compare-and-set plus audit entry). A
form with errors or a conflict comes back as 200 with the message in it
(htmx does not swap 4xx); a user without the change permission gets 403.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agents.models import Agent
from audit.models import AuditEntry, Source
from audit.queries import last_change
from audit.services import Actor
from console.access import staff_view
from console.forms.number_edits import AgentForm, BulkAgentForm, LabelForm
from console.forms.numbers import NumberFilterForm
from console.number_rows import number_rows, render_rows
from console.numbers import inventory_context
from phone_numbers import queries, services
from phone_numbers.models import PhoneNumber

VIEW = "numbers.view_phonenumber"
CHANGE = "numbers.change_phonenumber"
AGENT_CHOICES_LIMIT = 50


def _number(pk: Any) -> PhoneNumber:
    number = (
        PhoneNumber.objects.select_related("user", "inbound_agent", "telephony_account_connection")
        .defer("telephony_account_connection__credentials")
        .filter(pk=pk)
        .first()
    )
    if number is None:
        raise Http404("No such number.")
    return number


def agent_choices(number: PhoneNumber, q: str = "") -> list[Agent]:
    """The owner's agents a number may route to, searchable by name."""
    agents = Agent.objects.filter(user_id=number.user_id).only("id", "name", "language")
    if q:
        agents = agents.filter(name__icontains=q)
    return list(agents.order_by("name", "id")[:AGENT_CHOICES_LIMIT])


def _render(
    request: HttpRequest,
    number: PhoneNumber,
    *,
    slot: str,
    field: str,
    form: Any = None,
    conflict: AuditEntry | None = None,
    saved: bool = False,
) -> HttpResponse:
    """The edited number for its slot: the table row, or the panel's field."""
    context = {
        "n": number,
        "number": number,
        "slot": slot,
        "field": field,
        "form": form,
        "editing": field if form is not None else "",
        "conflict": conflict,
        "saved": saved,
        "can_edit": request.user.has_perm(CHANGE),
        "list_url": reverse("numbers:list"),
        "choices": agent_choices(number) if form is not None and field == "agent" else [],
    }
    if slot == "row" or saved:
        # The table row, with the form in its cell while editing.
        editing = field if form is not None and slot == "row" else ""
        editing_html = (
            render_to_string(f"numbers/_{field}_form.html", context, request) if editing else ""
        )
        context["row_html"] = render_rows(
            number_rows([number]),
            can_edit=context["can_edit"],
            editing=editing,
            editing_html=editing_html,
            saved=saved,
            oob=saved and slot == "panel",
        )
    template = "numbers/_row.html" if slot == "row" else f"numbers/_panel_{field}.html"
    return render(request, template, context)


def _slot(request: HttpRequest) -> str:
    return "panel" if request.GET.get("slot", request.POST.get("slot")) == "panel" else "row"


@require_GET
@staff_view(VIEW, CHANGE)
def edit_field(request: HttpRequest, pk: Any, field: str) -> HttpResponse:
    """The edit form, with the number's current version."""
    number = _number(pk)
    form_class = LabelForm if field == "label" else AgentForm
    initial = {
        "version": number.version,
        "slot": _slot(request),
        "label": number.label,
        "agent": str(number.inbound_agent_id or "none"),
    }
    form = (
        form_class(initial=initial)
        if field == "label"
        else form_class(initial=initial, number=number)
    )
    return _render(request, number, slot=_slot(request), field=field, form=form)


@require_GET
@staff_view(VIEW)
def show_field(request: HttpRequest, pk: Any, field: str) -> HttpResponse:
    """The field as displayed (Esc / Cancel)."""
    return _render(request, _number(pk), slot=_slot(request), field=field)


@require_GET
@staff_view(VIEW, CHANGE)
def agent_options(request: HttpRequest, pk: Any) -> HttpResponse:
    number = _number(pk)
    return render(
        request,
        "numbers/_agent_options.html",
        {
            "choices": agent_choices(number, request.GET.get("agent_q", "").strip()),
            "current": str(number.inbound_agent_id or ""),
        },
    )


@require_POST
@staff_view(VIEW, CHANGE)
def save_field(request: HttpRequest, pk: Any, field: str) -> HttpResponse:
    number = _number(pk)
    form = LabelForm(request.POST) if field == "label" else AgentForm(request.POST, number=number)
    slot = _slot(request)
    if not form.is_valid():
        return _render(request, number, slot=slot, field=field, form=form)
    value = form.cleaned_data["label" if field == "label" else "agent"]
    changes = {"label": value} if field == "label" else {"inbound_agent": value}
    try:
        services.phone_number_update(
            number=number,
            changes=changes,
            actor=Actor.for_request(request, Source.DASHBOARD),
            expected_version=form.cleaned_data["version"],
        )
    except services.VersionConflict as conflict:
        current = _number(pk)
        data = request.POST.copy()
        data["version"] = str(conflict.current.version)  # "save mine anyway" re-applies
        retry = LabelForm(data) if field == "label" else AgentForm(data, number=current)
        retry.is_valid()
        return _render(
            request, current, slot=slot, field=field, form=retry, conflict=last_change(current)
        )
    except services.ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
        return _render(request, number, slot=slot, field=field, form=form)
    return _render(request, _number(pk), slot=slot, field=field, saved=True)


@require_http_methods(["GET"])
@staff_view(VIEW, CHANGE)
def bulk_agent_options(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("agent_q", "").strip()
    agents = Agent.objects.select_related("user").only("id", "name", "user__email")
    if q:
        agents = agents.filter(name__icontains=q)
    return render(
        request,
        "numbers/_bulk_agent_options.html",
        {"agents": agents.order_by("name", "id")[:AGENT_CHOICES_LIMIT]},
    )


@require_POST
@staff_view(VIEW, CHANGE)
def bulk_assign_agent(request: HttpRequest) -> HttpResponse:
    """Assign one agent (or none) to the selected numbers, or to all that match."""
    filters_form = NumberFilterForm(request.POST)
    form = BulkAgentForm(request.POST)
    message, error = "", ""
    if not form.is_valid():
        error = " ".join(e for errors in form.errors.values() for e in errors)
    else:
        if form.cleaned_data["all"]:
            sort, desc = filters_form.sort
            targets: Any = queries.inventory(
                filters=filters_form.filters(), sort=sort, desc=desc
            ).values_list("pk", flat=True)
        else:
            targets = request.POST.getlist("ids")
        agent = form.cleaned_data["assign_agent"]
        try:
            count = services.phone_numbers_assign_agent(
                numbers=list(targets),
                agent=agent,
                actor=Actor.for_request(request, Source.BULK),
            )
        except services.BulkRejected as exc:
            error = str(exc)
        except services.ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            name = agent.name if agent else "no agent"
            message = f"Routed {count} number{'s' if count != 1 else ''} to {name}."
    context = inventory_context(request, filters_form)
    context.update(bulk_message=message, bulk_error=error)
    return render(request, "numbers/_table.html", context)
