"""Saved views of the inventory and its column chooser (``console.models``).

A view is a name for an inventory query string: the list links to
``/numbers/?<query>``, so opening one is one click and a bookmark still works.
Saving, renaming, sharing and deleting go through ``console.services`` (audited,
compare-and-set); the column chooser stores the user's ``ColumnChoice``. All are
plain forms that answer with a redirect, or with the page and its errors (200).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import Source
from audit.services import Actor
from console import services
from console.access import staff_view
from console.forms.numbers import NumberFilterForm
from console.forms.saved_views import ColumnsForm, DeleteViewForm, EditViewForm, SaveViewForm
from console.models import SavedView
from console.numbers import inventory_response
from console.queries import column_choice, saved_view_for

VIEW = "numbers.view_phonenumber"


def _list_url(query: str) -> str:
    url = reverse("numbers:list")
    return f"{url}?{query}" if query else url


def _inventory_with(request: HttpRequest, query: str, **forms: Any) -> HttpResponse:
    """The inventory of ``query`` with a form's errors beside it (a POST has no query
    string of its own: the list's links and forms are built from ``query``)."""
    request.GET = QueryDict(query)
    return inventory_response(request, NumberFilterForm(request.GET), fragment=False, **forms)


def _errors_into(form: Any, exc: ValidationError) -> None:
    for field, problems in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


@require_POST
@staff_view(VIEW)
def view_save(request: HttpRequest) -> HttpResponse:
    """Save the list as it is (filters, search, sort, columns) under a name."""
    form = SaveViewForm(request.POST)
    query = str(request.POST.get("query", ""))[:4000].lstrip("?")
    if form.is_valid():
        try:
            view = services.saved_view_create(
                actor=Actor.for_request(request, Source.DASHBOARD),
                name=form.cleaned_data["name"],
                query=query,
                columns=NumberFilterForm(QueryDict(query)).value("cols")
                or column_choice(request.user),
                shared=form.cleaned_data["shared"],
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"Saved the view “{view.name}”.")
            return HttpResponseRedirect(_list_url(view.query), status=303)
    return _inventory_with(request, query, save_form=form)


def _managed_view(request: HttpRequest, pk: Any) -> SavedView:
    """A view the user may open (404 otherwise) and change (403 otherwise)."""
    view = saved_view_for(request.user, pk)
    if view is None:
        raise Http404("No such view.")
    if not services.can_manage(request.user, view):
        raise PermissionDenied("Only its creator or a number admin can change this view.")
    return view


def _edit_page(
    request: HttpRequest,
    view: SavedView,
    form: EditViewForm | None = None,
    conflict: str = "",
) -> HttpResponse:
    form = form or EditViewForm(
        initial={"name": view.name, "shared": view.shared, "version": view.version}
    )
    return render(
        request,
        "numbers/view_edit.html",
        {
            "view": view,
            "form": form,
            "conflict": conflict,
            "open_url": _list_url(view.query),
            "delete_form": DeleteViewForm(initial={"version": view.version}),
        },
    )


CONFLICT = (
    "Someone changed this view since you opened it: this is how it is now. Nothing was saved."
)


@require_http_methods(["GET", "POST"])
@staff_view(VIEW)
def view_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    """Rename, share or unshare a view (its creator; number admins for shared ones)."""
    view = _managed_view(request, pk)
    if request.method == "GET":
        return _edit_page(request, view)
    form = EditViewForm(request.POST)
    if not form.is_valid():
        return _edit_page(request, view, form)
    try:
        services.saved_view_update(
            actor=Actor.for_request(request, Source.DASHBOARD),
            view=view,
            expected_version=form.cleaned_data["version"],
            name=form.cleaned_data["name"],
            shared=form.cleaned_data["shared"],
        )
    except services.VersionConflict as exc:
        return _edit_page(request, exc.current, conflict=CONFLICT)
    except ValidationError as exc:
        _errors_into(form, exc)
        return _edit_page(request, view, form)
    messages.success(request, f"Saved the view “{view.name}”.")
    return HttpResponseRedirect(_list_url(view.query), status=303)


@require_POST
@staff_view(VIEW)
def view_delete(request: HttpRequest, pk: Any) -> HttpResponse:
    view = _managed_view(request, pk)
    form = DeleteViewForm(request.POST)
    if not form.is_valid():
        return _edit_page(request, view, conflict="Open the view's page again to delete it.")
    try:
        services.saved_view_delete(
            actor=Actor.for_request(request, Source.DASHBOARD),
            view=view,
            expected_version=form.cleaned_data["version"],
        )
    except services.VersionConflict as exc:
        return _edit_page(request, exc.current, conflict=CONFLICT)
    messages.success(request, f"Deleted the view “{view.name}”.")
    return HttpResponseRedirect(reverse("numbers:list"), status=303)


@require_http_methods(["GET", "POST"])
@staff_view(VIEW)
def columns(request: HttpRequest) -> HttpResponse:
    """The column chooser: GET is the inventory with it open; POST remembers the
    choice and goes back to the list (without a link's own ``?cols=``, so the
    choice shows)."""
    if request.method == "GET":
        return _inventory_with(request, request.GET.urlencode(), columns_form=ColumnsForm())
    form = ColumnsForm(request.POST)
    query = QueryDict(str(request.POST.get("next", ""))[:4000], mutable=True)
    query.pop("cols", None)
    if not form.is_valid():
        return _inventory_with(request, query.urlencode(), columns_form=form)
    services.column_choice_save(user=request.user, columns=form.chosen())
    return HttpResponseRedirect(_list_url(query.urlencode()), status=303)
