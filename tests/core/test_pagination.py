"""Pages at scale: bounded counts with estimates, deferred joins, keyset pages, a depth cap."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.urls import reverse

from console import lists
from core import pagination
from core.pagination import decode_cursor, keyset_page
from phone_numbers import queries, upkeep
from phone_numbers.models import PhoneNumber
from phone_numbers.queries import NumberFilters
from tests.factories import make_agent, make_number, make_user
from users.services import api_token_create

pytestmark = pytest.mark.django_db


def _plan(queryset, *settings: str) -> str:
    """EXPLAIN of ``queryset`` after ``settings`` (rolled back with the test)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        for statement in settings:
            cursor.execute(statement)
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


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
    monkeypatch.setattr(pagination, "QUICK_COUNT_LIMIT", 2)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE numbers_phonenumber")
    page = pagination.page_of(PhoneNumber.objects.order_by("number", "id"), page=2, size=10)
    if connection.vendor == "postgresql":
        assert page.total_is_estimated is True and page.total > 5
    else:
        assert (page.total, page.total_is_estimated) == (40, False)  # SQLite counts exactly


@pytest.fixture
def mixed(owner, numbers):
    """Ties and NULLs in every sortable column: equal labels and timestamps, numbers
    with no agent (a NULL agent name), two owners."""
    other = make_user("zed@example.com")
    stamp = PhoneNumber.objects.order_by("number").first().updated_at
    for i, n in enumerate(numbers):
        if i % 3 == 0 or i % 5 == 0:
            n.inbound_agent = None
        if i % 5 == 0:
            n.user = other  # its agent was the first owner's
        n.save()
    upkeep.rebuild()  # saved around the write paths: the kept sort keys follow
    PhoneNumber.objects.filter(number__endswith="7").update(updated_at=stamp)
    return numbers


def _walk_forward(qs, size):
    page = lists._offset_page(qs, page=1, size=size)
    seen, positions = [], []
    while True:
        positions.append((page.first_index, page.page))
        seen += [n.pk for n in page.items]
        if not page.has_more:
            return seen, positions, page
        page = keyset_page(qs, size=size, cursor=decode_cursor(page.next_cursor, qs))


@pytest.mark.parametrize("sort", list(queries.NUMBER_SORTS))
@pytest.mark.parametrize("desc", [False, True])
def test_next_links_visit_every_row_once_in_order(mixed, sort, desc):
    qs = queries.inventory(filters=NumberFilters(), sort=sort, desc=desc)
    expected = [n.pk for n in qs]
    seen, positions, last = _walk_forward(qs, size=7)
    assert seen == expected
    assert positions == [(1 + 7 * i, 1 + i) for i in range(len(positions))]
    assert (last.last_index, last.total) == (40, 40)


@pytest.mark.parametrize("sort", ["agent", "updated_at", "label"])
@pytest.mark.parametrize("desc", [False, True])
def test_previous_links_from_the_last_page_visit_every_row_backwards(mixed, sort, desc):
    qs = queries.inventory(filters=NumberFilters(), sort=sort, desc=desc)
    expected = [n.pk for n in qs]
    page = keyset_page(qs, size=7, last=True)
    assert (page.first_index, page.last_index, page.has_more) == (34, 40, False)
    seen = []
    while True:
        seen = [n.pk for n in page.items] + seen
        if page.is_first:
            break
        page = keyset_page(qs, size=7, cursor=decode_cursor(page.previous_cursor, qs))
    assert seen == expected
    # The first page reached backwards is short (40 = 5 x 7 + 5) and knows it is first.
    assert (page.first_index, page.last_index, len(page.items)) == (1, 5, 5)


def test_a_cursor_is_refused_when_edited_or_made_for_another_sort(mixed):
    by_number = queries.inventory(filters=NumberFilters(), sort="number", desc=False)
    by_label = queries.inventory(filters=NumberFilters(), sort="label", desc=False)
    token = lists._offset_page(by_number, page=1, size=7).next_cursor
    with pytest.raises(pagination.InvalidCursor, match="another sort order"):
        decode_cursor(token, by_label)
    with pytest.raises(pagination.InvalidCursor, match="damaged"):
        decode_cursor(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], by_number)


def test_the_dashboard_pages_by_cursor_and_says_when_a_link_is_bad(client, support, mixed):
    client.force_login(support)
    url = reverse("numbers:list")
    first = client.get(url, {"sort": "label"}, HTTP_HX_REQUEST="true").content.decode()
    assert "1–25 of 40" in first and 'rel="next"' in first and 'rel="prev"' not in first
    after = re.search(r'href="\?([^"]*after=[^"]*)" hx-get=[^>]*rel="next"', first).group(1)
    second = client.get(f"{url}?{html.unescape(after)}", HTTP_HX_REQUEST="true").content.decode()
    assert "26–40 of 40" in second and "Page 2 of 2" in second and 'rel="prev"' in second
    last = client.get(url, {"sort": "label", "last": "1"}, HTTP_HX_REQUEST="true").content
    assert "16–40 of 40" in last.decode()
    bad = client.get(url, {"after": "nonsense"}, HTTP_HX_REQUEST="true").content.decode()
    assert "The page link is damaged. Showing the first page." in bad and "1–25 of 40" in bad


@pytest.mark.parametrize(
    ("link", "start_page", "doomed", "shown"),
    [
        ("next", 1, slice(25, None), "1–25 of 25"),  # the rows after are gone: the end
        ("prev", 2, slice(None, 25), "1–25 of 45"),  # the rows before are gone: the start
    ],
)
def test_a_link_whose_rows_were_deleted_shows_that_end_of_the_list(
    client, support, owner, mixed, link, start_page, doomed, shown
):
    for i in range(30):  # 70 numbers: a page either side of page 2
        make_number(owner, f"+1303556{i:04d}")
    client.force_login(support)
    url = reverse("numbers:list")
    page = client.get(url, {"page": start_page}, HTTP_HX_REQUEST="true").content.decode()
    href = re.search(rf'href="\?([^"]*)" hx-get=[^>]*rel="{link}"', page).group(1)
    ordered = list(PhoneNumber.objects.order_by("number", "id"))
    PhoneNumber.objects.filter(pk__in=[n.pk for n in ordered[doomed]]).delete()
    body = client.get(f"{url}?{html.unescape(href)}", HTTP_HX_REQUEST="true").content.decode()
    assert shown in body


def test_a_keyset_page_starts_its_index_scan_at_the_cursor(mixed):
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    qs = queries.inventory(filters=NumberFilters(), sort="number", desc=False)
    cursor = decode_cursor(lists._offset_page(qs, page=1, size=7).next_cursor, qs)
    deep = qs.filter(pagination._after(pagination.sort_keys(qs), cursor.values))[:8]
    plan = _plan(deep, "SET LOCAL enable_seqscan = off", "SET LOCAL enable_sort = off")
    assert "Index Cond: ((number)::text >= " in plan, plan


@pytest.mark.parametrize(
    ("planner_says", "exact_limit", "expected", "queries"),
    [
        (1_000_000, 100, (1_000_000, True), 1),  # large: not counted further
        (20, 100, (40, False), 2),  # small: counted exactly
        (30, 35, (36, True), 2),  # wrongly small: the bounded count shows more
    ],
)
def test_a_filtered_count_beyond_the_quick_bound_asks_the_planner_first(
    numbers, monkeypatch, django_assert_num_queries, planner_says, exact_limit, expected, queries
):
    if connection.vendor != "postgresql":
        pytest.skip("estimates are PostgreSQL's")
    monkeypatch.setattr(pagination, "QUICK_COUNT_LIMIT", 10)
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", exact_limit)
    monkeypatch.setattr(pagination, "estimate_rows", lambda qs: planner_says)
    with django_assert_num_queries(queries):  # the quick count, then the bounded one
        assert pagination.count_rows(PhoneNumber.objects.filter(active=True)) == expected


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
    # Tiny tables: forbid the alternatives so the plan shows whether the index applies.
    # On a few rows a bitmap over a whole btree that holds the number ((user,
    # number, id), (active, provider, number, id), the sorts' (flag, number, id))
    # costs less than the GIN; the
    # test's transaction rolls the DROPs back.
    plan = _plan(
        PhoneNumber.objects.filter(**lookup).values("pk"),
        "SET LOCAL enable_seqscan = off",
        "SET LOCAL enable_indexscan = off",
        "DROP INDEX number_user_number_id",
        "DROP INDEX number_active_provider_number",
        "DROP INDEX number_provider_number_id",
        "DROP INDEX number_active_number_id",
        "DROP INDEX number_outbound_number_id",
    )
    assert index in plan, plan


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (NumberFilters(health="routes_nowhere"), "number_routes_nowhere"),
        (NumberFilters(health="invalid_number"), "number_invalid"),
        (NumberFilters(outbound_only=True), "number_outbound_number_id"),
    ],
)
def test_the_quick_filters_read_their_partial_index_in_sort_order(numbers, filters, index):
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    page = queries.inventory(filters=filters, sort="number", desc=False)[:51]
    # Tiny tables: forbid scanning and sorting so the plan shows the ordered path.
    plan = _plan(page, "SET LOCAL enable_seqscan = off", "SET LOCAL enable_sort = off")
    assert f"Index Scan using {index}" in plan, plan
