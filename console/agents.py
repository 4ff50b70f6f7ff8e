"""Dashboard pages of agents, webhooks and account connections.

Each detail page shows what depends on the object: what breaks if it changes.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from agents import queries
from agents.models import AccountConnection, Agent, Webhook
from console.access import staff_view
from console.forms.agents import AgentFilterForm
from console.lists import PAGE_SIZES, Chip, list_page, sort_headers, wants_fragment
from phone_numbers.models import PhoneNumber
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
    counts = queries.routed_number_counts([a.pk for a in page.items])
    rows = [(agent, counts.get(agent.pk, 0)) for agent in page.items]
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
        "headers": sort_headers(AGENT_COLUMNS, sort, desc),
    }
    if wants_fragment(request):
        return render(request, "agents/_table.html", context)
    context["owners"] = User.objects.filter(is_staff=False).only("id", "email").order_by("email")
    context["providers"] = queries.agent_providers()
    return render(request, "agents/list.html", context)


@require_GET
@staff_view("agents.view_agent", "agents.view_accountconnection", "numbers.view_phonenumber")
def agent_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    agent = queries.agent_detail(pk=pk)
    if agent is None:
        raise Http404("No such agent.")
    numbers = PhoneNumber.objects.filter(inbound_agent=agent).order_by("number", "id")
    return render(
        request,
        "agents/detail.html",
        {
            "agent": agent,
            "numbers": numbers[: queries.DEPENDENTS_SHOWN],
            "number_count": numbers.count(),
        },
    )


@require_GET
@staff_view("agents.view_webhook")
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = AgentFilterForm(request.GET)  # page and size only
    page = list_page(queries.webhook_directory(), form)
    return render(request, "agents/webhook_list.html", {"page": page})


@require_GET
@staff_view("agents.view_webhook", "agents.view_agent")
def webhook_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    webhook = Webhook.objects.select_related("user").filter(pk=pk).first()
    if webhook is None:
        raise Http404("No such webhook.")
    agents = Agent.objects.filter(webhook=webhook).order_by("name", "id")
    numbers = PhoneNumber.objects.filter(inbound_agent__webhook=webhook)
    return render(
        request,
        "agents/webhook_detail.html",
        {
            "webhook": webhook,
            "agents": agents[: queries.DEPENDENTS_SHOWN],
            "agent_count": agents.count(),
            "number_count": numbers.count(),
        },
    )


@require_GET
@staff_view("agents.view_accountconnection")
def connection_list(request: HttpRequest) -> HttpResponse:
    form = AgentFilterForm(request.GET)
    page = list_page(queries.connection_directory(), form)
    return render(request, "agents/connection_list.html", {"page": page})


@require_GET
@staff_view("agents.view_accountconnection", "agents.view_agent")
def connection_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    conn = (
        AccountConnection.objects.select_related("user").defer("credentials").filter(pk=pk).first()
    )
    if conn is None:
        raise Http404("No such connection.")
    agents = Agent.objects.filter(openai_account_connection=conn).order_by("name", "id")
    numbers = PhoneNumber.objects.filter(telephony_account_connection=conn).order_by("number", "id")
    return render(
        request,
        "agents/connection_detail.html",
        {
            "connection": conn,
            "agents": agents[: queries.DEPENDENTS_SHOWN],
            "agent_count": agents.count(),
            "numbers": numbers[: queries.DEPENDENTS_SHOWN],
            "number_count": numbers.count(),
        },
    )
