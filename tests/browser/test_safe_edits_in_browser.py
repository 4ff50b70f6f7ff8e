"""Issue 15 in a real browser: the agent picker, bulk changes, editing without
JavaScript, and a console without errors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from audit.models import AuditEntry
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_number
from users.management.commands.setup_roles import ensure_roles
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "editor-pass-123456"
EMAIL = "editor@switchboard.test"


@pytest.fixture
def acme(db):
    """Five numbers of one customer (routed to Front Desk), two of another, an editor."""
    owner = User.objects.create_user("ops@acme.example")
    desk = make_agent(owner, name="Front Desk")
    make_agent(owner, name="Night Line")
    numbers = [
        make_number(owner, f"+1415555010{i}", label=f"Acme {i}", inbound_agent=desk)
        for i in range(5)
    ]
    other = User.objects.create_user("ops@globex.example")
    make_agent(other, name="Globex Desk")
    for i in range(2):
        make_number(other, f"+1212555010{i}", label=f"Globex {i}")
    user = User.objects.create_user(EMAIL, PASSWORD, is_staff=True)
    user.groups.add(ensure_roles()["Number admins"])
    return numbers


def new_page(browser, live_server, *, javascript: bool = True):
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        base_url=live_server.url,
        java_script_enabled=javascript,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def sign_in(page) -> None:
    page.goto("/login/?next=/numbers/")  # sign-in lands on the overview otherwise
    page.fill("#id_username", EMAIL)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/numbers/$"))


def ready(page, selector: str):
    """Swapped-in content once htmx has bound its triggers (app.js marks it)."""
    page.wait_for_selector(selector)
    return page.locator(selector)


def row(page, number):
    return page.locator(f"#row-{number.pk}")


def agent_of(number) -> str | None:
    agent = PhoneNumber.objects.get(pk=number.pk).inbound_agent
    return agent.name if agent else None


def test_enter_on_an_agent_search_without_a_match_saves_nothing(browser, live_server, acme):
    """Trap: after a search without a match the list held only "No agent", selected,
    so Enter saved it and the number silently stopped routing calls."""
    number = acme[0]
    page = new_page(browser, live_server)
    sign_in(page)
    row(page, number).locator("[data-edit-agent]").click()
    search = ready(page, f"#row-{number.pk}[data-htmx-ready] input[name=agent_q]")
    with page.expect_response(lambda response: "/agent-options" in response.url):
        search.fill("xyz")  # the live search answers before Enter, as a person waits
    with page.expect_response(lambda response: response.request.method == "POST"):
        search.press("Enter")
    assert agent_of(number) == "Front Desk"
    assert not AuditEntry.objects.filter(object_type="numbers.phonenumber").exists()
    expect(row(page, number).locator("[data-outcome]")).to_have_text(
        "No agent matches “xyz”: nothing saved."
    )
    expect(row(page, number).locator("select[name=agent] option:checked")).to_have_text(
        "No agent matches “xyz”"
    )


def test_no_agent_asks_to_confirm_before_calls_go_nowhere(browser, live_server, acme):
    """Trap: "No agent" was saved at once (and was the list's default)."""
    number = acme[0]
    page = new_page(browser, live_server)
    sign_in(page)
    row(page, number).locator("a[data-open]").click()
    ready(page, f"#panel [data-detail][data-htmx-ready] #panel-agent-{number.pk} a.edit").click()
    cell = f"#panel-agent-{number.pk}"
    ready(page, f"{cell} form[data-htmx-ready] select[name=agent]").select_option(
        label="No agent: calls go nowhere"
    )
    page.locator(f"{cell} button[type=submit]").click()
    confirm = ready(page, f"{cell} form[data-htmx-ready] [data-confirm-none]")
    expect(confirm).to_contain_text("Calls to this number will go nowhere")
    assert agent_of(number) == "Front Desk"  # not yet

    page.locator(f"{cell} button[name=confirm_none]").click()
    expect(page.locator(cell)).to_contain_text("no agent")
    expect(row(page, number)).to_contain_text("no agent")  # the row follows
    assert agent_of(number) is None


def test_bulk_assign_three_rows_confirm_then_apply(browser, live_server, acme):
    """Trap: one click applied the change, to agents of any customer, with no count."""
    page = new_page(browser, live_server)
    sign_in(page)
    for number in acme[:3]:
        row(page, number).locator("input[name=ids]").check()
    page.get_by_role("button", name="Assign an agent…").click()
    choose = ready(page, "#bulk[data-htmx-ready] [data-bulk-step=choose]")
    expect(choose.locator("[data-bulk-selection]")).to_contain_text("3 numbers of 1 customer")
    expect(choose.locator("#bulk-agent")).not_to_contain_text("Globex Desk")
    choose.locator("#bulk-agent").select_option(label="Night Line (en)")
    choose.get_by_role("button", name="Review change…").click()

    confirm = ready(page, "#bulk[data-htmx-ready] [data-bulk-step=confirm]")
    expect(confirm.locator("h2")).to_have_text("Confirm: route to Night Line")
    expect(confirm.locator("[data-plan-summary]")).to_contain_text(
        "3 numbers of 1 customer (ops@acme.example): 3 will change, 0 are already so."
    )
    for number in acme[:3]:  # the selection is still ticked under the confirmation
        expect(row(page, number).locator("input[name=ids]")).to_be_checked()
    assert {agent_of(n) for n in acme} == {"Front Desk"}  # nothing written yet
    confirm.locator("#bulk-reason").fill("SUP-42 night routing")
    confirm.get_by_role("button", name="Apply to 3 numbers").click()

    result = ready(page, "#bulk[data-htmx-ready] [data-bulk-result]")
    expect(result).to_have_text("Done: 3 numbers changed (route to Night Line).")
    for number in acme[:3]:
        expect(row(page, number)).to_contain_text("Night Line")
    expect(row(page, acme[3])).to_contain_text("Front Desk")
    assert [agent_of(n) for n in acme] == ["Night Line"] * 3 + ["Front Desk"] * 2
    reasons = AuditEntry.objects.filter(source="bulk").values_list("reason", flat=True)
    assert list(reasons) == ["SUP-42 night routing"] * 3


def test_edit_a_label_without_javascript(browser, live_server, acme):
    """Trap: the edit link went to a detail page without a form, and the form
    itself had only hx-post: without JavaScript nothing could be edited."""
    number = acme[0]
    page = new_page(browser, live_server, javascript=False)
    sign_in(page)
    row(page, number).locator("[data-edit-label]").click()
    page.wait_for_url(re.compile(rf"/numbers/{number.pk}/label/edit$"))
    field = page.locator(f"#panel-label-{number.pk} input[name=label]")
    field.fill("Sales line")
    page.locator(f"#panel-label-{number.pk} input[name=reason]").fill("SUP-7")
    field.press("Enter")
    page.wait_for_url(re.compile(rf"/numbers/{number.pk}/$"))
    expect(page.locator(".banner.success")).to_have_text("Label of +1 415-555-0100 saved.")
    expect(page.locator(f"#panel-label-{number.pk}")).to_contain_text("Sales line")
    assert PhoneNumber.objects.get(pk=number.pk).label == "Sales line"
    assert AuditEntry.objects.get(object_type="numbers.phonenumber").reason == "SUP-7"


def test_bulk_change_without_javascript(browser, live_server, acme):
    page = new_page(browser, live_server, javascript=False)
    sign_in(page)
    for number in acme[:2]:
        row(page, number).locator("input[name=ids]").check()
    page.get_by_role("button", name="Set active…").click()
    page.get_by_label("Inactive").check()
    page.get_by_role("button", name="Review change…").click()
    expect(page.locator("[data-plan-summary]")).to_contain_text("2 numbers of 1 customer")
    page.get_by_role("button", name="Apply to 2 numbers").click()
    expect(page.locator("[data-bulk-result]")).to_have_text(
        "Done: 2 numbers changed (set active: no)."
    )
    assert [PhoneNumber.objects.get(pk=n.pk).active for n in acme[:3]] == [False, False, True]


def test_no_console_errors_on_any_page(browser, live_server, acme):
    """Trap: a row save sent the panel's cells out of band with no panel open, and a
    save on the detail page sent a row that page does not have: htmx logged
    htmx:oobErrorNoTarget in the console."""
    first, second = acme[0], acme[1]
    page = new_page(browser, live_server)
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))

    def save_label(scope: str, text: str) -> None:
        ready(page, f"{scope} form[data-edit-form] input[name=label]").fill(text)
        page.locator(f"{scope} form[data-edit-form] input[name=label]").press("Enter")

    sign_in(page)  # the inventory
    row(page, first).locator("[data-edit-label]").click()  # an edit cancelled with Esc
    ready(page, f"#row-{first.pk}[data-htmx-ready] input[name=label]").press("Escape")
    ready(page, f"#row-{first.pk}[data-htmx-ready] [data-edit-label]")
    row(page, first).locator("[data-edit-label]").click()  # a row save, no panel open
    save_label(f"#row-{first.pk}[data-htmx-ready]", "One")
    expect(row(page, first).locator("td.label")).to_contain_text("One")

    row(page, first).locator("a[data-open]").click()  # a panel open
    ready(page, f"#panel [data-detail][data-htmx-ready] #panel-label-{first.pk} a.edit")
    row(page, first).locator("[data-edit-label]").click()  # a row save: the panel follows
    save_label(f"#row-{first.pk}[data-htmx-ready]", "Two")
    expect(page.locator(f"#panel-label-{first.pk}")).to_contain_text("Two")
    row(page, second).locator("[data-edit-label]").click()  # another row: the panel stays
    save_label(f"#row-{second.pk}[data-htmx-ready]", "Other")
    expect(row(page, second).locator("td.label")).to_contain_text("Other")
    page.locator(f"#panel-label-{first.pk} a.edit").click()  # a panel save: the row follows
    save_label(f"#panel-label-{first.pk}", "Three")
    expect(row(page, first).locator("td.label")).to_contain_text("Three")

    page.goto(f"/numbers/{first.pk}/")  # the detail page: a save there has no row
    page.locator(f"#panel-label-{first.pk} a.edit").click()
    save_label(f"#panel-label-{first.pk}", "Four")
    expect(page.locator(f"#panel-label-{first.pk}")).to_contain_text("Four")

    page.goto("/agents/")
    expect(page.locator("h1")).to_be_visible()
    page.goto("/audit/")
    expect(page.locator("h1")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert errors == []
