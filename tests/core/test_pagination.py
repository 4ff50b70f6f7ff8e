"""Pages at scale: bounded counts with estimates, deferred joins for deep pages, a depth cap."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from core import pagination
from phone_numbers import queries
from phone_numbers.models import PhoneNumber
from phone_numbers.queries import NumberFilters
from tests.factories import make_agent, make_number
from users.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def numbers(owner):
    agent = make_agent(owner, name="Desk")
    return [
        make_number(owner, f"+1303555{i:04d}", label=f"L{i % 7}", inbound_agent=agent)
        for i in range(40)
    ]


def test_a_deep_page_by_deferred_join_equals_the_plain_offset(numbers, monkeypatch):
    qs = queries.inventory(filters=NumberFilters(), sort="label", desc=True)
    plain = [n.pk for n in qs[30:40]]
    monkeypatch.setattr(pagination, "DEFERRED_JOIN_OFFSET", 0)
    page = pagination.page_of(qs, page=4, size=10)
    assert [n.pk for n in page.items] == plain
    assert page.items[0].inbound_agent.name == "Desk"  # joins still loaded


def test_counts_are_exact_up_to_the_limit(numbers):
    page = pagination.page_of(PhoneNumber.objects.order_by("number", "id"), page=2, size=10)
    assert (page.total, page.total_is_estimated) == (40, False)


def test_beyond_the_limit_postgres_estimates_and_says_so(numbers, monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 5)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE numbers_phonenumber")
    page = pagination.page_of(PhoneNumber.objects.order_by("number", "id"), page=2, size=10)
    if connection.vendor == "postgresql":
        assert page.total_is_estimated is True and page.total > 5
    else:
        assert (page.total, page.total_is_estimated) == (40, False)  # SQLite counts exactly


def test_the_ui_says_when_pages_are_capped(client, support, numbers, monkeypatch):
    monkeypatch.setattr(pagination, "MAX_OFFSET", 20)
    monkeypatch.setattr("core.lists.MAX_OFFSET", 20)
    client.force_login(support)
    body = client.get(
        reverse("numbers:list"), {"page": 99}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Only the first 1 pages can be shown" in body


def test_the_api_refuses_a_page_beyond_the_cap_with_a_reason(client, owner, numbers, monkeypatch):
    monkeypatch.setattr(pagination, "MAX_OFFSET", 20)
    _, token = api_token_create(user=owner)
    response = client.get(
        "/v1/numbers/list", {"page": 3, "size": 10}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["query", "page"] and detail["type"] == "too_deep"
    assert "narrow the list" in detail["msg"]


@pytest.mark.parametrize(
    ("lookup", "index"),
    [
        ({"number__contains": "415555"}, "numbers_phonenumber_number_trgm"),
        ({"label__icontains": "main"}, "numbers_phonenumber_label_trgm"),
    ],
)
def test_the_trigram_indexes_match_the_sql_the_orm_emits(numbers, lookup, index):
    if connection.vendor != "postgresql":
        pytest.skip("pg_trgm indexes exist on PostgreSQL only")
    sql, params = PhoneNumber.objects.filter(**lookup).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        # Tiny tables: forbid the alternatives so the plan shows whether the index applies.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
