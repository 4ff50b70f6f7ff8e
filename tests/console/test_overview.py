"""The overview at /: counts per finding, per provider and for the customers with the
most problems, each a link to the inventory filtered to exactly those numbers; the
changes of the last 30 days as an SVG chart with a table; the latest changes with
their reasons (issue 16)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit import queries as audit_queries
from audit.models import AuditEntry
from phone_numbers.health import HEALTH_FINDINGS
from tests.console.health_data import EXPECTED, audited_change, hrefs, make_inventory
from tests.factories import make_number, make_user

pytestmark = pytest.mark.django_db
HOME = "/"


@pytest.fixture
def inventory(owner, other_tenant):
    return make_inventory(owner, other_tenant)


def page(client, user, path: str = HOME) -> str:
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, heading_id: str) -> str:
    """The <section> whose heading has this id."""
    start = html.index(f'aria-labelledby="{heading_id}"')
    return html[start : html.index("</section>", start)]


def listed_numbers(client, url: str) -> set[str]:
    """The numbers the inventory lists at ``url`` (the row ids' numbers, by title)."""
    html = client.get(url).content.decode()
    return set(re.findall(r'data-open title="(\+\d+)"', html))


def names_of(inventory, numbers: set[str]) -> set[str]:
    by_number = {n.number: name for name, n in inventory.numbers.items()}
    return {by_number[n] for n in numbers}


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_each_finding_is_counted_and_links_to_exactly_its_numbers(client, support, inventory):
    html = section(page(client, support), "findings-heading")
    for key, expected in EXPECTED.items():
        card = re.search(
            rf'data-finding="{key}">\s*<a href="([^"]+)"><strong class="count">(\d+)</strong>', html
        )
        assert card, key
        url, count = card.group(1).replace("&amp;", "&"), int(card.group(2))
        assert query_of(url) == {"health": key}
        assert count == len(expected)
        assert names_of(inventory, listed_numbers(client, url)) == expected
        assert escape(HEALTH_FINDINGS[key].meaning) in html
    flagged = set().union(*EXPECTED.values())
    assert f"{len(flagged)} numbers with at least one finding" in html


def test_each_provider_has_its_counts_each_linking_to_provider_and_finding(
    client, support, inventory
):
    html = section(page(client, support), "providers-heading")
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<tr><th scope="row"><a href="[^"]*">(\w+)</a>.*?</tr>', html)
    }
    assert set(rows) == {"Twilio", "Vonage", "Telnyx"}
    provider_of = {"Twilio": "twilio", "Vonage": "vonage", "Telnyx": "telnyx"}
    for label, row in rows.items():
        provider = provider_of[label]
        for url in hrefs(row)[1:]:
            params = query_of(url)
            assert params["provider"] == provider
            shown = names_of(inventory, listed_numbers(client, url))
            expected = {
                n
                for n in EXPECTED[params["health"]]
                if inventory.numbers[n].telephony_provider == provider
            }
            assert shown == expected, (provider, params)
            assert f">{len(expected)}</a>" in row
    # Telnyx: "wrong_conn" routes nowhere and is misconfigured; no other finding.
    assert [query_of(u)["health"] for u in hrefs(rows["Telnyx"])[1:]] == [
        "routes_nowhere",
        "misconfigured",
    ]


def test_customers_are_ranked_by_numbers_with_findings_and_link_to_their_page(
    client, support, inventory
):
    html = section(page(client, support), "customers-heading")
    customers = re.findall(r'<th scope="row"><a href="([^"]+)">([^<]+)</a>', html)
    assert customers == [
        (f"/customers/{inventory.acme.pk}/", "owner@acme.example"),
        (f"/customers/{inventory.globex.pk}/", "owner@globex.example"),
    ]
    acme_row = re.search(r"<tr><th[^>]*><a [^>]*>owner@acme.example</a>.*?</tr>", html).group(0)
    for url in hrefs(acme_row)[1:]:
        params = query_of(url)
        assert params["owner"] == str(inventory.acme.pk)
        expected = {
            n
            for n in EXPECTED[params["health"]]
            if inventory.numbers[n].user_id == inventory.acme.pk
        }
        assert names_of(inventory, listed_numbers(client, url)) == expected
    acme_flagged = {n for v in EXPECTED.values() for n in v if not n.startswith("globex")}
    assert f"<strong>{len(acme_flagged)}</strong>" in acme_row


def test_only_the_ten_customers_with_the_most_problems_are_listed(client, support):
    for i in range(12):
        customer = make_user(f"c{i:02d}@example.com")
        for j in range(i + 1):
            make_number(customer, f"+1415666{i:02d}{j:02d}")  # no agent: routes nowhere
    html = section(page(client, support), "customers-heading")
    listed = re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', html)
    assert listed == [f"c{i:02d}@example.com" for i in range(11, 1, -1)]


def test_staff_who_may_not_open_account_pages_see_customers_without_links(client, inventory):
    viewer = make_user("viewer@switchboard.test", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_phonenumber"))
    html = page(client, viewer)
    customers = section(html, "customers-heading")
    assert "/customers/" not in customers
    assert '<th scope="row">owner@acme.example</th>' in customers
    assert 'aria-labelledby="changes-heading"' not in html  # no audit permission
    assert "?owner=" in customers  # the counts still link to the inventory


def _at(moment: datetime):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_the_chart_has_a_bar_per_day_a_title_a_summary_and_a_table(client, support, inventory):
    today = timezone.localdate()
    noon = timezone.make_aware(datetime.combine(today, datetime.min.time())) + timedelta(hours=12)
    number = inventory.numbers["fine"]
    with _at(noon - timedelta(days=2)):
        for i in range(3):
            number = audited_change(number, f"Label {i}", reason="")
    with _at(noon - timedelta(days=40)):  # outside the 30 days
        audited_change(number, "Old", reason="")
    html = section(page(client, support), "changes-heading")
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'role="group"' in svg  # not "img": an img holding links is nested-interactive
    assert 'aria-labelledby="changes-chart-title changes-chart-desc"' in svg
    assert '<title id="changes-chart-title">Changes per day, last 30 days</title>' in svg
    day = today - timedelta(days=2)
    label = f"{day:%b} {day.day}"
    assert f"the busiest day was {label} with 3." in svg
    assert svg.count("<rect") == 30
    assert f"<title>{label}: 3 changes</title>" in svg
    table = html[html.index("<table") : html.index("</table>")]
    assert table.count('<th scope="row">') == 30
    link = re.search(
        rf'<th scope="row">{label}</th><td class="numeric"><a href="([^"]+)">3</a>', table
    )
    assert link
    assert query_of(link.group(1).replace("&amp;", "&")) == {
        "since": day.isoformat(),
        "until": day.isoformat(),
    }
    entries = client.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert entries.count('class="entry-id"') == 3


def test_a_day_busier_than_the_bound_is_estimated_from_its_ids(owner, monkeypatch):
    monkeypatch.setattr(audit_queries, "DAY_COUNT_LIMIT", 2)
    today = timezone.localdate()
    midnight = timezone.make_aware(datetime.combine(today, datetime.min.time()))
    number = make_number(owner, "+14155550100")
    with _at(midnight - timedelta(days=1, hours=3)):
        number = audited_change(number, "The day before", reason="")
    with _at(midnight - timedelta(hours=3)):
        for i in range(5):
            number = audited_change(number, f"Busy {i}", reason="")
    with _at(midnight + timedelta(minutes=1)):
        audited_change(number, "Today", reason="")
    days = audit_queries.changes_per_day(days=3, today=today)
    assert [(d.day, d.count, d.is_estimated) for d in days] == [
        (today - timedelta(days=2), 1, False),
        (today - timedelta(days=1), 5, True),
        (today, 1, False),
    ]


def test_the_latest_changes_show_their_reason_and_link_to_entry_and_object(
    client, support, inventory
):
    number = audited_change(inventory.numbers["nowhere"], "Lobby", reason="SUP-77 rename")
    entry = AuditEntry.objects.latest("id")
    html = section(page(client, support), "recent-heading")
    assert "SUP-77 rename" in html
    assert f'href="/audit/?entry={entry.pk}"' in html
    assert f'href="/numbers/{number.pk}/"' in html
    assert "Lobby" in html


def test_the_page_needs_a_staff_account_that_may_view_numbers(
    client, owner, staff_without_permissions
):
    response = client.get(HOME)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(owner)
    assert client.get(HOME).status_code == 403
    client.force_login(staff_without_permissions)
    assert client.get(HOME).status_code == 403


def test_it_answers_only_get(client, support):
    client.force_login(support)
    assert client.post(HOME).status_code == 405


def test_the_navigation_names_it_and_sign_in_lands_on_it(client, support, settings):
    html = page(client, support)
    assert '<a href="/" aria-current="page">Overview</a>' in html
    assert reverse(settings.LOGIN_REDIRECT_URL) == HOME


def queries_for(client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_it_reads_a_constant_number_of_queries_whatever_the_data_size(client, support, inventory):
    client.force_login(support)
    audited_change(inventory.numbers["fine"], "One", reason="why")
    small = queries_for(client, HOME)
    for i in range(15):
        customer = make_user(f"more{i}@example.com")
        make_number(customer, f"+1415777{i:04d}")
        audited_change(inventory.numbers["fine"], f"Again {i}", reason="why")
    # session, user, the user's and their groups' permissions, findings (one pass),
    # the top owners' emails, the days, the latest entries, which of them were reverted
    assert len(queries_for(client, HOME)) == len(small) == 9
