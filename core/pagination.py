"""Offset pages with ``has_more``, shared by the API and the dashboard."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
    def first_index(self) -> int:
        return (self.page - 1) * self.size + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.size + len(self.items)


def page_of(queryset: QuerySet[Any], *, page: int, size: int) -> Page[Any]:
    """Slice one page (one query for size+1 rows, to learn has_more) and count the list."""
    offset = (page - 1) * size
    rows = list(queryset[offset : offset + size + 1])
    has_more = len(rows) > size
    items = rows[:size]
    # When the whole list fits on the first page, its length is the total: no COUNT.
    total = len(items) if page == 1 and not has_more else queryset.order_by().count()
    return Page(items, page, size, has_more, total, total_is_estimated=False)
