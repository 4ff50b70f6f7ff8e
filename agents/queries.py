"""Every read of agents: scoping, sorting and what a page loads."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from core.ordering import whitelisted_order

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
    return whitelisted_order(
        with_agent_graph(queryset), AGENT_SORTS, sort, desc=desc, default="name"
    )


def agent_for_owner(*, owner: Any, agent_id: Any) -> Agent | None:
    """The owner's agent with that id, or None (another user's agent is None too)."""
    return with_agent_graph(Agent.objects.filter(user=owner, pk=agent_id)).first()


def agent_search_q(text: str) -> Q:
    return Q(name__icontains=text) | Q(label__icontains=text) | Q(user__email__icontains=text)


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
        "user__email",
        "prompt__label",
        "webhook__label",
        "webhook__url",
    )
    return whitelisted_order(queryset, AGENT_SORTS, sort, desc=desc, default="name")


def routed_number_counts(agent_ids: list[Any]) -> dict[Any, int]:
    """How many numbers route to each of these agents (one grouped query).

    Through the reverse relation, so the agents layer never imports numbers."""
    rows = (
        Agent.objects.filter(pk__in=agent_ids)
        .annotate(n=Count("phone_numbers"))
        .values_list("pk", "n")
    )
    return dict(rows)


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


def webhook_directory() -> QuerySet[Webhook]:
    return (
        Webhook.objects.select_related("user")
        .annotate(agent_count=Count("agents"))
        .order_by("label", "id")
    )


def connection_directory() -> QuerySet[AccountConnection]:
    return (
        AccountConnection.objects.select_related("user")
        .defer("credentials")
        .order_by("label", "id")
    )
