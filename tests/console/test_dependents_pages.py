"""The "N numbers" of agent, prompt, webhook and connection pages and lists: kept
counts, each linked to the inventory filtered to exactly those numbers, and the
pages' lists of their numbers, paged in place through all of them (issue 16)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents.models import AccountConnection, Agent, Prompt, Webhook
from agents.services import graph_object_save
from audit.services import Actor
from phone_numbers.models import PhoneNumber
from phone_numbers.services import phone_number_save, phone_number_update
from tests.console.dependents import add_numbers, links, make_graph, row_ids

pytestmark = pytest.mark.django_db
ACTOR = Actor("ops@switchboard.test", "admin")
HX = {"HTTP_HX_REQUEST": "true"}
INVENTORY = reverse("numbers:list")


@pytest.fixture
def graph(owner):
    """Front Desk answers 3 numbers on Acme Twilio, Sales 2 without a connection."""
    graph = make_graph(owner)
    graph["desk_numbers"] = add_numbers(
        owner, 3, inbound_agent=graph["desk"], telephony_account_connection=graph["twilio"]
    )
    graph["sales_numbers"] = add_numbers(owner, 2, inbound_agent=graph["sales"])
    return graph


def page_of(client, name: str, obj, **params) -> str:
    response = client.get(reverse(name, args=[obj.pk]), params)
    assert response.status_code == 200
    return response.text


def numbers_links(body: str) -> list[tuple[str, dict[str, str]]]:
    return links(body, "data-numbers-link")


def listed_in_inventory(client, query: dict[str, str]) -> set[str]:
    """Every number the inventory lists for ``query``, through its Next links."""
    seen: list[str] = []
    body = client.get(INVENTORY, query, **HX).text
    while True:
        seen += row_ids(body)
        following = links(body, 'rel="next"')
        if not following:
            return set(seen)
        body = client.get(INVENTORY, following[0][1], **HX).text


def dependents_listed(client, url: str) -> list[str]:
    """Every number a page's dependents section lists, through its in-place Next links."""
    seen: list[str] = []
    body = client.get(url).text
    section = body.split('<div id="dependents"', 1)[1]
    while True:
        seen += _number_links(section)
        following = links(section, 'rel="next"')
        if not following:
            return seen
        path, query = following[0]
        assert path == ""  # the page's own URL: the pager stays on this page
        section = client.get(url, query, **HX).text
        assert "<html" not in section


def _number_links(section: str) -> list[str]:
    return re.findall(r'<td class="num"><a href="/numbers/([0-9a-f-]{36})/"', section)


def test_the_agent_page_links_its_kept_count_to_its_numbers(client, support, graph):
    client.force_login(support)
    body = page_of(client, "agents:detail", graph["desk"])
    assert "3 numbers</a> route to this agent." in body
    assert (INVENTORY, {"agent": str(graph["desk"].pk)}) in numbers_links(body)
    assert listed_in_inventory(client, {"agent": str(graph["desk"].pk)}) == {
        str(n.pk) for n in graph["desk_numbers"]
    }


def test_the_agent_page_shows_its_prompts_and_webhooks_counts(client, support, graph):
    client.force_login(support)
    body = page_of(client, "agents:detail", graph["desk"])
    found = numbers_links(body)
    assert (INVENTORY, {"prompt": str(graph["prompt"].pk)}) in found
    assert (INVENTORY, {"webhook": str(graph["hook"].pk)}) in found
    assert "3 numbers</a> route to agents with this prompt" in body
    assert "3 numbers</a> route to agents with this webhook" in body


def test_the_webhook_page_links_its_kept_count_to_its_numbers(client, support, graph):
    client.force_login(support)
    body = page_of(client, "agents:webhook", graph["hook"])
    assert "1 agent, answering <a " in body and "3 numbers</a>." in body
    assert numbers_links(body) == [(INVENTORY, {"webhook": str(graph["hook"].pk)})]
    assert listed_in_inventory(client, {"webhook": str(graph["hook"].pk)}) == {
        str(n.pk) for n in graph["desk_numbers"]
    }
    assert set(dependents_listed(client, reverse("agents:webhook", args=[graph["hook"].pk]))) == {
        str(n.pk) for n in graph["desk_numbers"]
    }


def test_the_connection_page_links_each_use_to_its_numbers(client, support, owner, graph):
    twilio = graph["twilio"]
    # Sales uses the Twilio connection as its LLM too (a misconfiguration): 2 numbers more.
    sales = Agent.objects.get(pk=graph["sales"].pk)
    sales.openai_account_connection = twilio
    graph_object_save(obj=sales, actor=ACTOR)
    client.force_login(support)
    body = page_of(client, "agents:connection", twilio)
    assert "3 numbers</a> use it for telephony; " in body
    assert "2 numbers</a> route to agents that use it as their LLM connection." in body
    telephony = {"connection": str(twilio.pk), "connection_role": "telephony"}
    llm = {"connection": str(twilio.pk), "connection_role": "llm"}
    assert numbers_links(body) == [(INVENTORY, telephony), (INVENTORY, llm)]
    assert listed_in_inventory(client, telephony) == {str(n.pk) for n in graph["desk_numbers"]}
    assert listed_in_inventory(client, llm) == {str(n.pk) for n in graph["sales_numbers"]}
    section = body.split('<div id="dependents"', 1)[1]
    assert section.count('<span class="badge info">telephony</span>') == 3
    assert section.count('<span class="badge info">its agent\'s LLM</span>') == 2


def test_a_count_of_zero_is_plain_text(client, support, owner):
    graph = make_graph(owner)
    client.force_login(support)
    body = page_of(client, "agents:connection", graph["twilio"])
    assert "0 numbers use it for telephony; 0 numbers route to agents" in body
    assert numbers_links(body) == []


def test_the_counts_are_the_kept_ones_not_counted_per_request(client, support, graph):
    """A kept count that says 999 is what the pages show: they never count."""
    Agent.objects.filter(pk=graph["desk"].pk).update(number_count=999)
    Webhook.objects.filter(pk=graph["hook"].pk).update(number_count=998)
    Prompt.objects.filter(pk=graph["prompt"].pk).update(number_count=997)
    AccountConnection.objects.filter(pk=graph["twilio"].pk).update(telephony_number_count=996)
    client.force_login(support)
    agent = page_of(client, "agents:detail", graph["desk"])
    assert "999 numbers</a> route to this agent" in agent
    assert "998 numbers</a> route to agents with this webhook" in agent
    assert "997 numbers</a> route to agents with this prompt" in agent
    assert "996 numbers</a> use it for telephony" in page_of(
        client, "agents:connection", graph["twilio"]
    )
    assert f'?agent={graph["desk"].pk}">999</a>' in client.get(reverse("agents:list")).text
    assert f'?webhook={graph["hook"].pk}">998</a>' in client.get(reverse("agents:webhooks")).text
    connections = client.get(reverse("agents:connections")).text
    assert f'?connection={graph["twilio"].pk}&amp;connection_role=telephony">996</a>' in connections


def test_the_counts_follow_writes_through_the_services(client, support, graph):
    desk, sales, hook, billing = graph["desk"], graph["sales"], graph["hook"], graph["billing"]
    client.force_login(support)
    # A number moves from Front Desk to Sales (the console's, the API's path).
    moved = PhoneNumber.objects.get(pk=graph["desk_numbers"][0].pk)
    phone_number_update(number=moved, changes={"inbound_agent": sales}, actor=ACTOR)
    assert "2 numbers</a> route to this agent" in page_of(client, "agents:detail", desk)
    assert "3 numbers</a> route to this agent" in page_of(client, "agents:detail", sales)
    assert "2 numbers</a>." in page_of(client, "agents:webhook", hook)
    assert "3 numbers</a>." in page_of(client, "agents:webhook", billing)
    # Sales takes the CRM hook (a graph write): its 3 numbers move with it.
    sales = Agent.objects.get(pk=sales.pk)
    sales.webhook = hook
    graph_object_save(obj=sales, actor=ACTOR)
    assert "2 agents, answering <a " in page_of(client, "agents:webhook", hook)
    assert "5 numbers</a>." in page_of(client, "agents:webhook", hook)
    assert "0 numbers." in page_of(client, "agents:webhook", billing)
    assert len(listed_in_inventory(client, {"webhook": str(hook.pk)})) == 5
    # The number leaves its telephony connection (the admin's path).
    moved = PhoneNumber.objects.get(pk=moved.pk)
    moved.telephony_account_connection = None
    phone_number_save(number=moved, actor=ACTOR, expected_version=moved.version)
    assert "2 numbers</a> use it for telephony" in page_of(
        client, "agents:connection", graph["twilio"]
    )


@pytest.mark.parametrize(
    ("name", "key", "links_to"),
    [
        ("agents:detail", "desk", {"inbound_agent": "desk"}),
        ("agents:webhook", "hook", {"inbound_agent": "desk"}),
        ("agents:connection", "twilio", {"telephony_account_connection": "twilio"}),
        ("agents:connection", "openai", {"inbound_agent": "desk"}),
    ],
)
def test_the_dependents_section_pages_through_all_n_in_place(
    client, support, owner, name, key, links_to
):
    graph = make_graph(owner)
    mine = add_numbers(owner, 55, **{k: graph[v] for k, v in links_to.items()})
    add_numbers(owner, 7, inbound_agent=graph["sales"])
    client.force_login(support)
    url = reverse(name, args=[graph[key].pk])
    body = client.get(url).text
    assert "1–25 of 55" in body and "55 numbers</a>" in body
    seen = dependents_listed(client, url)
    assert len(seen) == 55 and set(seen) == {str(n.pk) for n in mine}


def test_a_pager_link_without_javascript_is_the_whole_page_at_that_page(client, support, owner):
    graph = make_graph(owner)
    add_numbers(owner, 30, inbound_agent=graph["desk"])
    client.force_login(support)
    url = reverse("agents:detail", args=[graph["desk"].pk])
    ((_, following),) = links(client.get(url).text.split('id="dependents"')[1], 'rel="next"')
    second = client.get(url, following)
    assert "<html" in second.text and "26–30 of 30" in second.text
    assert "HX-Request" in second["Vary"]
    fragment = client.get(url, following, **HX).text
    assert "<html" not in fragment and "26–30 of 30" in fragment
    assert len(_number_links(fragment)) == 5


def test_a_damaged_pager_link_shows_the_first_page_with_a_notice(client, support, graph):
    client.force_login(support)
    body = page_of(client, "agents:detail", graph["desk"], after="x")
    assert "The page link is damaged. Showing the first page." in body
    assert len(_number_links(body.split('id="dependents"')[1])) == 3


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


# What a detail page reads: session, user, 2 permission queries; the object (an
# agent: and its actions); for a webhook or connection, the ids of the agents the
# filter names, then the agents it lists (first 100) and how many; the page of
# numbers and the list's bounded count. PostgreSQL adds the planner block
# (core.db.custom_plans: SAVEPOINT, SET LOCAL, RELEASE).
PAGE_QUERIES = {"agents:detail": 8, "agents:webhook": 10, "agents:connection": 10}


@pytest.mark.parametrize(
    ("name", "key", "links_to"),
    [
        ("agents:detail", "desk", {"inbound_agent": "desk"}),
        ("agents:webhook", "hook", {"inbound_agent": "desk"}),
        ("agents:connection", "twilio", {"telephony_account_connection": "twilio"}),
        ("agents:connection", "openai", {"inbound_agent": "desk"}),
    ],
)
def test_each_page_costs_the_same_queries_whatever_n(client, support, owner, name, key, links_to):
    """The counts are kept and the list is one page: 30 or 130 numbers cost the same."""
    graph = make_graph(owner)
    links_to = {k: graph[v] for k, v in links_to.items()}
    client.force_login(support)
    url = reverse(name, args=[graph[key].pk])
    add_numbers(owner, 30, **links_to)
    few = queries_of(client, url)
    add_numbers(owner, 100, **links_to)
    many = queries_of(client, url)
    assert few == many == PAGE_QUERIES[name] + 3 * (connection.vendor == "postgresql")


@pytest.mark.parametrize("name", ["agents:list", "agents:webhooks", "agents:connections"])
def test_the_lists_query_count_does_not_grow_with_their_numbers(client, support, owner, name):
    graph = make_graph(owner)
    links_to = {"inbound_agent": graph["desk"], "telephony_account_connection": graph["twilio"]}
    client.force_login(support)
    add_numbers(owner, 3, **links_to)
    few = queries_of(client, reverse(name))
    add_numbers(owner, 60, **links_to)
    assert queries_of(client, reverse(name)) == few
