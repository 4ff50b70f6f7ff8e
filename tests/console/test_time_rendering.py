"""Times in UTC with their zone and the exact ISO time on hover; one live status
region per list; sort state in aria-sort; a skip link (issue 17). Plain HTTP: what
the server sends, before any JavaScript."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from agents.models import Agent
from audit.models import AuditEntry
from audit.services import Actor
from phone_numbers.models import PhoneNumber
from phone_numbers.services import phone_number_update
from tests.factories import make_agent, make_number

pytestmark = pytest.mark.django_db
MOMENT = datetime(2025, 3, 1, 14, 2, 11, tzinfo=UTC)
ISO = "2025-03-01T14:02:11Z"
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def number(owner, settings):
    # The site's zone is not the reader's: pages still say UTC, and name it.
    settings.TIME_ZONE = "America/New_York"
    agent = make_agent(owner, name="Front Desk")
    Agent.objects.filter(pk=agent.pk).update(updated_at=MOMENT)
    n = make_number(owner, "+14155550123", label="Reception", inbound_agent=agent)
    PhoneNumber.objects.filter(pk=n.pk).update(created_at=MOMENT, updated_at=MOMENT)
    return n


def time_tags(body: str) -> list[str]:
    return re.findall(r"<time\b[^>]*>[^<]*</time>", body)


def assert_utc_time(body: str, *, seconds: bool, moment: datetime = MOMENT) -> None:
    iso = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = moment.astimezone(UTC).strftime(
        "%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC"
    )
    expected = f'<time datetime="{iso}" title="{iso}" data-local'
    assert any(
        tag.startswith(expected) and tag.endswith(f">{text}</time>") for tag in time_tags(body)
    ), time_tags(body)


def test_inventory_rows_show_the_update_time_in_utc_with_the_iso_time_in_title(
    client, superuser, number
):
    client.force_login(superuser)
    assert_utc_time(client.get(reverse("numbers:list")).text, seconds=False)


def test_the_detail_shows_created_and_updated_in_utc(client, superuser, number):
    client.force_login(superuser)
    body = client.get(reverse("numbers:detail", args=[number.pk])).text
    assert body.count(f'datetime="{ISO}"') == 2
    assert_utc_time(body, seconds=True)


def test_the_agents_list_shows_the_update_time_in_utc(client, superuser, number):
    client.force_login(superuser)
    assert_utc_time(client.get(reverse("agents:list")).text, seconds=False)


def test_the_audit_trail_shows_each_entry_time_in_utc(client, superuser, number):
    phone_number_update(
        number=number,
        changes={"label": "Front"},
        expected_version=number.version,
        actor=Actor("ops@switchboard.test", "admin"),
    )
    entry = AuditEntry.objects.get()  # append-only: its own time, not MOMENT
    client.force_login(superuser)
    assert_utc_time(client.get(reverse("audit:list")).text, seconds=True, moment=entry.created_at)


def test_every_time_on_the_pages_carries_datetime_and_title(client, superuser, number):
    client.force_login(superuser)
    for url in (
        reverse("numbers:list"),
        reverse("numbers:detail", args=[number.pk]),
        reverse("agents:list"),
    ):
        tags = time_tags(client.get(url).text)
        assert tags
        assert all('datetime="' in tag and 'title="' in tag for tag in tags), (url, tags)


def test_only_the_status_region_is_aria_live(client, superuser, number):
    client.force_login(superuser)
    body = client.get(reverse("numbers:list")).text
    live = re.findall(r"<[^>]*aria-live[^>]*>[^<]*", body)
    assert len(live) == 1, live
    assert 'role="status"' in live[0]
    assert live[0].endswith("1 of 1 numbers")
    assert 'id="results" aria-live' not in body


def test_the_fragment_carries_the_status_text_for_the_live_region(client, superuser, number):
    client.force_login(superuser)
    body = client.get(reverse("numbers:list"), {"q": "nothing-matches"}, **HX).text
    assert "aria-live" not in body
    assert "<span hidden data-status-text>No numbers</span>" in body


def test_the_sorted_header_has_aria_sort(client, superuser, number):
    client.force_login(superuser)
    body = client.get(reverse("numbers:list"), {"sort": "-updated_at"}).text
    sorted_headers = re.findall(r'<th scope="col" aria-sort="(\w+)">\s*<a[^>]*>([^<]*)', body, re.S)
    assert sorted_headers == [("descending", "Updated ▼")]


def test_the_inventory_has_a_skip_link_to_the_results(client, superuser, number):
    client.force_login(superuser)
    body = client.get(reverse("numbers:list")).text
    assert re.search(r'<a class="skip-link" href="#results"[^>]*>Skip to results</a>', body)
    assert 'id="results" tabindex="-1"' in body
    assert body.index("skip-link") < body.index('class="topbar"')


def test_other_pages_have_a_skip_link_to_the_content(client, superuser, number):
    client.force_login(superuser)
    body = client.get(reverse("agents:list")).text
    assert '<a class="skip-link" href="#main">Skip to content</a>' in body
    assert 'id="main" tabindex="-1"' in body
