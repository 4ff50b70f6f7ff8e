"""Helpers every dashboard list view uses: sort headers, active filter chips, paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from .pagination import MAX_OFFSET, Page, page_of


@dataclass(frozen=True)
class SortHeader:
    key: str
    label: str
    direction: str  # "asc", "desc" or ""
    next_sort: str


def sort_headers(columns: list[tuple[str, str]], sort: str, desc: bool) -> list[SortHeader]:
    """Table headers: clicking the sorted column flips it, another sorts ascending."""
    headers = []
    for key, label in columns:
        if not key:
            headers.append(SortHeader("", label, "", ""))
            continue
        current = key == sort
        direction = ("desc" if desc else "asc") if current else ""
        next_sort = key if (current and desc) or not current else f"-{key}"
        headers.append(SortHeader(key, label, direction, next_sort))
    return headers


@dataclass(frozen=True)
class Chip:
    """One active filter, shown with a link that removes it."""

    label: str
    value: str
    param: str


def clamp_page(queryset: QuerySet[Any], *, page: int, size: int) -> Page[Any]:
    """The requested page, or the last reachable one when the request went past it."""
    deepest = max(1, -(-MAX_OFFSET // size))
    result = page_of(queryset, page=min(page, deepest), size=size)
    if not result.items and page > 1 and result.total:
        result = page_of(queryset, page=min(result.pages, deepest), size=size)
    return result


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx swap gets the fragment; a history restore gets the full page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request
