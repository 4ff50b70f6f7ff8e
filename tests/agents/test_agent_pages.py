"""/agents/, /webhooks/ and /connections/: lists, details and what depends on them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from tests.factories import make_agent, make_connection, make_number, make_webhook

pytestmark = pytest.mark.django_db
SECRET = "tok_" + "s" * 28 + "LAST"


@pytest.fixture
def graph(owner, other_tenant):
    hook = make_webhook(owner, label="CRM hook")
    llm = make_connection(
        owner,
        type="account_connection_openai",
        label="OpenAI prod",
        credentials={"openai_api_key": SECRET},
    )
    desk = make_agent(
        owner, name="Front Desk", webhook=hook, openai_account_connection=llm, provider="openai"
    )
    make_agent(other_tenant, name="Spanish Line", language="es", provider="deepseek")
    twilio = make_connection(owner, label="Main Twilio", credentials={"twilio_auth_token": SECRET})
    for i in range(3):
        make_number(
            owner, f"+1415555010{i}", inbound_agent=desk, telephony_account_connection=twilio
        )
    return {"hook": hook, "llm": llm, "desk": desk, "twilio": twilio}


def test_the_agent_list_counts_routed_numbers(client, support, graph):
    client.force_login(support)
    body = client.get(reverse("agents:list")).content.decode()
    assert "Front Desk" in body and "Spanish Line" in body
    assert f'?agent={graph["desk"].pk}">3</a>' in body


@pytest.mark.parametrize(
    ("params", "shown", "hidden"),
    [
        ({"q": "front"}, "Front Desk", "Spanish Line"),
        ({"q": "globex"}, "Spanish Line", "Front Desk"),
        ({"language": "es"}, "Spanish Line", "Front Desk"),
        ({"provider": "openai"}, "Front Desk", "Spanish Line"),
    ],
)
def test_the_agent_list_searches_and_filters(client, support, graph, params, shown, hidden):
    client.force_login(support)
    body = client.get(reverse("agents:list"), params, HTTP_HX_REQUEST="true").content.decode()
    assert shown in body and hidden not in body and "<html" not in body


def test_the_agent_list_filters_by_owner(client, support, graph, other_tenant):
    client.force_login(support)
    body = client.get(reverse("agents:list"), {"owner": str(other_tenant.pk)}).content.decode()
    assert "Spanish Line" in body and ">Front Desk<" not in body


@pytest.mark.parametrize("size", [25, 100])
def test_the_agent_list_query_count_is_constant(
    client, support, owner, django_assert_num_queries, size
):
    for i in range(101):  # more than one page at either size
        make_number(owner, f"+1303555{i:04d}", inbound_agent=make_agent(owner))
    client.force_login(support)
    client.get(reverse("agents:list"), HTTP_HX_REQUEST="true")
    # session, user, 2 perms, page, count (each agent's routed numbers are its kept
    # number_count); on PostgreSQL an unfiltered list also sets per-query planning for
    # its transaction (core.db.custom_plans) and asks the planner for the table's size
    # (pg_class.reltuples). (Inside the test's own transaction that block is a
    # SAVEPOINT and its RELEASE.)
    with django_assert_num_queries(6 + 4 * (connection.vendor == "postgresql")):
        client.get(reverse("agents:list"), {"size": size}, HTTP_HX_REQUEST="true")


def test_the_agent_page_shows_its_numbers(client, support, graph):
    client.force_login(support)
    body = client.get(reverse("agents:detail", args=[graph["desk"].pk])).content.decode()
    assert "3 numbers</a> route to this agent." in body and "+1 415-555-0100" in body
    assert SECRET not in body


def test_webhook_and_connection_pages_show_what_depends_on_them(client, support, graph):
    client.force_login(support)
    hook = client.get(reverse("agents:webhook", args=[graph["hook"].pk])).content.decode()
    assert "1 agent, answering <a " in hook and "3 numbers</a>." in hook and "Front Desk" in hook
    conn = client.get(reverse("agents:connection", args=[graph["twilio"].pk])).content.decode()
    assert "3 numbers</a> use it for telephony" in conn and SECRET not in conn
    assert "LAST" in conn
    llm = client.get(reverse("agents:connection", args=[graph["llm"].pk])).content.decode()
    assert "Agents using it as their LLM connection (1)" in llm
    for name in ("agents:webhooks", "agents:connections"):
        page = client.get(reverse(name)).content.decode()
        assert SECRET not in page


@pytest.mark.parametrize("name", ["agents:detail", "agents:webhook", "agents:connection"])
def test_unknown_ids_are_a_404(client, support, name):
    client.force_login(support)
    assert (
        client.get(reverse(name, args=["00000000-0000-4000-8000-000000000000"])).status_code == 404
    )


@pytest.mark.parametrize("name", ["agents:list", "agents:webhooks", "agents:connections"])
def test_the_pages_need_staff_permissions(client, staff_without_permissions, name):
    assert client.get(reverse(name)).status_code == 302
    client.force_login(staff_without_permissions)
    assert client.get(reverse(name)).status_code == 403
