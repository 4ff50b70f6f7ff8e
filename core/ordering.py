"""The one rule for sorting lists: a whitelisted column, then the primary key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet


def whitelisted_order(
    queryset: QuerySet[Any], columns: Mapping[str, str], sort: str, *, desc: bool, default: str
) -> QuerySet[Any]:
    """Order by ``columns[sort]`` (``default`` for an unknown key), the id breaking ties,
    both in the same direction, so pages never repeat or skip rows."""
    column = columns.get(sort, columns[default])
    prefix = "-" if desc else ""
    return queryset.order_by(f"{prefix}{column}", f"{prefix}id")
