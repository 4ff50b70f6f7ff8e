"""Helpers every dashboard list view uses: sort headers, active filter chips, paging."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict

from core.db import custom_plans
from core.pagination import (
    MAX_OFFSET,
    InvalidCursor,
    Page,
    decode_cursor,
    keyset_page,
    page_of,
    with_cursors,
)

# The query parameters that say which page of a list is shown: every link that
# changes the list itself (sort, filter, export) drops them all.
PAGE_PARAMS = ("page", "after", "before", "last")


@dataclass(frozen=True)
class SortHeader:
    key: str
    label: str
    direction: str  # "asc", "desc" or ""
    next_sort: str
    href: str = ""  # the query string that sorts by next_sort, on the first page


def sort_headers(
    columns: list[tuple[str, str]], sort: str, desc: bool, query: QueryDict | None = None
) -> list[SortHeader]:
    """Table headers: clicking the sorted column flips it, another sorts ascending.

    Each link is ``query`` (the list's) with ``sort`` set and no paging parameter,
    what ``{% querystring sort=… page=None … %}`` gives, built from one copy of the
    query instead of one copy per header."""
    params = query.copy() if query is not None else QueryDict(mutable=True)
    for name in PAGE_PARAMS:
        params.pop(name, None)
    headers = []
    for key, label in columns:
        if not key:
            headers.append(SortHeader("", label, "", ""))
            continue
        current = key == sort
        direction = ("desc" if desc else "asc") if current else ""
        next_sort = key if (current and desc) or not current else f"-{key}"
        params["sort"] = next_sort
        headers.append(SortHeader(key, label, direction, next_sort, f"?{params.urlencode()}"))
    return headers


PAGE_SIZES = (25, 50, 100)


def _sort_choices(columns: Any) -> list[tuple[str, str]]:
    return [(c, c) for c in columns] + [(f"-{c}", f"-{c}") for c in columns]


class ListForm(forms.Form):
    """Sort, page and page size, shared by every dashboard list."""

    sort_columns: tuple[str, ...] = ()
    default_sort = ""

    page = forms.IntegerField(min_value=1, required=False)
    # Keyset links (console.lists.list_page): signed cursors, checked when used.
    after = forms.CharField(max_length=2000, required=False)
    before = forms.CharField(max_length=2000, required=False)
    last = forms.BooleanField(required=False)
    size = forms.TypedChoiceField(
        choices=[(str(s), str(s)) for s in PAGE_SIZES],
        coerce=int,
        required=False,
        label="Per page",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sort"] = forms.ChoiceField(
            choices=_sort_choices(self.sort_columns), required=False
        )
        self.is_valid()  # fills cleaned_data with the valid fields only

    def dropped_notice(self) -> str:
        """The house rule for a console query string: an invalid value is dropped and
        a visible notice names it (never the value, which may be anything)."""
        names = [str(self.fields[name].label or name).capitalize() for name in self.errors]
        if not names:
            return ""
        return f"Ignored an invalid value for: {', '.join(names)}."

    def value(self, name: str, default: Any = None) -> Any:
        """A field's cleaned value, or ``default`` when absent or invalid."""
        value = self.cleaned_data.get(name)
        return default if value in (None, "") else value

    @property
    def sort(self) -> tuple[str, bool]:
        sort = self.value("sort", self.default_sort)
        return sort.lstrip("-"), sort.startswith("-")

    @property
    def page_number(self) -> int:
        return self.value("page", 1)

    @property
    def page_size(self) -> int:
        return self.value("size", PAGE_SIZES[0])


@dataclass(frozen=True)
class Chip:
    """One active filter, shown with a link that removes it."""

    label: str
    value: str
    param: str


def list_page(queryset: QuerySet[Any], form: Any) -> Page[Any]:
    """The page a dashboard list's query string asks for.

    ``after``/``before`` (cursors of the Next/Previous links) and ``last`` are
    keyset pages, as fast at row 500,000 as at row 1. ``page=N`` is an offset
    page, clamped to the last one that exists and to MAX_OFFSET. A damaged or
    outdated cursor shows the first page and says so (``notice``); an invalid
    value in the query string is dropped, the list shows as if it were absent,
    and ``error`` names it (shown as an error: the user asked for something
    this list does not have).
    """
    # The database is chosen once (core.replicas): rows, counts, estimates and the
    # planner setting all go to it.
    queryset = queryset.using(queryset.db)
    with custom_plans(queryset.db):
        page = _page_for(queryset, form)
    dropped = form.dropped_notice() if hasattr(form, "dropped_notice") else ""
    if dropped:
        page = replace(page, error=dropped)
    return page


def _page_for(queryset: QuerySet[Any], form: Any) -> Page[Any]:
    size = form.page_size
    token = form.value("after") or form.value("before")
    if token:
        try:
            cursor = decode_cursor(token, queryset)
        except InvalidCursor as exc:
            page = _offset_page(queryset, page=1, size=size)
            return replace(page, notice=f"{exc} Showing the first page.")
        page = keyset_page(queryset, size=size, cursor=cursor)
        if page.items or not page.total:
            return page
        # The rows beyond the cursor are gone (deleted meanwhile): show that end.
        if cursor.direction == "before":
            return _offset_page(queryset, page=1, size=size)
    elif not form.value("last"):
        return _offset_page(queryset, page=form.page_number, size=size)
    return keyset_page(queryset, size=size, last=True)


def _offset_page(queryset: QuerySet[Any], *, page: int, size: int) -> Page[Any]:
    """Page ``page``, or the last reachable one when the request went past it."""
    deepest = max(1, -(-MAX_OFFSET // size))
    result = page_of(queryset, page=min(page, deepest), size=size)
    if not result.items and page > 1 and result.total:
        result = page_of(queryset, page=min(result.pages, deepest), size=size)
    return with_cursors(result, queryset)


def query_without(request: HttpRequest, key: str) -> str:
    """The current query string without ``key``, on the first page: a filter chip's
    remove link. Never empty: a bare "?" still clears the link's own query string.

    Templates build every other list link with Django's ``{% querystring %}``; this
    one stays because a chip's parameter is data (``Chip.param``), and the keys of
    ``{% querystring %}`` are names written in the template.
    """
    params = request.GET.copy()
    for name in (key, *PAGE_PARAMS):
        params.pop(name, None)
    return f"?{params.urlencode()}"


def query_ending_with(request: HttpRequest, key: str) -> str:
    """``query_without(key)`` ending in ``key=``, for each row to append its value:
    the owner links of the inventory's Jinja2 rows (no ``{% querystring %}`` in
    Jinja2), built once per table, not once per row."""
    query = query_without(request, key)
    return f"{query}{'&' if len(query) > 1 else ''}{key}="


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx swap gets the fragment; a history restore gets the full page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request
