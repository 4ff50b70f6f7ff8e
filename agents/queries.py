"""Every read of agents: scoping, sorting and what a page loads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from core.db import ids_or_subquery
from core.ordering import whitelisted_order
from users.models import User

from .models import AccountConnection, Action, Agent, Webhook

AGENT_SORTS = {
    "name": "name",
    "label": "label",
    "language": "language",
    "created_at": "created_at",
    "updated_at": "updated_at",
}

# The agent graph as the API shows it: the prompt and its template, the
# webhook and the LLM connection in one join, the actions in one more query.
AGENT_GRAPH = (
    "prompt__prompt_template",
    "webhook",
    "openai_account_connection",
)


def agent_graph_prefetch(prefix: str = "") -> Prefetch:
    return Prefetch(f"{prefix}actions", queryset=Action.objects.order_by("label", "id"))


def with_agent_graph(queryset: QuerySet[Agent]) -> QuerySet[Agent]:
    return (
        queryset.select_related(*AGENT_GRAPH)
        .defer("openai_account_connection__credentials")
        .prefetch_related(agent_graph_prefetch())
    )


def agent_list(*, owner: Any = None, sort: str = "name", desc: bool = False) -> QuerySet[Agent]:
    """Agents (of ``owner`` when given), sorted by a whitelisted column, then id."""
    queryset = Agent.objects.all()
    if owner is not None:
        queryset = queryset.filter(user=owner)
    return whitelisted_order(queryset, AGENT_SORTS, sort, desc=desc, default="name")


def agent_for_owner(*, owner: Any, agent_id: Any) -> Agent | None:
    """The owner's agent with that id, or None (another user's agent is None too)."""
    return Agent.objects.filter(user=owner, pk=agent_id).first()


def owner_search_q(text: str) -> Q:
    """Rows whose owner's email contains ``text``: the accounts are looked up first
    (their trigram index), so the list's own condition names their ids instead of
    joining every row to its account (``core.db.ids_or_subquery``)."""
    return Q(user__in=ids_or_subquery(User.objects.filter(email__icontains=text)))


def agent_search_q(text: str) -> Q:
    """Name, label or owner's email: each condition on one table, served by its own
    trigram index (phone_numbers/migrations/0005), where an OR across the join to
    the accounts could use none."""
    return Q(name__icontains=text) | Q(label__icontains=text) | owner_search_q(text)


def label_search_q(text: str) -> Q:
    """Label or owner's email: the webhooks' and connections' search (tables of a few
    per account, which a scan reads faster than any index)."""
    return Q(label__icontains=text) | owner_search_q(text)


def agent_directory(
    *,
    q: str = "",
    owner: Any = None,
    language: str = "",
    provider: str = "",
    sort: str = "name",
    desc: bool = False,
) -> QuerySet[Agent]:
    """The dashboard's agents: searched, filtered, sorted, with a row's joins."""
    queryset = Agent.objects.all()
    if q:
        queryset = queryset.filter(agent_search_q(q))
    if owner is not None:
        queryset = queryset.filter(user=owner)
    if language:
        queryset = queryset.filter(language=language)
    if provider:
        queryset = queryset.filter(provider=provider)
    queryset = queryset.select_related("user", "prompt", "webhook").only(
        "id",
        "name",
        "label",
        "language",
        "provider",
        "model",
        "updated_at",
        "number_count",
        "user__email",
        "prompt__label",
        "webhook__label",
        "webhook__url",
    )
    return whitelisted_order(queryset, AGENT_SORTS, sort, desc=desc, default="name")


def agent_providers() -> list[str]:
    return list(
        Agent.objects.exclude(provider="")
        .order_by("provider")
        .values_list("provider", flat=True)
        .distinct()
    )


def agent_detail(*, pk: Any) -> Agent | None:
    return with_agent_graph(Agent.objects.select_related("user").filter(pk=pk)).first()


DEPENDENTS_SHOWN = 100


def webhook_directory(*, q: str = "") -> QuerySet[Webhook]:
    """The dashboard's webhooks, searched (``label_search_q``), by label then id. Each
    row's agents are counted for that row alone (the agents' webhook index), once the
    page is cut: a COUNT joined to every agent read them all for each page."""
    queryset = Webhook.objects.all()
    if q:
        queryset = queryset.filter(label_search_q(q))
    agents = (  # COUNT(webhook_id): the agents' webhook index answers it alone
        Agent.objects.filter(webhook=OuterRef("pk"))
        .order_by()
        .values("webhook")
        .annotate(n=Count("webhook"))
        .values("n")
    )
    return (
        queryset.select_related("user")
        .annotate(agent_count=Coalesce(Subquery(agents), 0))
        .order_by("label", "id")
    )


def connection_directory(*, q: str = "") -> QuerySet[AccountConnection]:
    """The dashboard's connections, searched (``label_search_q``), by label then id;
    their counts are kept, their credentials never loaded (the page shows the preview)."""
    queryset = AccountConnection.objects.all()
    if q:
        queryset = queryset.filter(label_search_q(q))
    return queryset.select_related("user").defer("credentials").order_by("label", "id")


# --- One customer's account page ---------------------------------------------------

OWNED_SHOWN = 20


@dataclass(frozen=True)
class Owned:
    """The first OWNED_SHOWN agents, webhooks and connections of one account, and how
    many of each it has."""

    agents: list[Agent]
    webhooks: list[Webhook]
    connections: list[AccountConnection]
    agent_count: int
    webhook_count: int
    connection_count: int


def _owned_count(model: Any) -> Any:
    # COUNT(user_id): the owner's index answers it without reading the rows.
    rows = (
        model.objects.filter(user=OuterRef("pk"))
        .order_by()
        .values("user")
        .annotate(n=Count("user"))
        .values("n")
    )
    return Coalesce(Subquery(rows), 0)


def owned_by(owner: Any, *, limit: int = OWNED_SHOWN) -> Owned:
    """What an account owns in the agent graph, for its page; four queries whatever it
    owns (each list by name or label, then id; credentials never loaded: the page
    shows the stored masked preview)."""
    agents = (
        Agent.objects.filter(user=owner)
        .select_related("webhook")
        .only(
            "id",
            "name",
            "language",
            "number_count",
            "webhook_id",
            "webhook__label",
            "webhook__url",
        )
        .order_by("name", "id")
    )
    webhooks = Webhook.objects.filter(user=owner).order_by("label", "id")
    connections = (
        AccountConnection.objects.filter(user=owner).defer("credentials").order_by("label", "id")
    )
    counts = (
        User.objects.filter(pk=owner)
        .annotate(
            agents=_owned_count(Agent),
            webhooks=_owned_count(Webhook),
            connections=_owned_count(AccountConnection),
        )
        .values("agents", "webhooks", "connections")
        .first()
    ) or {"agents": 0, "webhooks": 0, "connections": 0}
    return Owned(
        agents=list(agents[:limit]),
        webhooks=list(webhooks[:limit]),
        connections=list(connections[:limit]),
        agent_count=counts["agents"],
        webhook_count=counts["webhooks"],
        connection_count=counts["connections"],
    )
