"""/numbers/: the inventory page and its htmx fragment."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl

import pytest
from django.db import connection
from django.urls import reverse

from tests.factories import make_agent, make_connection, make_number, make_user, make_webhook

pytestmark = pytest.mark.django_db
URL = reverse("numbers:list")
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def inventory(owner, other_tenant):
    desk = make_agent(owner, name="Front Desk", language="en", webhook=make_webhook(owner))
    nohook = make_agent(owner, name="Sales Bot", language="es")
    telnyx = make_connection(
        owner, type="account_connection_telnyx", credentials={"telnyx_api_key": "KEY" + "q" * 30}
    )
    return {
        "desk": make_number(owner, "+14155550123", label="Main line", inbound_agent=desk),
        "sales": make_number(
            owner, "+14155550999", label="Sales", inbound_agent=nohook, telephony_provider="telnyx"
        ),
        "nowhere": make_number(owner, "+12125550100", label="Orphan"),
        "outbound": make_number(owner, "+12125550101", label="Dialer", outbound_only=True),
        "inactive": make_number(other_tenant, "+442079460123", label="London", active=False),
        "mismatch": make_number(
            owner, "+12125550102", label="Wrong conn", telephony_account_connection=telnyx
        ),
        "placeholder": make_number(other_tenant, "+1234567890", label="Placeholder"),
        "desk_agent": desk,
    }


def numbers_in(response) -> set[str]:
    body = response.content.decode()
    return {
        n
        for n in (
            "+14155550123",
            "+14155550999",
            "+12125550100",
            "+12125550101",
            "+442079460123",
            "+12125550102",
            "+1234567890",
        )
        if f'title="{n}"' in body
    }


def test_it_renders_the_full_page(client, support, inventory):
    client.force_login(support)
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body and 'id="filters"' in body and 'id="results"' in body
    assert len(numbers_in(response)) == 7
    assert "HX-Request" in response["Vary"]


def test_it_returns_the_fragment_for_htmx(client, support, inventory):
    client.force_login(support)
    response = client.get(URL, {"q": "415"}, **HX)
    body = response.content.decode()
    assert "<html" not in body and 'id="filters"' not in body
    assert numbers_in(response) == {"+14155550123", "+14155550999"}


def test_a_history_restore_gets_the_full_page(client, support, inventory):
    client.force_login(support)
    response = client.get(URL, **HX, HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("415 555", {"+14155550123", "+14155550999"}),
        ("(415) 555-0123", {"+14155550123"}),
        ("+1 415", {"+14155550123", "+14155550999"}),
        ("4155550999", {"+14155550999"}),
        ("main", {"+14155550123"}),
        ("front desk", {"+14155550123"}),
        ("globex", {"+442079460123", "+1234567890"}),
    ],
)
def test_search_finds_numbers_labels_agents_and_owners(client, support, inventory, q, expected):
    client.force_login(support)
    assert numbers_in(client.get(URL, {"q": q}, **HX)) == expected


def test_an_empty_result_says_so_with_a_way_out(client, support, inventory):
    client.force_login(support)
    body = client.get(URL, {"q": "xyz"}, **HX).content.decode()
    assert "No numbers match “xyz”" in body and "Clear filters" in body


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"provider": "telnyx"}, {"+14155550999"}),
        ({"active": "no"}, {"+442079460123"}),
        ({"outbound": "yes"}, {"+12125550101"}),
        ({"language": "es"}, {"+14155550999"}),
        ({"health": "routes_nowhere"}, {"+12125550100", "+12125550102", "+1234567890"}),
        ({"health": "no_webhook"}, {"+14155550999"}),
        ({"health": "misconfigured"}, {"+12125550102"}),
        ({"health": "invalid_number"}, {"+1234567890"}),
        (
            {"provider": "twilio", "health": "routes_nowhere", "q": "212"},
            {"+12125550100", "+12125550102"},
        ),
    ],
)
def test_filters_narrow_and_combine(client, support, inventory, params, expected):
    client.force_login(support)
    assert numbers_in(client.get(URL, params, **HX)) == expected


def test_owner_and_agent_filters_show_removable_chips(client, support, inventory, owner):
    client.force_login(support)
    response = client.get(
        URL, {"owner": str(owner.pk), "agent": str(inventory["desk_agent"].pk)}, **HX
    )
    assert numbers_in(response) == {"+14155550123"}
    body = response.content.decode()
    assert "owner@acme.example" in body and "Front Desk" in body
    assert 'aria-label="Remove filter Owner"' in body and 'aria-label="Remove filter Agent"' in body


def test_sorting_by_a_column_and_flipping_it(client, support, inventory):
    client.force_login(support)
    body = client.get(URL, {"sort": "-label"}, **HX).content.decode()
    labels = ["Wrong conn", "Sales", "Placeholder", "Orphan", "Main line", "London", "Dialer"]
    positions = [body.index(f">{label}<") for label in labels]
    assert positions == sorted(positions)
    assert 'aria-sort="descending"' in body


def _links(body: str, marker: str) -> list[dict[str, str]]:
    """The query parameters of each ``href`` in the anchors that carry ``marker``."""
    return [
        dict(parse_qsl(html.unescape(href).partition("?")[2], keep_blank_values=True))
        for href in re.findall(rf'<a [^>]*?href="([^"]*)"[^>]*{marker}', body)
    ]


def test_sort_chip_and_export_links_keep_the_filters_and_drop_the_paging(
    client, support, inventory, owner
):
    client.force_login(support)
    params = {"provider": "twilio", "owner": str(owner.pk), "sort": "label", "size": "25"}
    paging = {"page": "2", "after": "x", "before": "y", "last": "1"}
    body = client.get(URL, {**params, **paging}, **HX).content.decode()
    sorts = _links(body, 'class="sort')
    assert len(sorts) == 8 and {**params, "sort": "-label"} in sorts
    assert all(link.items() >= {**params, "sort": link["sort"]}.items() for link in sorts)
    chip = _links(body, 'data-clear-field="provider"')
    exports = _links(body, "download")
    assert chip == [{k: v for k, v in params.items() if k != "provider"}]
    assert exports == [params]
    assert not [link for link in sorts + chip + exports if link.keys() & set(paging)]


def test_pager_links_keep_the_filters_and_set_one_paging_parameter(client, support, owner):
    for i in range(30):
        make_number(owner, f"+1303555{i:04d}")
    client.force_login(support)
    first = client.get(URL, {"provider": "twilio", "size": "25"}, **HX).content.decode()
    (following,) = _links(first, 'rel="next"')
    assert following.keys() == {"provider", "size", "after"}
    second = client.get(URL, following, **HX).content.decode()
    assert _links(second, 'rel="first"') == [{"provider": "twilio", "size": "25"}]
    (back,) = _links(second, 'rel="prev"')
    assert back.keys() == {"provider", "size", "before"}
    assert _links(first, 'rel="last"') == [{"provider": "twilio", "size": "25", "last": "1"}]


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "password"},
        {"page": "x"},
        {"page": "-3"},
        {"size": "7"},
        {"owner": "nope"},
        {"provider": "sprint"},
        {"active": "maybe"},
        {"health": "??"},
        {"page": "999"},
    ],
)
def test_bad_query_values_fall_back_to_defaults(client, support, inventory, params):
    client.force_login(support)
    response = client.get(URL, params, **HX)
    assert response.status_code == 200
    assert len(numbers_in(response)) == 7


def test_pages_of_25_50_or_100(client, support, owner):
    for i in range(30):
        make_number(owner, f"+1303555{i:04d}")
    client.force_login(support)
    first = client.get(URL, **HX).content.decode()
    assert "Page 1 of 2" in first and "1–25 of 30" in first
    second = client.get(URL, {"page": 2}, **HX).content.decode()
    assert "26–30 of 30" in second
    assert "1–30 of 30" in client.get(URL, {"size": 50}, **HX).content.decode()


@pytest.mark.parametrize("size", [25, 100])
def test_the_query_count_is_constant(client, support, owner, django_assert_num_queries, size):
    agent = make_agent(owner)
    conn = make_connection(owner)
    for i in range(120):
        make_number(
            owner, f"+1303555{i:04d}", inbound_agent=agent, telephony_account_connection=conn
        )
    client.force_login(support)
    client.get(URL, **HX)
    # session, user, user and group permissions, the page, its count; on PostgreSQL
    # an unfiltered list also sets per-query planning for its transaction
    # (core.db.custom_plans) and asks the planner for the table's size (reltuples).
    # (Inside the test's own transaction that block is a SAVEPOINT and its RELEASE.)
    # Plus the user's columns and saved views (console.queries.inventory_preferences).
    with django_assert_num_queries(7 + 4 * (connection.vendor == "postgresql")):
        client.get(URL, {"size": size}, **HX)


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_customers_and_staff_without_permission_get_a_403(client, owner, staff_without_permissions):
    customer = make_user("customer@acme.example", password="pw-123456789")
    for user in (customer, staff_without_permissions):
        client.force_login(user)
        response = client.get(URL)
        assert response.status_code == 403
        assert "You may not see this page" in response.content.decode()


def test_post_is_a_405(client, support):
    client.force_login(support)
    assert client.post(URL).status_code == 405


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("provider=nokia", "Provider"),
        ("size=7", "Per page"),
        ("sort=password", "Sort"),
        ("owner=not-a-uuid", "Owner"),
        ("q=" + "4" * 101, "Search"),
    ],
)
def test_an_invalid_value_is_dropped_with_a_notice_naming_it(client, support, owner, query, named):
    make_number(owner, "+14155550123")
    client.force_login(support)
    response = client.get(f"/numbers/?{query}")
    assert response.status_code == 200
    page = response.content.decode()
    notice = page.split('<div class="banner error" role="alert" data-dropped>', 1)[1]
    notice = notice.split("</div>", 1)[0]
    assert notice == f"Ignored an invalid value for: {named}."


def test_the_notice_shows_on_an_empty_list_too(client, support):
    client.force_login(support)
    page = client.get("/numbers/?provider=nokia&q=999").content.decode()
    assert "Ignored an invalid value for: Provider." in page
