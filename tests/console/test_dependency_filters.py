"""/numbers/?agent= ?prompt= ?webhook= ?connection=: the inventory narrowed to the
numbers that depend on one object of the agent graph (issue 16)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.urls import reverse

from agents.models import Agent
from tests.console.dependents import add_numbers, links, make_graph, row_ids
from tests.factories import make_number

pytestmark = pytest.mark.django_db
URL = reverse("numbers:list")
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def graph(owner, other_tenant):
    graph = make_graph(owner)
    desk, sales, twilio = graph["desk"], graph["sales"], graph["twilio"]
    graph["numbers"] = {
        "desk_twilio": make_number(
            owner, "+14155550101", inbound_agent=desk, telephony_account_connection=twilio
        ),
        "desk": make_number(owner, "+14155550102", inbound_agent=desk),
        "sales_twilio": make_number(
            owner, "+14155550103", inbound_agent=sales, telephony_account_connection=twilio
        ),
        "bare": make_number(owner, "+14155550104"),
        "other": make_number(other_tenant, "+14155550105"),
    }
    return graph


def listed(graph, body: str) -> set[str]:
    names = {str(n.pk): name for name, n in graph["numbers"].items()}
    return {names[pk] for pk in row_ids(body)}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"agent": "desk"}, {"desk_twilio", "desk"}),
        ({"prompt": "prompt"}, {"desk_twilio", "desk"}),
        ({"webhook": "hook"}, {"desk_twilio", "desk"}),
        ({"webhook": "billing"}, {"sales_twilio"}),
        ({"connection": "twilio"}, {"desk_twilio", "sales_twilio"}),
        ({"connection": "twilio", "connection_role": "telephony"}, {"desk_twilio", "sales_twilio"}),
        ({"connection": "twilio", "connection_role": "llm"}, set()),
        ({"connection": "openai"}, {"desk_twilio", "desk"}),
        ({"connection": "openai", "connection_role": "llm"}, {"desk_twilio", "desk"}),
        ({"connection": "openai", "connection_role": "telephony"}, set()),
        ({"webhook": "hook", "connection": "twilio"}, {"desk_twilio"}),
    ],
)
def test_each_filter_lists_exactly_the_numbers_that_depend_on_it(
    client, support, graph, params, expected
):
    client.force_login(support)
    query = {k: v if k == "connection_role" else str(graph[v].pk) for k, v in params.items()}
    response = client.get(URL, query, **HX)
    assert response.status_code == 200
    assert listed(graph, response.text) == expected


@pytest.mark.parametrize(
    ("param", "name", "chip"),
    [
        ("agent", "desk", "Agent: <strong>Front Desk</strong>"),
        ("prompt", "prompt", "Prompt: <strong>Desk prompt</strong>"),
        ("webhook", "hook", "Webhook: <strong>CRM hook</strong>"),
        ("connection", "twilio", "Connection: <strong>Acme Twilio</strong>"),
    ],
)
def test_each_filter_shows_a_removable_chip_naming_the_object(
    client, support, graph, param, name, chip
):
    client.force_login(support)
    body = client.get(URL, {param: str(graph[name].pk), "provider": "twilio"}).text
    assert chip in body
    assert f'aria-label="Remove filter {chip.split(":")[0]}"' in body
    (removal,) = links(body, f'data-clear-field="{param}"')
    assert removal == ("", {"provider": "twilio"})
    # The filter travels with the results, so a change of the other filters keeps it.
    assert f'name="{param}" value="{graph[name].pk}" form="filters"' in body


def test_the_connection_role_shows_its_own_chip(client, support, graph):
    client.force_login(support)
    params = {"connection": str(graph["twilio"].pk), "connection_role": "telephony"}
    body = client.get(URL, params, **HX).text
    assert "Connection: <strong>Acme Twilio</strong>" in body
    assert "Used for: <strong>telephony</strong>" in body
    (widen,) = links(body, 'data-clear-field="connection_role"')
    assert widen == ("", {"connection": str(graph["twilio"].pk)})
    llm = client.get(URL, {**params, "connection_role": "llm"}, **HX).text
    assert "Used for: <strong>its agent&#x27;s LLM</strong>" in llm


def test_a_role_without_a_connection_changes_nothing(client, support, graph):
    client.force_login(support)
    body = client.get(URL, {"connection_role": "llm"}, **HX).text
    assert len(row_ids(body)) == 5 and "Used for" not in body


@pytest.mark.parametrize("param", ["agent", "prompt", "webhook", "connection"])
@pytest.mark.parametrize("value", ["not-a-uuid", str(uuid.uuid4()), "1" * 40])
def test_a_bad_or_unknown_id_is_dropped_with_a_notice(client, support, graph, param, value):
    client.force_login(support)
    response = client.get(URL, {param: value})
    assert response.status_code == 200
    body = response.text
    assert f"Ignored an invalid value for: {param.capitalize()}." in body
    assert len(row_ids(body)) == 5  # the filter is dropped: the whole inventory
    assert f'name="{param}"' not in body and 'data-clear-field="' + param not in body


def test_a_bad_connection_role_is_dropped_with_a_notice(client, support, graph):
    client.force_login(support)
    params = {"connection": str(graph["twilio"].pk), "connection_role": "both"}
    body = client.get(URL, params).text
    assert "Ignored an invalid value for: Connection use." in body
    assert listed(graph, body) == {"desk_twilio", "sales_twilio"}


def test_another_tenants_object_lists_that_tenants_numbers_only(
    client, support, graph, other_tenant
):
    """Staff see every customer; an object's numbers are its owner's (tenancy)."""
    theirs = Agent.objects.create(user=other_tenant, name="Globex desk")
    make_number(other_tenant, "+14155550199", inbound_agent=theirs)
    client.force_login(support)
    body = client.get(URL, {"agent": str(theirs.pk)}, **HX).text
    assert len(row_ids(body)) == 1 and "Agent: <strong>Globex desk</strong>" in body


@pytest.mark.parametrize(
    ("param", "name", "role", "links_to"),
    [
        ("agent", "desk", "", {"inbound_agent": "desk"}),
        ("prompt", "prompt", "", {"inbound_agent": "desk"}),
        ("webhook", "hook", "", {"inbound_agent": "desk"}),
        ("connection", "twilio", "telephony", {"telephony_account_connection": "twilio"}),
        ("connection", "openai", "llm", {"inbound_agent": "desk"}),
    ],
)
def test_keyset_pages_list_all_n_numbers_once(client, support, owner, param, name, role, links_to):
    graph = make_graph(owner)
    mine = add_numbers(owner, 55, **{k: graph[v] for k, v in links_to.items()})
    add_numbers(owner, 12, inbound_agent=graph["sales"])  # not theirs
    client.force_login(support)
    params = {param: str(graph[name].pk), "size": "25"}
    if role:
        params["connection_role"] = role
    seen: list[str] = []
    body = client.get(URL, params, **HX).text
    pages = 1
    assert "1–25 of 55" in body
    while True:
        seen += row_ids(body)
        following = links(body, 'rel="next"')
        if not following:
            break
        (_, query), pages = following[0], pages + 1
        assert query.keys() >= {param, "size", "after"}  # the filter travels with the cursor
        body = client.get(URL, query, **HX).text
    assert pages == 3 and len(seen) == 55
    assert set(seen) == {str(n.pk) for n in mine}


def test_a_filtered_page_costs_a_constant_number_of_queries(
    client, support, owner, django_assert_num_queries
):
    graph = make_graph(owner)
    add_numbers(owner, 120, inbound_agent=graph["desk"])  # more than a page at either size
    client.force_login(support)
    params = {"webhook": str(graph["hook"].pk), "connection": str(graph["openai"].pk)}
    client.get(URL, params, **HX)
    # session, user, 2 permission queries; the webhook and the connection (read once by
    # the form, for the filter and the chip), the agents using each, the page, its count.
    # On PostgreSQL also the planner block (core.db.custom_plans: SAVEPOINT, SET LOCAL,
    # RELEASE).
    # The user's columns and saved views: one more (console.queries.inventory_preferences).
    for size in (25, 100):
        with django_assert_num_queries(11 + 3 * (connection.vendor == "postgresql")):
            client.get(URL, {**params, "size": size}, **HX)
