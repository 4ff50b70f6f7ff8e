"""Reads of the console's own preferences (``console.models``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.db.models import BooleanField, CharField, IntegerField, Q, QuerySet, Value
from django.http import QueryDict

from console.models import ColumnChoice, SavedView
from console.number_columns import DEFAULT_COLUMNS, known, parse_columns


def query_key(params: QueryDict) -> str:
    """A query string in one spelling (parameters sorted by name): a saved view is the
    open one when its key is the list's, whatever the order of its parameters."""
    return urlencode(sorted(params.lists()), doseq=True)


@dataclass(frozen=True)
class ViewLink:
    """A saved view as the inventory lists it."""

    id: Any
    name: str
    query: str
    shared: bool
    mine: bool
    creator: str
    version: int

    @property
    def key(self) -> str:
        return query_key(QueryDict(self.query))


def visible_views(user: Any) -> QuerySet[SavedView]:
    """The views ``user`` may open: their own, and those shared with the team."""
    return SavedView.objects.filter(Q(created_by=user) | Q(shared=True))


def saved_view_for(user: Any, pk: Any) -> SavedView | None:
    """One view ``user`` may open (another's private view is as absent as a missing one)."""
    return visible_views(user).select_related("created_by").filter(pk=pk).first()


def _columns_of(text: str | None) -> tuple[str, ...]:
    return known(text.split(",")) if text else DEFAULT_COLUMNS


def column_choice(user: Any) -> tuple[str, ...]:
    """The inventory columns ``user`` chose, in order (the default without a choice)."""
    return _columns_of(
        ColumnChoice.objects.filter(user=user).values_list("columns", flat=True).first()
    )


# The user's own columns as the inventory page knew them when it was rendered, sent
# by numbers/list.html with each of its htmx requests (hx-headers): a table fragment
# or an edited row needs no query to read them again.
COLUMNS_HEADER = "X-Inventory-Columns"


def page_columns(request: Any) -> tuple[str, ...] | None:
    """The user's columns from the page that sent ``request``, or None (no header,
    or not a list of known columns: ``column_choice`` reads them)."""
    return parse_columns(request.headers.get(COLUMNS_HEADER, ""))


def columns_of_page(request: Any) -> tuple[str, ...]:
    """The columns of the inventory an htmx request came from (an inline edit's row
    must match its table): the page's ``?cols=`` (``HX-Current-URL``), else the
    user's choice (as the page sent it, else read)."""
    current = getattr(getattr(request, "htmx", None), "current_url", None) or ""
    cols = QueryDict(urlsplit(current).query).get("cols", "")
    return parse_columns(cols) or page_columns(request) or column_choice(request.user)


def inventory_preferences(user: Any) -> tuple[tuple[str, ...], list[ViewLink]]:
    """``user``'s columns and the views they may open, in one query.

    The inventory's full page needs both; a UNION ALL of the two reads keeps the
    page at one query more than before the feature. The column choice comes back as
    a row whose ``version`` is 0 (a view's starts at 1) and whose ``name`` holds it.
    """
    views = visible_views(user).values_list(
        "id", "name", "query", "shared", "created_by_id", "created_by__email", "version"
    )
    choice = ColumnChoice.objects.filter(user=user).values_list(
        "user_id",
        "columns",
        Value("", output_field=CharField()),
        Value(False, output_field=BooleanField()),
        "user_id",
        Value("", output_field=CharField()),
        Value(0, output_field=IntegerField()),
    )
    columns = DEFAULT_COLUMNS
    links = []
    for pk, name, query, shared, creator_id, email, version in views.union(choice, all=True):
        if version == 0:
            columns = _columns_of(name)
            continue
        mine = str(creator_id) == str(user.pk)
        links.append(ViewLink(pk, name, query, shared, mine, "" if mine else email, version))
    # Own views first, then the team's, each by name whatever the case.
    links.sort(key=lambda v: (not v.mine, v.name.casefold(), str(v.id)))
    return columns, links
