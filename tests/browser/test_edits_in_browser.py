"""A number admin edits in a real browser; a second browser makes a conflict."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_number
from users.management.commands.setup_roles import ensure_roles
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "editor-pass-123456"


@pytest.fixture
def setup(db):
    owner = User.objects.create_user("ops@acme.example")
    make_agent(owner, name="Front Desk")
    make_agent(owner, name="Night Line")
    number = make_number(owner, "+14155550123", label="Main")
    for email in ("editor@switchboard.test", "colleague@switchboard.test"):
        user = User.objects.create_user(email, PASSWORD, is_staff=True)
        user.groups.add(ensure_roles()["Number admins"])
    return number


def signed_in(browser, live_server, email):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/login/?next=/numbers/")  # sign-in lands on the overview otherwise
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/numbers/$"))
    return page


def htmx_ready(page, selector: str):
    """Swapped-in content, once htmx has bound its triggers (typing earlier is lost).

    app.js marks it with data-htmx-ready on htmx:load; waiting on a selector
    needs no eval, which the Content-Security-Policy forbids.
    """
    page.wait_for_selector(selector)
    return page.locator(selector)


def edit_label(page, number):
    row(page, number).locator("[data-edit-label]").click()
    return htmx_ready(page, f"#row-{number.pk}[data-htmx-ready] form[data-edit-form]").locator(
        "input[name=label]"
    )


def row(page, number):
    return page.locator(f"#row-{number.pk}")


def test_edit_a_label_save_with_enter_and_reload(browser, live_server, setup):
    page = signed_in(browser, live_server, "editor@switchboard.test")
    field = edit_label(page, setup)
    field.fill("Sales line")
    field.press("Enter")
    page.wait_for_selector(f"#row-{setup.pk} td.label:has-text('Sales line')")
    page.reload()
    assert "Sales line" in row(page, setup).locator("td.label").inner_text()
    assert PhoneNumber.objects.get(pk=setup.pk).label == "Sales line"


def test_escape_cancels_an_edit(browser, live_server, setup):
    page = signed_in(browser, live_server, "editor@switchboard.test")
    row(page, setup).focus()
    page.keyboard.press("e")  # e on a focused row edits its label
    field = htmx_ready(page, f"#row-{setup.pk}[data-htmx-ready] form[data-edit-form]").locator(
        "input[name=label]"
    )
    field.fill("Not saved")
    field.press("Escape")
    page.wait_for_selector(f"#row-{setup.pk} [data-edit-label]")
    assert PhoneNumber.objects.get(pk=setup.pk).label == "Main"


def test_pick_an_agent_in_the_detail_panel_and_the_row_follows(browser, live_server, setup):
    page = signed_in(browser, live_server, "editor@switchboard.test")
    row(page, setup).locator("a[data-open]").click()
    htmx_ready(page, f"#panel [data-detail][data-htmx-ready] #panel-agent-{setup.pk} a.edit")
    page.locator(f"#panel-agent-{setup.pk} a.edit").click()
    htmx_ready(page, f"#panel-agent-{setup.pk} form[data-htmx-ready] input[name=agent_q]").fill(
        "night"
    )
    # The search's one match, between "Choose…" and "No agent" (neither is chosen for you).
    expect(page.locator(f"#panel-agent-{setup.pk} select option")).to_have_count(3)
    page.locator(f"#panel-agent-{setup.pk} select").select_option(label="Night Line (en)")
    page.locator(f"#panel-agent-{setup.pk} button[type=submit]").click()
    page.wait_for_selector(f"#panel-agent-{setup.pk} a:has-text('Night Line')")
    page.wait_for_selector(f"#row-{setup.pk} a:has-text('Night Line')")  # out-of-band row
    assert PhoneNumber.objects.get(pk=setup.pk).inbound_agent.name == "Night Line"


def test_a_conflict_from_a_second_browser_shows_and_loses_nothing(browser, live_server, setup):
    mine = signed_in(browser, live_server, "editor@switchboard.test")
    theirs = signed_in(browser, live_server, "colleague@switchboard.test")

    my_field = edit_label(mine, setup)  # opened at version 1
    theirs_field = edit_label(theirs, setup)
    theirs_field.fill("Their label")
    theirs_field.press("Enter")
    theirs.wait_for_selector(f"#row-{setup.pk} td.label:has-text('Their label')")

    my_field.fill("My label")
    my_field.press("Enter")
    warning = mine.wait_for_selector("[data-conflict]")
    text = warning.inner_text()
    assert "colleague@switchboard.test" in text and "Their label" in text
    assert PhoneNumber.objects.get(pk=setup.pk).label == "Their label"  # nothing overwritten
    assert row(mine, setup).locator("input[name=label]").input_value() == "My label"

    row(mine, setup).locator("input[name=label]").press("Enter")  # knowingly re-apply
    mine.wait_for_selector(f"#row-{setup.pk} td.label:has-text('My label')")
    assert PhoneNumber.objects.get(pk=setup.pk).label == "My label"
