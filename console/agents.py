"""Dashboard pages of agents, webhooks and account connections.

Each detail page shows what depends on the object: what breaks if it changes.
Its "N numbers" read the kept counts (``phone_numbers.upkeep``) and link to the
inventory filtered to exactly those numbers; its list of them is the inventory's
query and the list machinery (``console.lists.list_page``), paged in place with
keyset links (``#dependents``, the page's own URL with ``?after=``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from agents import queries
from agents.models import AccountConnection, Agent, Webhook
from console.access import staff_view
from console.forms.agents import AgentFilterForm, DependentNumbersForm
from console.lists import PAGE_SIZES, Chip, list_page, sort_headers, wants_fragment
from console.number_rows import number_rows
from phone_numbers.queries import NumberFilters, dependent_numbers
from users.models import User

AGENT_COLUMNS = [
    ("name", "Name"),
    ("", "Owner"),
    ("language", "Language"),
    ("", "LLM"),
    ("", "Prompt"),
    ("", "Webhook"),
    ("", "Numbers"),
    ("updated_at", "Updated"),
]


@require_GET
@staff_view("agents.view_agent")
@vary_on_headers("HX-Request")
def agent_list(request: HttpRequest) -> HttpResponse:
    form = AgentFilterForm(request.GET)
    sort, desc = form.sort
    q, owner = form.value("q", "").strip(), form.value("owner")
    language, provider = form.value("language", ""), form.value("provider", "")
    queryset = queries.agent_directory(
        q=q, owner=owner, language=language, provider=provider, sort=sort, desc=desc
    )
    page = list_page(queryset, form)
    rows = [(agent, agent.number_count) for agent in page.items]  # kept, not counted
    chips = [
        c
        for c in (
            Chip("Search", q, "q") if q else None,
            Chip(
                "Owner",
                User.objects.filter(pk=owner).values_list("email", flat=True).first()
                or "unknown account",
                "owner",
            )
            if owner
            else None,
            Chip("Language", language, "language") if language else None,
            Chip("LLM provider", provider, "provider") if provider else None,
        )
        if c
    ]
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "rows": rows,
        "chips": chips,
        "page_sizes": PAGE_SIZES,
        "headers": sort_headers(AGENT_COLUMNS, sort, desc, request.GET),
    }
    if wants_fragment(request):
        return render(request, "agents/_table.html", context)
    context["owners"] = User.objects.filter(is_staff=False).only("id", "email").order_by("email")
    context["providers"] = queries.agent_providers()
    return render(request, "agents/list.html", context)


def _dependents(request: HttpRequest, **dependency: Any) -> dict[str, Any]:
    """The page of numbers that depend on a detail page's object (``dependency``: one
    of ``NumberFilters``' agent, webhook or connection) that the query string asks
    for (``?after=``, ``?before=``, ``?last=``, ``?page=``), as rows; and the query
    of the same numbers in the inventory."""
    page = list_page(
        dependent_numbers(NumberFilters(**dependency)), DependentNumbersForm(request.GET)
    )
    return {
        "page": page,
        "rows": number_rows(page.items),
        "list_url": request.path,  # the pager's links stay on this page
        "inventory_query": urlencode(dependency),
        # The table's columns: none that would repeat the page's own object.
        "agent_column": "agent" not in dependency,
        "connection_column": True,
        "uses_column": False,
    }


@require_GET
@staff_view("agents.view_agent", "agents.view_accountconnection", "numbers.view_phonenumber")
@vary_on_headers("HX-Request")
def agent_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    agent = queries.agent_detail(pk=pk)
    if agent is None:
        raise Http404("No such agent.")
    context = {"agent": agent, **_dependents(request, agent=agent.pk)}
    if wants_fragment(request):  # a pager link of its numbers
        return render(request, "agents/_dependents.html", context)
    return render(request, "agents/detail.html", context)


@require_GET
@staff_view("agents.view_webhook")
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = AgentFilterForm(request.GET)  # search, page and size only
    q = form.value("q", "").strip()
    page = list_page(queries.webhook_directory(q=q), form)
    return render(request, "agents/webhook_list.html", {"page": page, "form": form, "q": q})


@require_GET
@staff_view("agents.view_webhook", "agents.view_agent", "numbers.view_phonenumber")
@vary_on_headers("HX-Request")
def webhook_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    webhook = Webhook.objects.select_related("user").filter(pk=pk).first()
    if webhook is None:
        raise Http404("No such webhook.")
    context = {"webhook": webhook, **_dependents(request, webhook=webhook.pk)}
    if wants_fragment(request):  # a pager link of its numbers
        return render(request, "agents/_dependents.html", context)
    agents = Agent.objects.filter(webhook=webhook).order_by("name", "id")
    context["agents"] = agents[: queries.DEPENDENTS_SHOWN]
    context["agent_count"] = agents.count()
    return render(request, "agents/webhook_detail.html", context)


@require_GET
@staff_view("agents.view_accountconnection")
def connection_list(request: HttpRequest) -> HttpResponse:
    form = AgentFilterForm(request.GET)  # search, page and size only
    q = form.value("q", "").strip()
    page = list_page(queries.connection_directory(q=q), form)
    return render(request, "agents/connection_list.html", {"page": page, "form": form, "q": q})


@require_GET
@staff_view("agents.view_accountconnection", "agents.view_agent", "numbers.view_phonenumber")
@vary_on_headers("HX-Request")
def connection_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    conn = (
        AccountConnection.objects.select_related("user").defer("credentials").filter(pk=pk).first()
    )
    if conn is None:
        raise Http404("No such connection.")
    context = {
        "connection": conn,
        **_dependents(request, connection=conn.pk),
        # How each number uses it, when it has numbers of both kinds; a number's own
        # telephony connection, when that is never this one.
        "uses_column": bool(conn.telephony_number_count and conn.llm_number_count),
        "connection_column": not conn.telephony_number_count,
    }
    if wants_fragment(request):  # a pager link of its numbers
        return render(request, "agents/_dependents.html", context)
    agents = Agent.objects.filter(openai_account_connection=conn).order_by("name", "id")
    context["agents"] = agents[: queries.DEPENDENTS_SHOWN]
    context["agent_count"] = agents.count()
    return render(request, "agents/connection_detail.html", context)
