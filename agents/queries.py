"""Every read of agents: scoping, sorting and what a page loads."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from .models import Action, Agent

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
    column = AGENT_SORTS.get(sort, "name")
    prefix = "-" if desc else ""
    queryset = Agent.objects.all()
    if owner is not None:
        queryset = queryset.filter(user=owner)
    return with_agent_graph(queryset).order_by(f"{prefix}{column}", f"{prefix}id")


def agent_for_owner(*, owner: Any, agent_id: Any) -> Agent | None:
    """The owner's agent with that id, or None (another user's agent is None too)."""
    return with_agent_graph(Agent.objects.filter(user=owner, pk=agent_id)).first()
