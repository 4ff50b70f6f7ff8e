"""Test data for the dependents tests: a small agent graph and many numbers using it."""

from __future__ import annotations

import html
import itertools
import re
from typing import Any
from urllib.parse import parse_qsl

from agents.models import ConnectionType
from phone_numbers import phone, upkeep
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_connection, make_prompt, make_webhook
from users.models import User

_digits = itertools.count(1000)


def make_graph(owner: User) -> dict[str, Any]:
    """Two agents: "Front Desk" (webhook "CRM hook", prompt "Desk prompt", LLM
    connection "OpenAI prod") and "Sales" (webhook "Billing hook", no prompt or LLM),
    and a telephony connection "Acme Twilio"."""
    hook = make_webhook(owner, label="CRM hook")
    billing = make_webhook(owner, label="Billing hook")
    prompt = make_prompt(owner, label="Desk prompt")
    openai = make_connection(
        owner,
        type=ConnectionType.OPENAI,
        label="OpenAI prod",
        credentials={"openai_api_key": "sk-" + "x" * 40},
    )
    twilio = make_connection(owner, label="Acme Twilio")
    desk = make_agent(
        owner, name="Front Desk", webhook=hook, prompt=prompt, openai_account_connection=openai
    )
    sales = make_agent(owner, name="Sales", webhook=billing)
    return {
        "hook": hook,
        "billing": billing,
        "prompt": prompt,
        "openai": openai,
        "twilio": twilio,
        "desk": desk,
        "sales": sales,
    }


def add_numbers(owner: User, count: int, **fields: Any) -> list[PhoneNumber]:
    """``count`` numbers with ``fields``, inserted at once, then the kept columns and
    counts computed as the write paths would have (``upkeep.rebuild``)."""
    fields.setdefault("telephony_provider", "twilio")
    made = []
    for _ in range(count):
        number = f"+1303555{next(_digits) % 10000:04d}"
        made.append(
            PhoneNumber(user=owner, number=number, number_is_valid=phone.is_valid(number), **fields)
        )
    PhoneNumber.objects.bulk_create(made)
    upkeep.rebuild()
    return made


def row_ids(body: str) -> list[str]:
    """The ids of the inventory rows in a page."""
    return re.findall(r'<tr tabindex="0" id="row-([0-9a-f-]{36})"', body)


def links(body: str, marker: str) -> list[tuple[str, dict[str, str]]]:
    """(path, query parameters) of each ``<a>`` whose attributes include ``marker``."""
    found = []
    for tag in re.findall(r"<a [^>]*>", body):
        if marker not in tag:
            continue
        href = html.unescape(re.search(r'href="([^"]*)"', tag).group(1))
        path, _, query = href.partition("?")
        found.append((path, dict(parse_qsl(query, keep_blank_values=True))))
    return found
