"""The console's main pages with a little of everything on them, for the browser
tests that visit every page (accessibility, screen sizes)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import reverse

from agents.models import Agent
from audit.services import Actor
from phone_numbers.services import phone_number_update
from tests.factories import make_agent, make_connection, make_number, make_webhook
from users.models import User

PASSWORD = "a11y-pass-123456"
STAFF = "staff@switchboard.test"


@dataclass
class ConsolePage:
    """A page to visit: its name (the screenshot's) and URL; ``panel``: open the
    first inventory row's detail panel there."""

    name: str
    url: str
    panel: bool = False
    signed_in: bool = True


def make_console_data() -> list[ConsolePage]:
    """An owner with an agent, webhook, connection, 30 numbers (some with health
    findings) and an audited edit; a superuser to look at them. The pages to visit."""
    owner = User.objects.create_user("ops@acme.example")
    conn = make_connection(owner, credentials={"twilio_auth_token": "x" * 20}, label="Acme Twilio")
    hook = make_webhook(owner, label="Call events")
    desk: Agent = make_agent(owner, name="Front Desk", webhook=hook)
    numbers = [
        make_number(
            owner,
            f"+1415555{i:04d}",
            label=f"Acme reception line {i:02d}",
            inbound_agent=desk if i % 3 else None,
            telephony_account_connection=conn,
        )
        for i in range(30)
    ]
    phone_number_update(
        number=numbers[1],
        changes={"label": "Sales desk, second floor"},
        expected_version=numbers[1].version,
        actor=Actor("ops@switchboard.test", "admin", reason="Moved to sales"),
    )
    User.objects.create_superuser(STAFF, PASSWORD)
    return [
        ConsolePage("login", reverse("login"), signed_in=False),
        ConsolePage("overview", reverse("home")),
        ConsolePage("inventory", reverse("numbers:list")),
        ConsolePage("detail-panel", reverse("numbers:list"), panel=True),
        ConsolePage("number", reverse("numbers:detail", args=[numbers[1].pk])),
        ConsolePage("customer", reverse("customers:detail", args=[owner.pk])),
        ConsolePage("account", reverse("account:detail")),
        ConsolePage("agents", reverse("agents:list")),
        ConsolePage("agent", reverse("agents:detail", args=[desk.pk])),
        ConsolePage("webhook", reverse("agents:webhook", args=[hook.pk])),
        ConsolePage("connection", reverse("agents:connection", args=[conn.pk])),
        ConsolePage("audit", reverse("audit:list")),
    ]


def sign_in(page) -> None:
    page.goto("/login/?next=/numbers/")
    page.fill("#id_username", STAFF)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/numbers/$"))


def visit(page, target: ConsolePage) -> None:
    """Open ``target`` (and its panel) and wait until it has settled."""
    page.goto(target.url)
    page.wait_for_load_state("load")
    if target.panel:
        page.locator("table[data-rows] tbody tr a[data-open]").first.click()
        page.wait_for_selector("#panel [data-detail]")
