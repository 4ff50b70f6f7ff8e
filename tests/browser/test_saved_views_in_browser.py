"""Saved views and chosen columns, in a real browser (PostgreSQL pass only)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import make_number
from users.management.commands.setup_roles import ensure_roles
from users.models import User

# Like every browser test: CI=true turns a skip into a failure (tests/conftest.py).
pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "browser-pass-123456"


@pytest.fixture
def team(db):
    owner = User.objects.create_user("ops@acme.example")
    for i in range(6):
        make_number(owner, f"+1415555{i:04d}", label=f"Acme {i}", active=i % 2 == 0)
    groups = ensure_roles()
    for email, group in (
        ("a@switchboard.test", "Number admins"),
        ("b@switchboard.test", "Support"),
    ):
        User.objects.create_user(email, PASSWORD, is_staff=True).groups.add(groups[group])
    return owner


def sign_in(page, email: str) -> None:
    page.goto("/login/?next=/numbers/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/numbers/"))


def test_a_view_shared_by_one_user_opens_the_same_list_for_another(browser, live_server, team):
    a = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    page = a.new_page()
    sign_in(page, "a@switchboard.test")
    page.select_option("select[name=active]", "yes")
    page.wait_for_url(re.compile(r"active=yes"))
    page.locator("details.save-view summary").click()
    page.fill("details.save-view input[name=name]", "Active Acme")
    page.check("details.save-view input[name=shared]")
    page.click("details.save-view button[type=submit]")
    expect(page.locator("nav[aria-label='Saved views'] a[aria-current=page]")).to_have_text(
        "Active Acme"
    )
    a.close()

    b = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    page = b.new_page()
    sign_in(page, "b@switchboard.test")
    page.click("nav[aria-label='Saved views'] a:text('Active Acme')")
    page.wait_for_url(re.compile(r"active=yes"))
    expect(page.locator("select[name=active]")).to_have_value("yes")
    expect(page.locator("table[data-rows] tbody tr")).to_have_count(3)
    # Support may open a colleague's shared view, not change it: no edit link.
    expect(page.locator("nav[aria-label='Saved views'] a.edit")).to_have_count(0)
    b.close()


def test_the_chooser_hides_a_column_and_the_csv_follows(browser, live_server, team):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 800}, accept_downloads=True
    )
    page = context.new_page()
    sign_in(page, "b@switchboard.test")
    expect(page.locator("table[data-rows] thead")).to_contain_text("Owner")
    page.locator("details.column-chooser summary").click()
    page.uncheck("details.column-chooser input[value=owner]")
    page.click("details.column-chooser button[type=submit]")
    page.wait_for_url(re.compile(r"/numbers/"))
    expect(page.locator("table[data-rows] thead")).not_to_contain_text("Owner")
    expect(page.locator("table[data-rows] tbody")).not_to_contain_text("ops@acme.example")
    with page.expect_download() as info:
        page.click("a.export")
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    assert "owner" not in rows[0] and rows[0][:2] == ["number", "label"]
    context.close()


def test_filtering_in_place_marks_the_view_the_list_is(browser, live_server, team):
    """The table fragment does not render the views again: it sends the list's key
    out of band and static/js/app.js marks the matching view, as the page would."""
    from console.models import SavedView

    # What "Save" stores after choosing Active: yes (the page size select is in the form).
    SavedView.objects.create(
        created_by=User.objects.get(email="b@switchboard.test"),
        name="Active",
        query="size=25&active=yes",
    )
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, "b@switchboard.test")
    current = page.locator("nav[aria-label='Saved views'] a[aria-current=page]")
    expect(current).to_have_count(0)
    page.select_option("select[name=active]", "yes")
    page.wait_for_url(re.compile(r"active=yes"))
    expect(current).to_have_text("Active")
    expect(page.locator("#view-query")).to_have_value("active=yes&size=25")
    page.select_option("select[name=active]", "no")
    page.wait_for_url(re.compile(r"active=no"))
    expect(current).to_have_count(0)
    expect(page.locator("#view-query")).to_have_value("active=no&size=25")
    context.close()
