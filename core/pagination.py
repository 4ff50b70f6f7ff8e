"""Offset pages with ``has_more``, shared by the API and the dashboard."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import QuerySet

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, position and the list's total."""

    items: list[T]
    page: int
    size: int
    has_more: bool
    total: int
    total_is_estimated: bool

    def envelope(self, render: Callable[[T], Any]) -> dict[str, Any]:
        """The upstream page object, each item rendered by ``render``."""
        return {
            "items": [render(item) for item in self.items],
            "page": self.page,
            "size": self.size,
            "has_more": self.has_more,
            "total": self.total,
            "total_is_estimated": self.total_is_estimated,
        }

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def reachable_pages(self) -> int:
        """The last page that can be served (OFFSET beyond MAX_OFFSET is refused)."""
        return min(self.pages, max(1, -(-MAX_OFFSET // self.size)))

    @property
    def capped(self) -> bool:
        return self.pages > self.reachable_pages

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.size + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.size + len(self.items)


# Counting more rows than this costs more than the page itself: beyond it the
# total is PostgreSQL's estimate, flagged as such ("about 1.2M" in the UI).
EXACT_COUNT_LIMIT = 10_000
# OFFSET paging reads and discards every skipped row: pages deeper than this
# are refused with a message to filter or sort instead. The API's own bounds
# (page <= 1,000, size <= 100) stay inside it.
MAX_OFFSET = 100_000
# Beyond this offset a page is found in two steps (a "deferred join"): the
# ids by an index-only scan, then only those rows with their joins, so the
# skipped rows are never joined.
DEFERRED_JOIN_OFFSET = 1_000


class PageTooDeep(Exception):
    """The requested page starts beyond MAX_OFFSET rows."""


def count_rows(queryset: QuerySet[Any]) -> tuple[int, bool]:
    """(total, is_estimate): exact up to EXACT_COUNT_LIMIT, estimated beyond it."""
    ids = queryset.order_by().values("pk")
    bounded = ids[: EXACT_COUNT_LIMIT + 1].count()
    if bounded <= EXACT_COUNT_LIMIT or connection.vendor != "postgresql":
        return (bounded if bounded <= EXACT_COUNT_LIMIT else ids.count()), False
    return max(estimate_rows(ids), bounded), True


def estimate_rows(queryset: QuerySet[Any]) -> int:
    """The planner's row estimate (pg_class.reltuples for a whole table)."""
    model = queryset.model
    with connection.cursor() as cursor:
        if not queryset.query.where:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [model._meta.db_table],
            )
            return int(cursor.fetchone()[0])
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return int(plan[0]["Plan"]["Plan Rows"])


def page_of(queryset: QuerySet[Any], *, page: int, size: int) -> Page[Any]:
    """Slice one page (one query for size+1 rows, to learn has_more) and count the list."""
    offset = (page - 1) * size
    if offset >= MAX_OFFSET:
        raise PageTooDeep(
            f"Pages that start beyond row {MAX_OFFSET:,} are not served: narrow the list "
            "with filters or a search, or reverse the sort."
        )
    if offset < DEFERRED_JOIN_OFFSET:
        rows = list(queryset[offset : offset + size + 1])
        has_more = len(rows) > size
        items = rows[:size]
    else:
        ids = list(queryset.values_list("pk", flat=True)[offset : offset + size + 1])
        has_more = len(ids) > size
        ids = ids[:size]
        by_id = {obj.pk: obj for obj in queryset.filter(pk__in=ids)}
        items = [by_id[pk] for pk in ids if pk in by_id]
    if not has_more and (items or page == 1):
        # This is the last page: the total is known without counting.
        return Page(items, page, size, has_more, offset + len(items), total_is_estimated=False)
    total, estimated = count_rows(queryset)
    return Page(items, page, size, has_more, total, total_is_estimated=estimated)
