"""The one rule for sorting lists: a whitelisted column, then the primary key.

NULLs sort as the largest value on every database (last ascending, first
descending: PostgreSQL's own default, so its btree indexes still serve the
sort; SQLite is told explicitly). Keyset pages (core.pagination) rely on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Field, Model, OrderBy, QuerySet


def column_field(model: type[Model], path: str) -> tuple[Field, bool]:
    """The field at the end of ``path`` ("user__email") and whether it can be NULL
    (a nullable column, or a nullable relation on the way: a LEFT JOIN)."""
    nullable = False
    field: Any = None
    for part in path.split("__"):
        field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        nullable = nullable or bool(getattr(field, "null", False))
        if field.is_relation:
            model = field.related_model
    if field.is_relation:  # ordering by a foreign key orders by its target's pk
        field = field.target_field
    return field, nullable


def whitelisted_order(
    queryset: QuerySet[Any],
    columns: Mapping[str, str | tuple[str, ...]],
    sort: str,
    *,
    desc: bool,
    default: str,
) -> QuerySet[Any]:
    """Order by ``columns[sort]`` (``default`` for an unknown key), the id breaking ties,
    all in the same direction, so pages never repeat or skip rows.

    A sort may name several columns, the later ones ordering the rows the first
    leaves equal ("active", then "number"): with an index on them all plus the id,
    a column of few values is still read as a range of one index, either way.
    """
    chosen = columns.get(sort, columns[default])
    paths = (chosen,) if isinstance(chosen, str) else chosen
    keys = [_order_key(queryset.model, path, desc) for path in paths]
    return queryset.order_by(*keys, "-id" if desc else "id")


def _order_key(model: type[Model], path: str, desc: bool) -> Any:
    """One column of an ordering, NULLs as the largest value (see the module's note)."""
    _, nullable = column_field(model, path)
    if nullable:
        return F(path).desc(nulls_first=True) if desc else F(path).asc(nulls_last=True)
    return f"-{path}" if desc else path


@dataclass(frozen=True)
class SortKey:
    """One column of a queryset's ordering."""

    path: str
    descending: bool
    field: Field
    nullable: bool

    @property
    def spec(self) -> str:
        return f"-{self.path}" if self.descending else self.path


def sort_keys(queryset: QuerySet[Any]) -> list[SortKey]:
    """The queryset's ordering as columns; it must end with the primary key."""
    keys = []
    for item in queryset.query.order_by:
        if isinstance(item, str):
            path, descending = item.lstrip("-"), item.startswith("-")
        elif isinstance(item, OrderBy) and isinstance(item.expression, F):
            path, descending = item.expression.name, item.descending
        else:
            raise ValueError(f"Cannot page by keyset over the ordering {item!r}.")
        field, nullable = column_field(queryset.model, path)
        keys.append(SortKey(path, descending, field, nullable))
    if not keys or not keys[-1].field.primary_key or keys[-1].path.count("__"):
        raise ValueError("Keyset pages need an ordering that ends with the primary key.")
    return keys
