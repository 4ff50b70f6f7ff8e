"""Dashboard pages of the inventory: list, detail panel and CSV export."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import F, Func, TextField
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from audit.queries import history_for
from console.access import staff_view
from console.csvexport import csv_response, csv_safe
from console.forms.numbers import NumberFilterForm
from console.forms.saved_views import ColumnsForm, SaveViewForm
from console.lists import (
    PAGE_SIZES,
    Chip,
    list_page,
    query_ending_with,
    sort_headers,
    wants_fragment,
)
from console.number_columns import COLUMNS, DEFAULT_COLUMNS, csv_fields, header_columns
from console.number_fields import panel_cells
from console.number_rows import number_rows, render_rows
from console.queries import (
    COLUMNS_HEADER,
    ViewLink,
    column_choice,
    inventory_preferences,
    page_columns,
    query_key,
)
from phone_numbers import queries
from phone_numbers.health import HEALTH_FINDINGS, findings_for
from phone_numbers.models import PROVIDER_CONNECTION_TYPES, PhoneNumber, TelephonyProvider
from phone_numbers.queries import CONNECTION_ROLES
from users.models import User


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
    if form.value("cols"):  # a saved view's or a link's columns; removing it shows your own
        chips.append(
            Chip("Columns", ", ".join(COLUMNS[k].label for k in form.value("cols")), "cols")
        )
    return chips


def inventory_context(
    request: HttpRequest,
    form: NumberFilterForm,
    *,
    selected: Collection[str] = (),
    own_columns: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """What the table fragment shows: used by the list and by bulk edits (whose
    selection, ``selected`` ids, stays ticked). The columns are the URL's
    (``?cols=``), else the user's (``own_columns``, read here when not given)."""
    shown = form.value("cols") or own_columns or column_choice(request.user)
    sort, desc = form.sort
    can_edit = request.user.has_perm("numbers.change_phonenumber")
    queryset = queries.inventory(filters=form.filters(), sort=sort, desc=desc)
    page = list_page(queryset, form)
    columns = header_columns(shown)
    if can_edit:
        columns = [("", ""), *columns]
    return {
        "form": form,
        "page": page,
        "rows_html": render_rows(
            number_rows(page.items, selected=selected),
            can_edit=can_edit,
            columns=shown,
            owner_query=query_ending_with(request, "owner"),
            health_query=query_ending_with(request, "health"),
        ),
        "headers": sort_headers(columns, sort, desc, request.GET),
        "chips": _chips(form),
        "page_sizes": PAGE_SIZES,
        "can_edit": can_edit,
        "export_stream_max": settings.EXPORT_STREAM_MAX_ROWS,
    }


def preferences_context(
    request: HttpRequest,
    views: list[ViewLink],
    own_columns: Sequence[str],
    *,
    save_form: SaveViewForm | None = None,
    columns_form: ColumnsForm | None = None,
) -> dict[str, Any]:
    """Beside the list: the saved views (the current one marked), the form that saves
    the list as a view and the column chooser (the user's own columns, in order)."""
    state = list_state(request)
    current = [v for v in views if v.key == state["view_key"]]
    chooser = [COLUMNS[k] for k in own_columns] + [
        c for k, c in COLUMNS.items() if k not in own_columns
    ]
    return {
        "views": views,
        "current_view": current[0] if current else None,
        "save_form": save_form or SaveViewForm(initial={"query": state["list_query"]}),
        "columns_form": columns_form,
        "chooser": [
            (column, column.key in own_columns, position)
            for position, column in enumerate(chooser, 1)
        ],
        "can_manage_shared": request.user.has_perm("numbers.change_phonenumber"),
        **state,
    }


def list_state(request: HttpRequest) -> dict[str, str]:
    """What the views beside the list need of the list itself: its query string (what
    "Save" and the column chooser send back) and its key (which view is open)."""
    return {"list_query": request.GET.urlencode(), "view_key": query_key(request.GET)}


def inventory_response(
    request: HttpRequest, form: NumberFilterForm, *, fragment: bool, **extra: Any
) -> HttpResponse:
    """The inventory's table fragment, or the whole page; ``extra`` goes to the
    template (a bulk step, the selection it carries: ``console.number_bulk``).

    The fragment reads no preferences: the views beside the list stay as the page
    shows them, and only what depends on the list goes out of band
    (``numbers/_views_state.html``: what "Save" saves, which view is open); the
    user's columns come with the request (``page_columns``). The whole page reads
    the columns and the views in one query."""
    selected = extra.get("selected", ())
    if fragment:
        own = page_columns(request)
        context = {
            **inventory_context(request, form, selected=selected, own_columns=own),
            **list_state(request),
            **extra,
        }
        return render(request, "numbers/_table.html", {**context, "views_oob": True})
    own_columns, views = inventory_preferences(request.user)
    context = {
        **inventory_context(request, form, selected=selected, own_columns=own_columns),
        **preferences_context(request, views, own_columns),
        **extra,
        "page_columns": ",".join(own_columns),
    }
    context["owners"] = User.objects.filter(is_staff=False).only("id", "email").order_by("email")
    return render(request, "numbers/list.html", context)


@require_GET
@staff_view("numbers.view_phonenumber")
@vary_on_headers("HX-Request", COLUMNS_HEADER)
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


def csv_rows(queryset: Any, columns: Sequence[str] = DEFAULT_COLUMNS) -> Iterator[list[str]]:
    """The chosen columns' CSV fields (``console.number_columns.csv_fields``), from plain
    tuples, not model instances: a million rows stream at tens of thousands a second."""
    fields = csv_fields(columns)
    yield [f.header for f in fields]
    if tuple(columns) == DEFAULT_COLUMNS:
        yield from _all_csv_rows(queryset)
        return
    cells = [f.cell for f in fields]
    for row in queryset.values_list(*(f.path for f in fields)).iterator(chunk_size=5000):
        yield [cell(value) for cell, value in zip(cells, row, strict=True)]


def _all_csv_rows(queryset: Any) -> Iterator[list[str]]:
    """Every column, unpacked by name: the default export, the fastest path."""
    rows = queryset.values_list(*(f.path for f in csv_fields(DEFAULT_COLUMNS)))
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
        updated_at,
        description,
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
            updated_at.isoformat(),
            csv_safe(description),
            pk,
        ]


class _Cell(Func):
    """One CSV cell computed by PostgreSQL: ``template`` (``CsvField.sql``) around the
    column, compiled as the queryset's own (its joins, its table aliases)."""

    output_field = TextField()

    def __init__(self, path: str, template: str) -> None:
        super().__init__(F(path))
        self.template_sql = template

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        return (
            self.template_sql.replace("{0}", column),
            list(params) * self.template_sql.count("{0}"),
        )


def csv_lines(queryset: Any, columns: Sequence[str] = DEFAULT_COLUMNS) -> Iterator[Any] | None:
    """The rows of ``csv_rows`` (less its header) as CSV lines written by PostgreSQL,
    each without its line ending; None where that cannot be done (then use
    ``csv_rows``): another database, a session not in UTC, or a caller inside a
    transaction (the lines come over a connection of their own, which sees only
    what is committed).

    Why: Python cells and ``csv.writer`` cost the first background export 54 s for a
    million rows (``csv.writer`` alone ~10 s); PostgreSQL computes the same cells
    (``CsvField.sql``) and quotes them with COPY's CSV in its own processes, while
    this one only writes bytes: ~4x the streamed export (docs/benchmarks.md).
    COPY's CSV differs from the csv module's in two ways, both handled: an empty
    string is written "" (the cells give NULL instead) and a row ends with ``\\n``
    (``jobs.output.write_csv_lines`` ends it with ``\\r\\n``). A COPY holds its
    connection until it ends, so it gets one of its own and the job's progress
    writes go through Django's. One statement: one snapshot of the view.
    """
    db = connections[queryset.db]
    if db.vendor != "postgresql" or db.in_atomic_block or db.timezone_name != "UTC":
        return None
    fields = csv_fields(columns)
    cells = queryset.values_list(*(_Cell(f.path, f.sql) for f in fields))
    sql, params = cells.query.sql_with_params()
    return _copy_lines(db, f"COPY ({sql}) TO STDOUT (FORMAT csv, ENCODING 'UTF8')", params)


def _copy_lines(db: Any, statement: str, params: Sequence[Any]) -> Iterator[Any]:
    """COPY's rows (memoryviews, less their ``\\n``) over a connection of their own
    (psycopg's, with the settings' parameters; not a pooled one), closed when the
    generator is: a cancelled export stops the COPY at once."""
    timeout = settings.DATABASE_TIMEOUTS["command"]["statement_timeout"]
    raw = db.Database.connect(**db.get_connection_params())
    try:
        raw.autocommit = True
        with raw.transaction():  # SET LOCAL: nothing outlives it, behind any pooler
            raw.execute("SELECT set_config('statement_timeout', %s, true)", [f"{timeout}ms"])
            with raw.cursor().copy(statement, params) as copy:
                for line in copy:
                    yield line[:-1]
    finally:
        raw.close()


@require_GET
@staff_view("numbers.view_phonenumber")
def export_csv(request: HttpRequest) -> HttpResponse:
    """Every number of the current filtered, sorted view, streamed (all pages), up to
    ``EXPORT_STREAM_MAX_ROWS``: a bigger view ties a web worker up for minutes and is
    lost with the connection, so it goes to a background job (the page offers it)."""
    form = NumberFilterForm(request.GET)
    sort, desc = form.sort
    queryset = queries.inventory(filters=form.filters(), sort=sort, desc=desc)
    most = settings.EXPORT_STREAM_MAX_ROWS
    if queryset.order_by()[: most + 1].count() > most:  # bounded: never a full count
        return HttpResponse(
            f"This view has more than {most:,} numbers: export it in the background "
            "(the inventory's Export in background), and download it from its job page.",
            status=413,
            content_type="text/plain; charset=utf-8",
        )
    columns = form.value("cols") or column_choice(request.user)
    return csv_response(lambda: csv_rows(queryset, columns), "numbers")
