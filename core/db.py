"""Database helpers that are about PostgreSQL's planner rather than any one app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def custom_plans() -> Iterator[None]:
    """Plan each statement for its own parameter values.

    Prepared statements (settings: server-side binding) may switch to a generic
    plan after five runs. That suits the API's owner-scoped list, but not the
    dashboard's filters and searches, whose best plan depends on the values: the
    generic plan for "provider = $1 and active = $2" walked the wrong index (82 ms
    against 12 ms). Inside this block PostgreSQL plans every statement afresh.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield
