"""The inventory's health findings: what upstream allows but support should look at.

Each finding is defined once, here: ``condition``, a query condition on the
numbers table (the inventory's quick filter and the overview's count), and
``applies``, the same test on one loaded number (the row's badge). Both read
columns of the number itself, so a filter or a count never joins the graph.
A finding that depends on the agent graph (its agent's webhook, a connection's
type) is kept in a column of its own (``kept_as``): ``derived`` computes it
fresh as a query, ``derive`` for one number's ``Links``, and
``phone_numbers.upkeep`` keeps the column equal to them on every write.

A number a filter returns is exactly a number whose row shows that finding
(``tests/phone_numbers/test_health.py`` holds them to it). The conditions are
those of the partial indexes (``PhoneNumber.Meta.indexes``), or PostgreSQL
would not use them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q

from agents.models import LLM_CONNECTION_TYPES

from .models import PROVIDER_CONNECTION_TYPES, PhoneNumber


@dataclass(frozen=True)
class Links:
    """What one number's health depends on in the agent graph (``upkeep.lock_links``)."""

    agent: uuid.UUID | None = None
    prompt: uuid.UUID | None = None
    webhook: uuid.UUID | None = None
    llm: uuid.UUID | None = None
    llm_type: str | None = None
    telephony: uuid.UUID | None = None
    telephony_type: str | None = None
    provider: str = ""
    agent_name: str | None = None  # not health: the number's kept sort key (upkeep)


@dataclass(frozen=True)
class HealthFinding:
    """One finding: its filter key, its badge, what it means, and its tests."""

    key: str
    label: str
    meaning: str
    condition: Q  # the filter, on the number's own columns
    applies: Callable[[PhoneNumber], bool]  # the badge, on the same columns
    kept_as: str = ""  # the column upkeep keeps, for a finding that depends on the graph
    derived: Q | None = None  # that column computed fresh, as a query...
    derive: Callable[[Links], bool] | None = None  # ...and for one number's links


def _telephony_mismatch_q() -> Q:
    """A telephony connection whose type does not fit the number's provider."""
    fits = Q()
    for provider, types in PROVIDER_CONNECTION_TYPES.items():
        fits |= Q(telephony_provider=provider, telephony_account_connection__type__in=sorted(types))
    return Q(telephony_account_connection__isnull=False) & ~fits


def _llm_mismatch_q() -> Q:
    """The inbound agent's OpenAI connection is not an LLM connection."""
    return Q(inbound_agent__openai_account_connection__isnull=False) & ~Q(
        inbound_agent__openai_account_connection__type__in=sorted(LLM_CONNECTION_TYPES)
    )


def _misconfigured(links: Links) -> bool:
    telephony_fits = links.telephony is None or links.telephony_type in (
        PROVIDER_CONNECTION_TYPES.get(links.provider, frozenset())
    )
    llm_fits = links.llm is None or links.llm_type in LLM_CONNECTION_TYPES
    return not telephony_fits or not llm_fits


HEALTH_FINDINGS: dict[str, HealthFinding] = {
    f.key: f
    for f in (
        HealthFinding(
            key="routes_nowhere",
            label="Routes nowhere",
            meaning="Active and takes inbound calls, but has no inbound agent.",
            condition=Q(active=True, outbound_only=False, inbound_agent__isnull=True),
            applies=lambda n: n.active and not n.outbound_only and n.inbound_agent_id is None,
        ),
        HealthFinding(
            key="no_webhook",
            label="Agent has no webhook",
            meaning="Its inbound agent has no webhook.",
            condition=Q(agent_without_webhook=True),
            applies=lambda n: n.agent_without_webhook,
            kept_as="agent_without_webhook",
            derived=Q(inbound_agent__isnull=False, inbound_agent__webhook__isnull=True),
            derive=lambda links: links.agent is not None and links.webhook is None,
        ),
        HealthFinding(
            key="misconfigured",
            label="Misconfigured connection",
            meaning=(
                "Its telephony connection's type does not fit its provider, or its agent's "
                "OpenAI connection is not an LLM connection."
            ),
            condition=Q(misconfigured=True),
            applies=lambda n: n.misconfigured,
            kept_as="misconfigured",
            derived=_telephony_mismatch_q() | _llm_mismatch_q(),
            derive=_misconfigured,
        ),
        HealthFinding(
            key="invalid_number",
            label="Invalid number",
            meaning="Not a valid number for its region (a placeholder?).",
            condition=Q(number_is_valid=False),
            applies=lambda n: not n.number_is_valid,
        ),
    )
}


def findings_for(number: PhoneNumber) -> tuple[HealthFinding, ...]:
    """The findings that apply to ``number``, in ``HEALTH_FINDINGS`` order.

    ``number`` needs the columns ``queries.INVENTORY_COLUMNS`` loads.
    """
    return tuple(f for f in HEALTH_FINDINGS.values() if f.applies(number))


# The findings upkeep keeps in columns, by column.
KEPT: dict[str, HealthFinding] = {f.kept_as: f for f in HEALTH_FINDINGS.values() if f.kept_as}
