"""What a support person does in the inventory, in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import make_agent, make_connection, make_number
from users.models import User
from vault.masking import DOTS

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "browser-pass-123456"
SECRET = "b7c2e9f14a6d8053" + "c1e4a7b2d9f6" + "ZQ42"


@pytest.fixture
def inventory(db):
    owner = User.objects.create_user("ops@acme.example")
    other = User.objects.create_user("ops@globex.example")
    conn = make_connection(owner, credentials={"twilio_auth_token": SECRET}, label="Acme Twilio")
    desk = make_agent(owner, name="Front Desk")
    for i in range(30):
        make_number(
            owner,
            f"+1415555{i:04d}",
            label=f"Acme {i:02d}",
            inbound_agent=desk,
            telephony_account_connection=conn,
        )
    for i in range(5):
        make_number(other, f"+1212555{i:04d}", label=f"Globex {i}")
    User.objects.create_superuser("staff@switchboard.test", PASSWORD)
    return owner


def sign_in(page) -> None:
    page.goto("/numbers/")
    assert "/login/" in page.url
    page.fill("#id_username", "staff@switchboard.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/numbers/$"))


def rows(page) -> list[str]:
    return page.locator("table[data-rows] tbody tr td.num a[data-open]").all_inner_texts()


def test_sign_in_search_reload_and_back(page, inventory):
    sign_in(page)
    assert page.locator("h1").inner_text() == "Numbers"
    assert len(rows(page)) == 25

    page.select_option("select[name=provider]", "twilio")  # a filter change pushes a URL
    page.wait_for_url(re.compile(r"provider=twilio"))

    page.fill("input[name=q]", "(212) 555")
    page.wait_for_url(re.compile(r"q=(\(|%28)212"))
    expect(page.locator("table[data-rows] tbody tr")).to_have_count(5)
    assert all(r.startswith("+1 212") for r in rows(page))

    page.reload()
    assert page.input_value("input[name=q]") == "(212) 555"
    assert len(rows(page)) == 5

    # Typing replaced the current entry (no entry per keystroke), so one step
    # back is the state before the provider filter: the unfiltered list.
    page.go_back()
    page.wait_for_url(re.compile(r"/numbers/$"))
    expect(page.locator("table[data-rows] tbody tr")).to_have_count(25)
    assert page.input_value("input[name=q]") == ""
    assert page.input_value("select[name=provider]") == ""


def test_sort_and_change_page(page, inventory):
    sign_in(page)
    page.click("th a.sort:has-text('Label')")
    page.wait_for_url(re.compile(r"sort=label"))
    page.click("th a.sort:has-text('Label')")
    page.wait_for_url(re.compile(r"sort=-label"))
    expect(page.locator("table[data-rows] tbody tr td.label").first).to_contain_text("Globex 4")
    first_label = page.locator("table[data-rows] tbody tr td.label").first.inner_text()
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"sort=-label&after="))  # a keyset link
    page.wait_for_selector("text=Page 2 of 2")
    assert len(rows(page)) == 10
    page.click("a[rel=prev]")
    page.wait_for_url(re.compile(r"before="))
    page.wait_for_selector("text=Page 1 of 2")
    assert len(rows(page)) == 25
    expect(page.locator("table[data-rows] tbody tr td.label").first).to_have_text(first_label)
    page.click("a[rel=last]")
    page.wait_for_url(re.compile(r"last=1"))
    expect(page.locator(".pager .count")).to_contain_text("11–35 of 35")


def test_the_detail_panel_masks_credentials_and_closes_with_escape(page, inventory):
    sign_in(page)
    page.click("a[data-open]:has-text('+1 415-555-0003')")
    page.wait_for_selector("#panel [data-detail]")
    assert re.search(r"/numbers/[0-9a-f-]{36}/$", page.url)
    panel = page.locator("#panel")
    assert "twilio_auth_token" in panel.inner_text()
    assert DOTS + "ZQ42" in panel.inner_text()
    assert SECRET not in page.content()
    assert len(rows(page)) == 25  # the list stays

    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r"/numbers/$"))
    assert page.locator("#panel").inner_html().strip() == ""


def test_keyboard_search_shortcut_and_enter_opens_a_row(page, inventory):
    sign_in(page)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "q"
    page.locator("table[data-rows] tbody tr").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#panel [data-detail]")


def test_export_csv_downloads_the_filtered_view(page, inventory):
    sign_in(page)
    page.fill("input[name=q]", "globex")
    page.wait_for_url(re.compile(r"q=globex"))
    expect(page.locator("table[data-rows] tbody tr")).to_have_count(5)
    with page.expect_download() as download_info:
        page.click("a.export")
    text = Path(download_info.value.path()).read_text(encoding="utf-8")
    lines = text.strip().splitlines()
    assert lines[0].startswith("number,label,owner")
    assert len(lines) == 1 + 5 and all("globex" in line for line in lines[1:])
