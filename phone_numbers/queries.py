"""Every read of the inventory: scoping, filters and sorting.

The dashboard, the API and the admin call these functions so that what one
shows, the others show too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from agents.models import Agent
from agents.queries import AGENT_GRAPH, agent_graph_prefetch
from core.db import ids_or_subquery
from core.ordering import whitelisted_order
from users.models import User

from . import phone
from .health import HEALTH_FINDINGS
from .models import PhoneNumber

# Columns a list may be sorted by; every ordering ends with the id so that
# pages never repeat or skip rows. The API offers the upstream's subset. Each
# sort is an index range scan both ways (PhoneNumber.Meta.indexes): a column of
# few values goes on by number; the agent's name and the owner's email are kept
# on the number (phone_numbers.upkeep), so no sort joins a million rows.
NUMBER_SORTS: dict[str, str | tuple[str, ...]] = {
    "number": "number",
    "label": "label",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "active": ("active", "number"),
    "telephony_provider": ("telephony_provider", "number"),
    "owner": "owner_email",
    "agent": "inbound_agent_name",
    "outbound_only": ("outbound_only", "number"),
}
API_NUMBER_SORTS = ("number", "label", "created_at", "updated_at", "active", "telephony_provider")

# A search made of digits and phone punctuation is a number search.
_NUMBER_SEARCH = re.compile(r"^[0-9\s().+-]+$")


@dataclass(frozen=True)
class NumberFilters:
    """What the inventory is narrowed to; every field optional."""

    q: str = ""
    owner: Any = None
    agent: Any = None
    provider: str = ""
    active: bool | None = None
    outbound_only: bool | None = None
    language: str = ""
    health: str = ""
    # What a number depends on in the agent graph: "which numbers use this?"
    prompt: Any = None  # through its agent
    webhook: Any = None  # through its agent
    connection: Any = None  # as telephony connection, or its agent's LLM connection
    connection_role: str = ""  # with connection: "telephony" or "llm" only (CONNECTION_ROLES)


def search_q(text: str) -> Q:
    """Digits in any format find numbers; other text finds labels, agents and owners."""
    text = text.strip()
    if not text:
        return Q()
    if _NUMBER_SEARCH.match(text):
        digits = phone.search_digits(text)
        if digits:
            return Q(number__contains=digits)
    # One condition per table, the agents and accounts that match looked up first
    # (core.db.ids_or_subquery says why; figures in docs/benchmarks.md).
    return (
        Q(label__icontains=text)
        | Q(inbound_agent__in=ids_or_subquery(Agent.objects.filter(name__icontains=text)))
        | Q(user__in=ids_or_subquery(User.objects.filter(email__icontains=text)))
    )


def filter_numbers(
    queryset: QuerySet[PhoneNumber], filters: NumberFilters
) -> QuerySet[PhoneNumber]:
    """Apply every filter that is set; they combine with AND."""
    if filters.q:
        queryset = queryset.filter(search_q(filters.q))
    if filters.owner is not None:
        queryset = queryset.filter(user=filters.owner)
    if filters.agent is not None:
        queryset = queryset.filter(inbound_agent=filters.agent)
    if filters.provider:
        queryset = queryset.filter(telephony_provider=filters.provider)
    if filters.active is not None:
        queryset = queryset.filter(active=filters.active)
    if filters.outbound_only is not None:
        queryset = queryset.filter(outbound_only=filters.outbound_only)
    if filters.language:
        queryset = queryset.filter(inbound_agent__language=filters.language)
    if filters.health in HEALTH_FINDINGS:
        queryset = queryset.filter(HEALTH_FINDINGS[filters.health].condition)
    # The agents first, then the numbers by their ids (as search_q does): the
    # planner then knows how few numbers it selects.
    if filters.prompt is not None:
        agents = Agent.objects.filter(prompt=filters.prompt)
        queryset = queryset.filter(inbound_agent__in=ids_or_subquery(agents))
    if filters.webhook is not None:
        agents = Agent.objects.filter(webhook=filters.webhook)
        queryset = queryset.filter(inbound_agent__in=ids_or_subquery(agents))
    if filters.connection is not None:
        uses = Q()
        if filters.connection_role != "llm":
            uses |= Q(telephony_account_connection=filters.connection)
        if filters.connection_role != "telephony":
            agents = Agent.objects.filter(openai_account_connection=filters.connection)
            uses |= Q(inbound_agent__in=ids_or_subquery(agents))
        queryset = queryset.filter(uses)
    return queryset


# How a number can use a connection: the two kept counts of ``AccountConnection``
# (``telephony_number_count``, ``llm_number_count``), each one filter.
CONNECTION_ROLES = {
    "telephony": "telephony",
    "llm": "its agent's LLM",
}


def inventory(
    *,
    filters: NumberFilters = NumberFilters(),
    sort: str = "number",
    desc: bool = False,
) -> QuerySet[PhoneNumber]:
    """The dashboard's numbers: filtered, sorted, with what a row shows in one query."""
    queryset = (
        filter_numbers(PhoneNumber.objects.all(), filters)
        .select_related("user", "inbound_agent", "telephony_account_connection")
        .only(*INVENTORY_COLUMNS)
    )
    return whitelisted_order(queryset, NUMBER_SORTS, sort, desc=desc, default="number")


# What a table row shows (console/jinja2/numbers/_rows.jinja, its health badges
# included: phone_numbers.health): loading only these keeps a page's query and
# model set-up small (an agent alone has a dozen JSON columns).
INVENTORY_COLUMNS = (
    "number",
    "number_is_valid",
    "label",
    "user_id",
    "user__email",
    "inbound_agent__name",
    "inbound_agent__language",
    "telephony_provider",
    "telephony_account_connection__label",
    "telephony_account_connection__type",
    "active",
    "outbound_only",
    "agent_without_webhook",
    "misconfigured",
    "created_at",
    "updated_at",
    # The kept sort keys: a page's keyset cursor reads them from its first and last
    # rows (deferred, each would cost a query).
    "owner_email",
    "inbound_agent_name",
)


def dependent_numbers(filters: NumberFilters) -> QuerySet[PhoneNumber]:
    """The numbers an agent's, webhook's or connection's page lists as depending on it:
    the inventory's rows in its order, plus the agent's LLM connection (which says
    whether a number uses a connection for telephony or through its agent)."""
    return inventory(filters=filters).only(
        *INVENTORY_COLUMNS, "inbound_agent__openai_account_connection"
    )


def with_number_graph(queryset: QuerySet[PhoneNumber]) -> QuerySet[PhoneNumber]:
    """A number with its whole agent graph loaded, in two queries (the console's detail
    page; the API reads stored JSON instead: ``present.numbers_json``)."""
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
) -> QuerySet[PhoneNumber]:  # the API's list
    """Numbers (of ``owner`` when given), sorted by a whitelisted column, then id.

    The numbers' own rows only: ``present.numbers_json`` adds their agents' and
    connections' stored JSON."""
    queryset = PhoneNumber.objects.all()
    if owner is not None:
        queryset = queryset.filter(user=owner)
    return whitelisted_order(queryset, NUMBER_SORTS, sort, desc=desc, default="number")


def phone_number_for_owner(*, owner: Any, number: str) -> QuerySet[PhoneNumber]:
    """The owner's number, as a queryset (empty for another user's number too)."""
    return PhoneNumber.objects.filter(user=owner, number=number)


def phone_number_detail(*, pk: Any) -> PhoneNumber | None:
    """One number with everything its detail page shows."""
    return with_number_graph(PhoneNumber.objects.select_related("user").filter(pk=pk)).first()
