"""From a misconfigured number to its connection, and to every number that uses it (issue 16)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.console.dependents import add_numbers, make_graph
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "browser-pass-123456"


@pytest.fixture
def inventory(db):
    """Acme Twilio is the telephony connection of 32 numbers; 2 of them are Telnyx
    numbers, which a Twilio connection does not fit (misconfigured)."""
    owner = User.objects.create_user("ops@acme.example")
    graph = make_graph(owner)
    twilio = graph["twilio"]
    uses = add_numbers(owner, 30, inbound_agent=graph["desk"], telephony_account_connection=twilio)
    uses += add_numbers(
        owner,
        2,
        inbound_agent=graph["desk"],
        telephony_account_connection=twilio,
        telephony_provider="telnyx",
    )
    add_numbers(owner, 20, inbound_agent=graph["sales"])  # numbers that do not use it
    User.objects.create_superuser("staff@switchboard.test", PASSWORD)
    return {"twilio": twilio, "uses": {n.number for n in uses}}


def sign_in(page, path: str) -> None:
    """Open ``path``, sign in on the way, and land on it."""
    page.goto(path)
    page.fill("#id_username", "staff@switchboard.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(path) + "$"))


def titles(locator) -> list[str]:
    """The numbers (E.164, each link's title) of these number links."""
    return [link.get_attribute("title") for link in locator.all()]


def numbers_shown(page) -> list[str]:
    return titles(page.locator("table[data-rows] tbody tr td.num a[data-open]"))


def test_from_the_overview_to_every_number_of_a_misconfigured_numbers_connection(page, inventory):
    sign_in(page, "/")
    misconfigured = page.locator("li[data-finding=misconfigured] a")
    expect(misconfigured).to_contain_text("2")
    misconfigured.click()
    page.wait_for_url(re.compile(r"/numbers/\?health=misconfigured$"))
    expect(page.locator("table[data-rows] tbody tr")).to_have_count(2)
    expect(page.locator(".chips")).to_contain_text("Health: Misconfigured connection")
    badge = page.locator("table[data-rows] a[data-finding=misconfigured]").first
    expect(badge).to_have_attribute("title", re.compile("does not fit its provider"))

    # The number's panel names its connection; its page says who depends on it.
    page.locator("table[data-rows] a[data-open]").first.click()
    panel = page.locator("#panel [data-detail]")
    expect(panel).to_contain_text("Acme Twilio")
    panel.locator(f"a[href='/connections/{inventory['twilio'].pk}/']").click()
    page.wait_for_url(re.compile(r"/connections/[0-9a-f-]{36}/$"))
    expect(page.locator("h2")).to_have_text("Acme Twilio")
    link = page.locator("a[data-numbers-link]").first
    expect(link).to_have_text("32 numbers")
    expect(page.locator(".dependents-count")).to_contain_text(
        "32 numbers use it for telephony; 0 numbers route to agents"
    )

    # "32 numbers": the complete list, through its keyset pages.
    link.click()
    page.wait_for_url(re.compile(r"/numbers/\?connection=.*connection_role=telephony"))
    expect(page.locator(".chips")).to_contain_text("Connection: Acme Twilio")
    expect(page.locator(".chips")).to_contain_text("Used for: telephony")
    expect(page.locator(".pager .count")).to_contain_text("1–25 of 32")
    seen = numbers_shown(page)
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"after="))
    expect(page.locator(".pager .count")).to_contain_text("26–32 of 32")
    seen += numbers_shown(page)
    expect(page.locator("a[rel=next]")).to_have_count(0)
    assert len(seen) == 32 and set(seen) == inventory["uses"]


def test_the_connection_page_pages_through_its_numbers_in_place(page, inventory):
    sign_in(page, f"/connections/{inventory['twilio'].pk}/")
    dependents = page.locator("#dependents")
    expect(dependents.locator(".pager .count")).to_contain_text("1–25 of 32")
    seen = titles(dependents.locator("td.num > a"))
    dependents.locator("a[rel=next]").click()
    expect(dependents.locator(".pager .count")).to_contain_text("26–32 of 32")
    assert re.search(r"/connections/[0-9a-f-]{36}/\?after=", page.url)
    expect(page.locator("h2")).to_have_text("Acme Twilio")  # the page stayed; the list moved
    seen += titles(dependents.locator("td.num > a"))
    assert len(seen) == 32 and set(seen) == inventory["uses"]
