"""Every read of the inventory: scoping, filters and the health findings.

The dashboard, the API and the admin call these functions so that what one
shows, the others show too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from agents.models import LLM_CONNECTION_TYPES, Agent

from .models import PROVIDER_CONNECTION_TYPES, PhoneNumber


def telephony_connection_mismatch_q(prefix: str = "") -> Q:
    """Numbers whose telephony connection's type does not fit their provider."""
    fits = Q()
    for provider, types in PROVIDER_CONNECTION_TYPES.items():
        fits |= Q(
            **{
                f"{prefix}telephony_provider": provider,
                f"{prefix}telephony_account_connection__type__in": sorted(types),
            }
        )
    return Q(**{f"{prefix}telephony_account_connection__isnull": False}) & ~fits


def llm_connection_mismatch_q(prefix: str = "") -> Q:
    """Agents whose "OpenAI" connection is not of an LLM type."""
    return Q(**{f"{prefix}openai_account_connection__isnull": False}) & ~Q(
        **{f"{prefix}openai_account_connection__type__in": sorted(LLM_CONNECTION_TYPES)}
    )


def misconfigured_connection_q() -> Q:
    """Numbers with either kind of connection mismatch (theirs or their agent's)."""
    return telephony_connection_mismatch_q() | llm_connection_mismatch_q("inbound_agent__")


@dataclass(frozen=True)
class Finding:
    """Something upstream allows but support staff should look at."""

    kind: str
    object: Any
    message: str


def findings(*, limit: int = 100) -> Iterator[Finding]:
    """Mismatches kept from upstream data, each kind capped at ``limit`` rows."""
    numbers = PhoneNumber.objects.select_related("telephony_account_connection", "user")
    for number in numbers.filter(telephony_connection_mismatch_q()).order_by("number", "id")[
        :limit
    ]:
        conn = number.telephony_account_connection
        yield Finding(
            "telephony_connection_mismatch",
            number,
            f"{number.number} is a {number.get_telephony_provider_display()} number but its "
            f"telephony connection {conn} is of type {conn.type}.",
        )
    agents = Agent.objects.select_related("openai_account_connection", "user")
    for agent in agents.filter(llm_connection_mismatch_q()).order_by("name", "id")[:limit]:
        conn = agent.openai_account_connection
        yield Finding(
            "llm_connection_mismatch",
            agent,
            f"Agent {agent.name} uses {conn} ({conn.type}) as its OpenAI connection, "
            "which is not an LLM connection.",
        )
    for number in numbers.filter(number_is_valid=False).order_by("number", "id")[:limit]:
        yield Finding(
            "invalid_number",
            number,
            f"{number.number} is not a valid number for its region (a placeholder?).",
        )
