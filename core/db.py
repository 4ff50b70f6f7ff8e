"""Database helpers that are about PostgreSQL's planner rather than any one app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import QuerySet


@contextmanager
def custom_plans(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Plan each statement for its own parameter values.

    Prepared statements (settings: server-side binding) may switch to a generic
    plan after five runs. That suits the API's owner-scoped list, but not the
    dashboard's filters and searches, whose best plan depends on the values: the
    generic plan for "provider = $1 and active = $2" walked the wrong index (82 ms
    against 12 ms). Inside this block PostgreSQL plans every statement afresh.

    ``using``: the database the block's queries read from (a replica's alias for a
    replica-routed page): the setting and its transaction belong on that connection.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield


# Beyond this many matching rows a search is a broad one: the subquery is kept,
# and the planner's guess of "many" is then right.
SEARCH_IDS_LIMIT = 1_000


def ids_or_subquery(queryset: QuerySet[Any]) -> list[Any] | QuerySet[Any]:
    """The ids ``queryset`` selects, for ``fk__in=``: a list when they are few.

    A search that ORs conditions on two tables can use neither's index; one
    condition per table can (each its trigram index). With the other table's
    matches as a subquery PostgreSQL cannot tell how many rows it selects,
    guesses "many", and walks the whole table in sort order looking for a rare
    match; with their ids it knows (figures in docs/benchmarks.md).
    """
    ids = list(queryset.order_by().values_list("pk", flat=True)[: SEARCH_IDS_LIMIT + 1])
    return ids if len(ids) <= SEARCH_IDS_LIMIT else queryset.order_by().values("pk")
