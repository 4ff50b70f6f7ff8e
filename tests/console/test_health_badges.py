"""Health badges: every finding of a row, of the detail page and of a dependents list
is a badge with its meaning on hover and an accessible name, linked to the numbers
that have it (issue 16)."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.urls import reverse

from agents.models import ConnectionType
from phone_numbers.health import HEALTH_FINDINGS
from tests.console.dependents import add_numbers, make_graph, row_ids
from tests.factories import make_agent, make_connection, make_number

pytestmark = pytest.mark.django_db
URL = reverse("numbers:list")
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def numbers(owner):
    """A number for each finding, and one with none."""
    graph = make_graph(owner)
    telnyx = make_connection(
        owner, type=ConnectionType.TELNYX, credentials={"telnyx_api_key": "KEY" + "q" * 30}
    )
    return {
        "fine": make_number(owner, "+14155550101", inbound_agent=graph["desk"]),
        "routes_nowhere": make_number(owner, "+14155550102"),
        "no_webhook": make_number(owner, "+14155550103", inbound_agent=make_agent(owner)),
        "misconfigured": make_number(
            owner, "+14155550104", inbound_agent=graph["desk"], telephony_account_connection=telnyx
        ),
        "invalid_number": make_number(owner, "+1234567890", outbound_only=True),
        "graph": graph,
    }


def badges(body: str) -> list[dict[str, str]]:
    """Each finding badge's attributes (unescaped) and its text."""
    found = []
    for attrs, text in re.findall(r"<a ([^>]*data-finding=[^>]*)>([^<]*)</a>", body):
        badge = {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', attrs)}
        badge["text"] = text
        found.append(badge)
    return found


def expected_badge(key: str, href: str) -> dict[str, str]:
    finding = HEALTH_FINDINGS[key]
    return {
        "class": "badge warn",
        "href": href,
        "data-finding": key,
        "title": finding.meaning,
        "aria-label": f"{finding.label}: list the numbers with this finding",
        "text": finding.label,
    }


def row_of(body: str, number) -> str:
    """The inventory row of ``number`` (a number, or its id)."""
    pk = getattr(number, "pk", number)
    return body.split(f'id="row-{pk}"', 1)[1].split("</tr>", 1)[0]


@pytest.mark.parametrize("key", list(HEALTH_FINDINGS))
def test_a_rows_finding_is_a_badge_with_its_meaning_linked_to_its_filter(
    client, support, numbers, key
):
    client.force_login(support)
    body = client.get(URL).text
    assert badges(row_of(body, numbers[key])) == [expected_badge(key, f"{URL}?health={key}")]
    assert badges(row_of(body, numbers["fine"])) == []


@pytest.mark.parametrize("key", list(HEALTH_FINDINGS))
def test_following_a_badge_lists_exactly_the_numbers_showing_it(client, support, numbers, key):
    client.force_login(support)
    body = client.get(URL).text
    showing = {pk for pk in row_ids(body) if f'data-finding="{key}"' in row_of(body, pk)}
    (href,) = {b["href"] for b in badges(body) if b["data-finding"] == key}
    assert set(row_ids(client.get(href).text)) == showing == {str(numbers[key].pk)}


def test_a_badge_keeps_the_lists_filters_and_drops_its_paging(client, support, owner, numbers):
    client.force_login(support)
    params = {"owner": str(owner.pk), "sort": "-number", "size": "25", "page": "1"}
    body = client.get(URL, params, **HX).text
    (badge,) = badges(row_of(body, numbers["routes_nowhere"]))
    assert badge["href"] == (f"{URL}?owner={owner.pk}&sort=-number&size=25&health=routes_nowhere")
    # A badge of the finding already filtered on keeps the list as it is.
    body = client.get(URL, {"health": "misconfigured"}, **HX).text
    (badge,) = badges(body)
    assert badge["href"] == f"{URL}?health=misconfigured"


def test_the_detail_page_shows_each_finding_as_a_linked_badge(client, support, numbers):
    client.force_login(support)
    placeholder = numbers["invalid_number"]  # outbound only: invalid, nothing else
    body = client.get(reverse("numbers:detail", args=[placeholder.pk])).text
    assert badges(body) == [expected_badge("invalid_number", f"{URL}?health=invalid_number")]
    nowhere = client.get(reverse("numbers:detail", args=[numbers["routes_nowhere"].pk])).text
    assert badges(nowhere) == [expected_badge("routes_nowhere", f"{URL}?health=routes_nowhere")]


def test_the_detail_page_says_which_connection_does_not_fit(client, support, numbers):
    client.force_login(support)
    wrong = client.get(reverse("numbers:detail", args=[numbers["misconfigured"].pk])).text
    assert "This Telnyx connection does not fit a Twilio number." in wrong
    fine = client.get(reverse("numbers:detail", args=[numbers["fine"].pk])).text
    assert "does not fit" not in fine


def test_a_dependents_list_links_its_badges_to_the_same_numbers_with_that_finding(
    client, support, numbers
):
    client.force_login(support)
    desk = numbers["graph"]["desk"]
    body = client.get(reverse("agents:detail", args=[desk.pk])).text
    expected = expected_badge("misconfigured", f"{URL}?agent={desk.pk}&health=misconfigured")
    assert badges(body.split('id="dependents"', 1)[1]) == [expected]


def test_an_edited_row_keeps_its_badges(client, number_admin, numbers):
    client.force_login(number_admin)
    nowhere = numbers["routes_nowhere"]
    body = client.get(reverse("numbers:edit_label", args=[nowhere.pk]), {"slot": "row"}, **HX)
    assert badges(body.text) == [expected_badge("routes_nowhere", f"{URL}?health=routes_nowhere")]


@pytest.mark.parametrize("size", [25, 100])
def test_badges_cost_no_queries_per_row(client, support, owner, django_assert_num_queries, size):
    graph = make_graph(owner)
    telnyx = make_connection(
        owner, type=ConnectionType.TELNYX, credentials={"telnyx_api_key": "KEY" + "q" * 30}
    )
    add_numbers(owner, 40)  # routes nowhere
    add_numbers(owner, 40, inbound_agent=graph["sales"], telephony_account_connection=telnyx)
    add_numbers(owner, 40, inbound_agent=make_agent(owner))  # agent without a webhook
    client.force_login(support)
    client.get(URL, **HX)
    # session, user, 2 permission queries, the page and its count; on PostgreSQL an
    # unfiltered list also sets per-query planning (core.db.custom_plans: SAVEPOINT,
    # SET LOCAL, RELEASE) and asks the planner for the table's size.
    # Plus the user's columns and saved views (console.queries.inventory_preferences).
    with django_assert_num_queries(7 + 4 * (connection.vendor == "postgresql")):
        body = client.get(URL, {"size": size}, **HX).text
    assert len(badges(body)) >= size
