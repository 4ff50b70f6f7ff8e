"""core.db.custom_plans: per-query planning for the dashboard's lists, and only there.

SET LOCAL lasts until the enclosing transaction ends: in a request (autocommit)
that is the block's own; inside another transaction, the outer one's.
"""

from __future__ import annotations

import pytest
from django.db import connection

from core.db import custom_plans

pytestmark = pytest.mark.django_db


def _mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)  # as in a request: no enclosing transaction
def test_custom_plans_last_for_the_block_only():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL planner setting")
    before = _mode()
    with custom_plans():
        assert _mode() == "force_custom_plan"
    assert _mode() == before == "auto"


def test_the_block_is_harmless_elsewhere():
    with custom_plans(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone()[0] == 1
