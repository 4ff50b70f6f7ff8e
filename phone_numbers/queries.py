"""Every read of the inventory: scoping, filters and the health findings.

The dashboard, the API and the admin call these functions so that what one
shows, the others show too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from agents.models import LLM_CONNECTION_TYPES, Agent
from agents.queries import AGENT_GRAPH, agent_graph_prefetch

from .models import PROVIDER_CONNECTION_TYPES, PhoneNumber

# Columns a list may be sorted by; every ordering ends with the id so that
# pages never repeat or skip rows.
NUMBER_SORTS = {
    "number": "number",
    "label": "label",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "active": "active",
    "telephony_provider": "telephony_provider",
}


def with_number_graph(queryset: QuerySet[PhoneNumber]) -> QuerySet[PhoneNumber]:
    """Load what the API shows of a number in two queries, whatever the page size."""
    return (
        queryset.select_related(
            "telephony_account_connection", *(f"inbound_agent__{p}" for p in AGENT_GRAPH)
        )
        .defer(
            "telephony_account_connection__credentials",
            "inbound_agent__openai_account_connection__credentials",
        )
        .prefetch_related(agent_graph_prefetch("inbound_agent__"))
    )


def phone_number_list(
    *, owner: Any = None, sort: str = "number", desc: bool = False
) -> QuerySet[PhoneNumber]:
    """Numbers (of ``owner`` when given), sorted by a whitelisted column, then id."""
    column = NUMBER_SORTS.get(sort, "number")
    prefix = "-" if desc else ""
    queryset = PhoneNumber.objects.all()
    if owner is not None:
        queryset = queryset.filter(user=owner)
    return with_number_graph(queryset).order_by(f"{prefix}{column}", f"{prefix}id")


def phone_number_for_owner(*, owner: Any, number: str) -> PhoneNumber | None:
    """The owner's number, or None (another user's number is None too)."""
    return with_number_graph(PhoneNumber.objects.filter(user=owner, number=number)).first()


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
