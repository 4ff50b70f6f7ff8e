"""The inventory by keyboard alone (issue 17): a skip link, j/k and the arrows
between rows, Enter opens, Esc closes, e edits, focus back on the row, ? lists
the shortcuts, and no shortcut while typing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import make_number
from users.management.commands.setup_roles import ensure_roles
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "keys-pass-123456"


@pytest.fixture
def numbers(db):
    owner = User.objects.create_user("ops@acme.example")
    made = [make_number(owner, f"+1415555{i:04d}", label=f"Line {i}") for i in range(5)]
    editor = User.objects.create_user("editor@switchboard.test", PASSWORD, is_staff=True)
    editor.groups.add(ensure_roles()["Number admins"])
    return made


@pytest.fixture
def inventory(page, numbers):
    page.goto("/login/?next=/numbers/")
    page.fill("#id_username", "editor@switchboard.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/numbers/$"))
    page.wait_for_selector("#results[data-htmx-ready], body[data-htmx-ready]")
    return page


def focused_row(page) -> str:
    return page.locator("tr:focus").get_attribute("id") or ""


def row_id(number) -> str:
    return f"row-{number.pk}"


def test_the_first_tab_reaches_the_skip_link_and_it_lands_on_the_first_row(inventory, numbers):
    inventory.keyboard.press("Tab")
    expect(inventory.locator(".skip-link")).to_be_focused()
    expect(inventory.locator(".skip-link")).to_have_text("Skip to results")
    inventory.keyboard.press("Enter")
    expect(inventory.locator(f"#{row_id(numbers[0])}")).to_be_focused()


def test_j_k_and_the_arrows_move_between_rows(inventory, numbers):
    inventory.keyboard.press("j")  # from outside the table: the first row
    assert focused_row(inventory) == row_id(numbers[0])
    inventory.keyboard.press("j")
    inventory.keyboard.press("ArrowDown")
    assert focused_row(inventory) == row_id(numbers[2])
    inventory.keyboard.press("k")
    assert focused_row(inventory) == row_id(numbers[1])
    inventory.keyboard.press("ArrowUp")
    inventory.keyboard.press("ArrowUp")  # stays on the first row
    assert focused_row(inventory) == row_id(numbers[0])


def test_enter_opens_the_panel_and_esc_gives_focus_back_to_the_row(inventory, numbers):
    inventory.keyboard.press("j")
    inventory.keyboard.press("j")
    inventory.keyboard.press("Enter")
    expect(inventory.locator("#panel [data-detail] h2")).to_be_focused()
    inventory.wait_for_url(re.compile(rf"/numbers/{numbers[1].pk}/"))
    inventory.keyboard.press("Escape")
    inventory.wait_for_url(re.compile(r"/numbers/$"))
    expect(inventory.locator("#panel [data-detail]")).to_have_count(0)
    expect(inventory.locator(f"#{row_id(numbers[1])}")).to_be_focused()


def test_e_edits_the_label_and_saving_gives_focus_back_to_the_row(inventory, numbers):
    inventory.keyboard.press("j")
    inventory.keyboard.press("e")
    field = inventory.locator(f"#{row_id(numbers[0])} form[data-edit-form] input[name=label]")
    expect(field).to_be_focused()
    field.fill("Front desk")
    field.press("Enter")
    inventory.wait_for_selector(f"#{row_id(numbers[0])} td.label:has-text('Front desk')")
    expect(inventory.locator(f"#{row_id(numbers[0])}")).to_be_focused()
    inventory.keyboard.press("j")  # and the keys go on working from there
    assert focused_row(inventory) == row_id(numbers[1])


def test_question_mark_lists_the_shortcuts(inventory):
    inventory.keyboard.press("?")
    dialog = inventory.locator("dialog#shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Next row")
    inventory.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_no_shortcut_fires_while_typing_in_the_search_box(inventory):
    search = inventory.locator("input[name=q]")
    search.focus()
    inventory.keyboard.type("jk?e")
    assert search.input_value() == "jk?e"
    expect(inventory.locator("dialog#shortcuts")).to_be_hidden()
    expect(search).to_be_focused()
