"""Test data for the overview and the account page: two customers whose numbers have
every finding, on every provider, and audited changes with reasons."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agents.models import ConnectionType
from audit.services import Actor
from phone_numbers.services import phone_number_update
from tests.factories import make_agent, make_connection, make_number, make_webhook
from users.models import User

TWILIO_SECRET = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
OPENAI_SECRET = "sk-live-overview-9f8e7d6c5b4a3f2e1d0c"


@dataclass
class Inventory:
    """Who owns what, and which numbers have which finding (by fixture name)."""

    acme: User
    globex: User
    numbers: dict[str, Any] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)


# Which fixture numbers each finding names (as phone_numbers.health defines them).
EXPECTED = {
    "routes_nowhere": {"nowhere", "wrong_conn", "placeholder", "globex_nowhere"},
    "no_webhook": {"no_hook"},
    "misconfigured": {"wrong_conn", "vonage_twilio", "llm_mismatch"},
    "invalid_number": {"placeholder"},
}


def make_inventory(acme: User, globex: User) -> Inventory:
    """Acme: a number for every finding and for near misses of them, on Twilio, Telnyx
    and Vonage; Globex: one number that routes nowhere and one that is fine."""
    twilio = make_connection(
        acme,
        label="Acme Twilio",
        credentials={"twilio_account_sid": "AC" + "1" * 32, "twilio_auth_token": TWILIO_SECRET},
    )
    telnyx = make_connection(
        acme,
        type=ConnectionType.TELNYX,
        label="Acme Telnyx",
        credentials={"telnyx_api_key": "KEY" + "z" * 30},
    )
    api_key = make_connection(
        acme,
        type=ConnectionType.EXTERNAL_API_KEY,
        label="Acme Vonage key",
        credentials={"api_key": "k" * 30},
    )
    openai = make_connection(
        acme,
        type=ConnectionType.OPENAI,
        label="Acme OpenAI",
        credentials={"openai_api_key": OPENAI_SECRET},
    )
    hook = make_webhook(acme, label="Acme CRM")
    desk = make_agent(acme, name="Desk", webhook=hook, openai_account_connection=openai)
    no_hook = make_agent(acme, name="No hook")
    wrong_llm = make_agent(acme, name="Wrong LLM", webhook=hook, openai_account_connection=twilio)
    theirs = make_agent(globex, name="Globex desk", webhook=make_webhook(globex))
    numbers = {
        "fine": make_number(
            acme, "+14155550100", inbound_agent=desk, telephony_account_connection=twilio
        ),
        "telnyx_fine": make_number(
            acme,
            "+14155550101",
            inbound_agent=desk,
            telephony_provider="telnyx",
            telephony_account_connection=telnyx,
        ),
        "vonage_fine": make_number(
            acme,
            "+14155550102",
            inbound_agent=desk,
            telephony_provider="vonage",
            telephony_account_connection=api_key,
        ),
        "nowhere": make_number(acme, "+14155550103"),
        "outbound": make_number(acme, "+14155550104", outbound_only=True),
        "inactive": make_number(acme, "+14155550105", active=False),
        "no_hook": make_number(acme, "+14155550106", inbound_agent=no_hook),
        "wrong_conn": make_number(
            acme, "+14155550107", telephony_provider="telnyx", telephony_account_connection=twilio
        ),
        "vonage_twilio": make_number(
            acme,
            "+14155550108",
            inbound_agent=desk,
            telephony_provider="vonage",
            telephony_account_connection=twilio,
        ),
        "llm_mismatch": make_number(acme, "+14155550109", inbound_agent=wrong_llm),
        "placeholder": make_number(acme, "+1234567890"),
        "globex_nowhere": make_number(globex, "+442079460123"),
        "globex_fine": make_number(globex, "+442079460124", inbound_agent=theirs),
    }
    return Inventory(
        acme=acme,
        globex=globex,
        numbers=numbers,
        objects={
            "twilio": twilio,
            "telnyx": telnyx,
            "api_key": api_key,
            "openai": openai,
            "hook": hook,
            "desk": desk,
            "no_hook": no_hook,
            "wrong_llm": wrong_llm,
            "theirs": theirs,
        },
    )


def audited_change(number: Any, label: str, reason: str, who: str = "ops@switchboard.test"):
    """A label change through the service, with its reason (one audit entry)."""
    return phone_number_update(
        number=number, changes={"label": label}, actor=Actor(who, "dashboard", reason=reason)
    )


def hrefs(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]*)"', html)]
