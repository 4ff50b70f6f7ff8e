"""Inline edits of a number's fields.

The edited fields are declared in ``console.number_fields``; the views look a
field up by the key its route passes. Every write goes through ``services``
(compare-and-set plus audit entry, with the reason the form gave). A form with
errors or a conflict comes back as 200 with the message in it (htmx does not
swap 4xx); a user without the field's permission gets 403.

With htmx an edit happens in place (the row's cell, the panel's cell). Without
JavaScript the same routes are plain pages: an edit link opens the number's
detail page with the field's form in its cell, the form posts, and a save
answers with a redirect to the detail page and a message (errors and conflicts:
the detail page with the form again).

The number is read once per htmx request: a save updates the loaded number in
place (version and updated_at included), and a conflict carries the current row.

An edit response renders in Jinja2 alone (``numbers/_edit.jinja``), because
most of them carry the table row, and the row's markup is the Jinja2 template
the inventory renders its pages with (speed: docs/benchmarks.md). Rendering
the responses with Django templates would need a second copy of the row; the
detail panel's cells, which the Django detail page shows too, are built once
in Python (``InlineField.panel_cell``), and the detail page without JavaScript
shows the form rendered by Jinja2 as one value.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from audit.models import AuditEntry, Source
from audit.queries import last_change
from audit.services import Actor
from console.access import staff_view
from console.forms.number_edits import AgentForm, EditForm
from console.links import pk_url
from console.number_cells import PageLinks
from console.number_fields import INLINE_FIELDS, InlineField, panel_cells
from console.number_rows import number_rows, table_rows
from console.numbers import detail_context
from console.queries import columns_of_page
from console.times import time_tag
from phone_numbers import phone, queries, services
from phone_numbers.models import PhoneNumber

VIEW = "numbers.view_phonenumber"
CHANGE = "numbers.change_phonenumber"
# The detail page (an edit without JavaScript) shows the number's agent and connection.
DETAIL = (VIEW, "agents.view_agent", "agents.view_accountconnection")
# What a row, a panel cell, a form and the save read beyond the number itself.
LINKS = ("user", "inbound_agent", "telephony_account_connection")


def _load(pk: Any) -> PhoneNumber:
    """The number with everything its row (health badges included), its panel
    cells, its forms and the service read, in one query; secrets deferred."""
    queryset = PhoneNumber.objects.select_related(
        "user", "inbound_agent__openai_account_connection", "telephony_account_connection"
    ).defer(
        "telephony_account_connection__credentials",
        "inbound_agent__openai_account_connection__credentials",
    )
    return get_object_or_404(queryset, pk=pk)


def _links(number: PhoneNumber) -> dict[str, Model | None]:
    return {name: getattr(number, name) for name in LINKS}


def _with_links(current: PhoneNumber, loaded: dict[str, Model | None]) -> PhoneNumber:
    """``current`` (the service's plain read of the row at a conflict) given the
    linked objects this request loaded wherever a link still points at them: only
    a link someone else changed is read again, when shown."""
    for name, obj in loaded.items():
        if getattr(current, PhoneNumber._meta.get_field(name).attname) == getattr(obj, "pk", None):
            setattr(current, name, obj)
    return current


def _field(request: HttpRequest, key: str, *, to_edit: bool) -> InlineField:
    """The declared field for ``key`` (404 if none); 403 without its permission to edit."""
    field = INLINE_FIELDS.get(key)
    if field is None:
        raise Http404("No such field.")
    if to_edit and not request.user.has_perm(field.permission):
        raise PermissionDenied("Your account may not change this field.")
    return field


def _slot(request: HttpRequest) -> str:
    return "panel" if request.GET.get("slot", request.POST.get("slot")) == "panel" else "row"


def _form(field: InlineField, number: PhoneNumber, slot: str, value: Any) -> EditForm:
    """An unbound form of ``field`` at the number's current version, showing ``value``."""
    initial = {"version": number.version, "slot": slot, field.key: value}
    return field.form_class(initial=initial, number=number)


def _form_context(
    field: InlineField,
    number: PhoneNumber,
    *,
    slot: str,
    form: EditForm | None,
    conflict: AuditEntry | None,
) -> dict[str, Any]:
    """What ``numbers/_edit_form.jinja`` needs (and ``_edit.jinja`` around it)."""
    return {
        "field": field,
        "n": number,
        "display": phone.display(number.number),
        "slot": slot,
        "form": form,
        "conflict": conflict,
        "conflict_at": time_tag(conflict.created_at, seconds=True) if conflict else "",
        "url": pk_url,
    }


def _shown_with(request: HttpRequest, name: str, number: PhoneNumber) -> bool:
    """Does the page the edit came from show ``number`` elsewhere? The edit form
    includes the open panel's ``panel_of`` or the row's ``row_of`` marker when they
    are on the page (hx-include): an out-of-band part goes only where it has a
    target, or htmx logs ``htmx:oobErrorNoTarget``."""
    return request.POST.get(name) == str(number.pk)


def _respond(
    request: HttpRequest,
    field: InlineField,
    number: PhoneNumber,
    *,
    slot: str,
    form: EditForm | None = None,
    conflict: AuditEntry | None = None,
    saved: bool = False,
    columns: tuple[str, ...] | None = None,
) -> HttpResponse:
    """The edited number for its slot: the table row (with the form in the field's
    cell while editing), or the panel's cell; a save updates the other out of band,
    if the page shows it."""
    user = request.user
    panel_follows = saved and slot == "row" and _shown_with(request, "panel_of", number)
    row_follows = saved and slot == "panel" and _shown_with(request, "row_of", number)
    can_edit = user.has_perm(CHANGE)
    rows = []
    if slot == "row" or row_follows:  # the row (numbers/_rows.jinja), for one number
        links = PageLinks(can_edit, reverse("numbers:list"))
        rows = table_rows(number_rows([number]), columns or columns_of_page(request), links)
    context = {
        **_form_context(field, number, slot=slot, form=form, conflict=conflict),
        "saved": saved,
        "rows": rows,
        "can_edit": can_edit,
        "editing": field.key if form is not None and slot == "row" else "",
        "oob": row_follows,
        # The panel's cell of this field, or every cell after a row save.
        "panel_cell": (
            field.panel_cell(number, can_edit=user.has_perm(field.permission))
            if slot == "panel" and form is None
            else ""
        ),
        "panel_cells": panel_cells(number, user) if panel_follows else [],
    }
    return render(request, "numbers/_edit.jinja", context, using="jinja2")


def _page(
    request: HttpRequest,
    field: InlineField,
    pk: Any,
    form: EditForm,
    *,
    conflict: AuditEntry | None = None,
) -> HttpResponse:
    """Without JavaScript: the number's detail page with ``field``'s form in its cell."""
    if not request.user.has_perms(DETAIL):
        raise PermissionDenied("Your account may not view this page.")
    number = queries.phone_number_detail(pk=pk)
    if number is None:
        raise Http404("No such number.")
    context = detail_context(request, number)
    editing = _form_html(request, field, form.number, form, conflict=conflict)
    context["panel_cells"] = [
        (f, editing if f is field else cell) for f, cell in context["panel_cells"]
    ]
    return render(request, "numbers/detail.html", context)


def _form_html(
    request: HttpRequest,
    field: InlineField,
    number: PhoneNumber,
    form: EditForm,
    *,
    conflict: AuditEntry | None,
) -> SafeString:
    """The field's form (Jinja2, as in place), as one value for the Django detail page."""
    html = render_to_string(
        "numbers/_edit_form.jinja",
        _form_context(field, number, slot="panel", form=form, conflict=conflict),
        request=request,
        using="jinja2",
    )
    return mark_safe(html)  # noqa: S308 - autoescaped by the Jinja2 environment


@require_GET
@staff_view(VIEW)
@vary_on_headers("HX-Request")
def edit_field(request: HttpRequest, pk: Any, key: str) -> HttpResponse:
    """The edit form, with the number's current version: in place (htmx), or the
    detail page with the form in the field's cell (a plain link)."""
    field = _field(request, key, to_edit=True)
    number = _load(pk)
    if not request.htmx:
        return _page(request, field, pk, _form(field, number, "panel", field.initial(number)))
    slot = _slot(request)
    form = _form(field, number, slot, field.initial(number))
    return _respond(request, field, number, slot=slot, form=form)


@require_GET
@staff_view(VIEW)
@vary_on_headers("HX-Request")
def show_field(request: HttpRequest, pk: Any, key: str) -> HttpResponse:
    """The field as displayed (Esc / Cancel); without htmx, the detail page."""
    field = _field(request, key, to_edit=False)
    if not request.htmx:
        return HttpResponseRedirect(pk_url("numbers:detail", pk))
    return _respond(request, field, _load(pk), slot=_slot(request))


@require_POST
@staff_view(VIEW)
def save_field(request: HttpRequest, pk: Any, key: str) -> HttpResponse:
    """Save the field if the number is still at the form's version (with the form's
    reason); htmx gets the saved row or cell, a plain post a redirect (PRG)."""
    field = _field(request, key, to_edit=True)
    number = _load(pk)
    slot = _slot(request)
    form = field.form_class(request.POST, number=number)
    if not form.is_valid():
        return _answer(request, field, number, slot=slot, form=form)
    read = _links(number)  # before the service sets the new value on ``number``
    # The columns its row shows, read before the write (nothing is read after it).
    columns = columns_of_page(request) if request.htmx else None
    try:
        number = services.phone_number_update(
            number=number,
            changes=field.changes(form.cleaned_data[field.key]),
            actor=Actor.for_request(request, Source.DASHBOARD, form.cleaned_data["reason"]),
            expected_version=form.cleaned_data["version"],
        )
    except services.VersionConflict as conflict:
        current = _with_links(conflict.current, read)
        # "Save mine anyway": the value as typed, at the current version.
        retry = _form(field, current, slot, form.data.get(field.key, ""))
        retry.initial["reason"] = form.cleaned_data["reason"]
        conflict_entry = last_change(current)
        return _answer(request, field, current, slot=slot, form=retry, conflict=conflict_entry)
    except services.ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
        return _answer(request, field, number, slot=slot, form=form)
    if not request.htmx:
        messages.success(request, f"{field.title} of {phone.display(number.number)} saved.")
        response = HttpResponseRedirect(pk_url("numbers:detail", number.pk))
        response.status_code = 303  # See Other: the browser GETs the detail page
        return response
    return _respond(request, field, number, slot=slot, saved=True, columns=columns)


def _answer(
    request: HttpRequest,
    field: InlineField,
    number: PhoneNumber,
    *,
    slot: str,
    form: EditForm,
    conflict: AuditEntry | None = None,
) -> HttpResponse:
    """A form that did not save (errors, a search, a confirmation to give, a conflict):
    in place with htmx, else the detail page with the form."""
    if not request.htmx:
        return _page(request, field, number.pk, form, conflict=conflict)
    return _respond(request, field, number, slot=slot, form=form, conflict=conflict)


@require_GET
@staff_view(VIEW)
def agent_options(request: HttpRequest, pk: Any) -> HttpResponse:
    """The agent picker's options for a search (the ``agent`` field's search box); the
    agent chosen in the list (``agent``) stays chosen while the search shows it."""
    _field(request, "agent", to_edit=True)
    number = get_object_or_404(
        PhoneNumber.objects.select_related("inbound_agent").only(
            "user", "inbound_agent__name", "inbound_agent__language"
        ),
        pk=pk,
    )
    q = request.GET.get("agent_q", "").strip()
    choices = AgentForm(number=number).choices(q)
    chosen = request.GET.get("agent", "")
    if chosen != "none" and chosen not in {str(a.pk) for a in choices}:
        chosen = ""
    return render(
        request,
        "numbers/_agent_options.jinja",
        {"choices": choices, "current": chosen, "q": q},
        using="jinja2",
    )
