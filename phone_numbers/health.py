"""The inventory's health findings: what upstream allows but support should look at.

Each finding is defined once, in two forms that must agree: ``condition``, a
query condition on the numbers table (the inventory's quick filter), and
``applies``, the same test on one loaded number (the row's badge). A number a
filter returns is exactly a number whose row shows that finding
(``tests/phone_numbers/test_health.py`` holds them to it).

"Routes nowhere" and "invalid number" keep the exact conditions of their
partial indexes (``PhoneNumber.Meta.indexes``), or PostgreSQL would not use them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q

from agents.models import LLM_CONNECTION_TYPES

from .models import PROVIDER_CONNECTION_TYPES, PhoneNumber


@dataclass(frozen=True)
class HealthFinding:
    """One finding: its filter key, its badge, what it means, and its two tests."""

    key: str
    label: str
    meaning: str
    condition: Q
    applies: Callable[[PhoneNumber], bool]


def _telephony_mismatch_q() -> Q:
    """The query form of ``PhoneNumber.has_connection_mismatch``."""
    fits = Q()
    for provider, types in PROVIDER_CONNECTION_TYPES.items():
        fits |= Q(telephony_provider=provider, telephony_account_connection__type__in=sorted(types))
    return Q(telephony_account_connection__isnull=False) & ~fits


def _llm_mismatch_q() -> Q:
    """The query form of the inbound agent's ``Agent.has_llm_mismatch``."""
    return Q(inbound_agent__openai_account_connection__isnull=False) & ~Q(
        inbound_agent__openai_account_connection__type__in=sorted(LLM_CONNECTION_TYPES)
    )


def _routes_nowhere(n: PhoneNumber) -> bool:
    return n.active and not n.outbound_only and n.inbound_agent_id is None


def _no_webhook(n: PhoneNumber) -> bool:
    return n.inbound_agent_id is not None and n.inbound_agent.webhook_id is None


def _misconfigured(n: PhoneNumber) -> bool:
    agent = n.inbound_agent if n.inbound_agent_id is not None else None
    return n.has_connection_mismatch or (agent is not None and agent.has_llm_mismatch)


def _invalid(n: PhoneNumber) -> bool:
    return not n.number_is_valid


HEALTH_FINDINGS: dict[str, HealthFinding] = {
    f.key: f
    for f in (
        HealthFinding(
            key="routes_nowhere",
            label="Routes nowhere",
            meaning="Active and takes inbound calls, but has no inbound agent.",
            condition=Q(active=True, outbound_only=False, inbound_agent__isnull=True),
            applies=_routes_nowhere,
        ),
        HealthFinding(
            key="no_webhook",
            label="Agent has no webhook",
            meaning="Its inbound agent has no webhook.",
            condition=Q(inbound_agent__isnull=False, inbound_agent__webhook__isnull=True),
            applies=_no_webhook,
        ),
        HealthFinding(
            key="misconfigured",
            label="Misconfigured connection",
            meaning=(
                "Its telephony connection's type does not fit its provider, or its agent's "
                "OpenAI connection is not an LLM connection."
            ),
            condition=_telephony_mismatch_q() | _llm_mismatch_q(),
            applies=_misconfigured,
        ),
        HealthFinding(
            key="invalid_number",
            label="Invalid number",
            meaning="Not a valid number for its region (a placeholder?).",
            condition=Q(number_is_valid=False),
            applies=_invalid,
        ),
    )
}


def findings_for(number: PhoneNumber) -> tuple[HealthFinding, ...]:
    """The findings that apply to ``number``, in ``HEALTH_FINDINGS`` order.

    ``number`` needs what ``queries.INVENTORY_COLUMNS`` loads (its agent's webhook
    id and OpenAI connection type included), or each row costs queries.
    """
    return tuple(f for f in HEALTH_FINDINGS.values() if f.applies(number))
