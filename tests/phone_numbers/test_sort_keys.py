"""The inventory's sort keys kept on each number, and the lists that no longer sort or
count a million rows per request (issue 18).

``PhoneNumber.inbound_agent_name`` and ``owner_email`` are copies (phone_numbers.upkeep);
after every write path below they equal a fresh read of the agent and the account, and
``upkeep.drift()`` finds nothing. Sorting by them orders exactly as the join did.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.urls import reverse

from agents.models import Agent
from agents.queries import agent_directory, connection_directory, webhook_directory
from agents.services import graph_object_delete, graph_object_save
from audit.models import AuditEntry
from audit.services import Actor
from core.pagination import decode_cursor, keyset_page
from phone_numbers import queries, upkeep
from phone_numbers.bulk import BulkChange, apply_bulk, plan_bulk
from phone_numbers.importer import import_items
from phone_numbers.models import PhoneNumber
from phone_numbers.queries import NumberFilters
from phone_numbers.services import phone_number_save, phone_number_update
from tests.factories import make_agent, make_connection, make_webhook
from users.models import User
from users.services import user_save

pytestmark = pytest.mark.django_db
ACTOR = Actor("ops@switchboard.test", "admin")


def keys(number: PhoneNumber) -> tuple[str, str | None]:
    number = PhoneNumber.objects.get(pk=number.pk)
    return number.owner_email, number.inbound_agent_name


def exact() -> bool:
    assert upkeep.drift() == []
    return True


def new_number(owner, digits: str, **fields) -> PhoneNumber:
    number = PhoneNumber(
        user=owner, number=f"+1415555{digits}", telephony_provider="twilio", **fields
    )
    number.full_clean()
    return phone_number_save(number=number, actor=ACTOR)


def test_every_write_path_keeps_the_sort_keys_exact(owner, other_tenant):
    desk = make_agent(owner, name="Desk")
    bare = make_agent(owner, name="Bare")

    # Created (the admin's and the importer's path), with and without an agent.
    a = new_number(owner, "0101", inbound_agent=desk)
    b = new_number(owner, "0102")
    assert keys(a) == ("owner@acme.example", "Desk") and keys(b) == ("owner@acme.example", None)
    assert exact()

    # A field change (the console, the API): the agent and its name move together.
    phone_number_update(number=b, changes={"inbound_agent": bare}, actor=ACTOR)
    phone_number_update(number=a, changes={"inbound_agent": None}, actor=ACTOR)
    assert keys(a)[1] is None and keys(b)[1] == "Bare" and exact()

    # Changes that do not move the agent leave its name (and write it back exact).
    phone_number_update(number=b, changes={"label": "Front"}, actor=ACTOR)
    b = PhoneNumber.objects.get(pk=b.pk)
    b.description = "from the admin"
    phone_number_save(number=b, actor=ACTOR, expected_version=b.version)
    assert keys(b) == ("owner@acme.example", "Bare") and exact()

    # A bulk change.
    change = BulkChange("inbound_agent", desk)
    plan = plan_bulk(numbers=PhoneNumber.objects.all(), change=change)
    apply_bulk(targets=plan.targets, change=change, actor=ACTOR)
    assert {keys(a)[1], keys(b)[1]} == {"Desk"} and exact()

    # The agent is renamed (the admin, the importer: the graph write path).
    desk = Agent.objects.get(pk=desk.pk)
    desk.name = "Reception"
    graph_object_save(obj=desk, actor=ACTOR)
    assert {keys(a)[1], keys(b)[1]} == {"Reception"} and exact()

    # The owner's email changes (the admin, through users.services.user_save).
    account = User.objects.get(pk=owner.pk)
    account.email = "Ops@Acme.example"
    user_save(user=account, actor=ACTOR)
    assert keys(a)[0] == keys(b)[0] == "ops@acme.example" and exact()
    # ...which another owner's numbers do not follow.
    c = new_number(other_tenant, "0103")
    account.name = "Acme"
    user_save(user=account, actor=ACTOR)
    assert keys(c)[0] == "owner@globex.example" and exact()

    # The agent is deleted, its numbers unlinked first.
    graph_object_delete(obj=Agent.objects.get(pk=desk.pk), actor=ACTOR, unlink=True)
    assert keys(a)[1] is None and keys(b)[1] is None and exact()
    # The copies are consequences, not changes: the trail does not show them.
    assert not AuditEntry.objects.filter(changes__has_key="inbound_agent_name").exists()
    assert not AuditEntry.objects.filter(changes__has_key="owner_email").exists()


def test_an_import_keeps_them_exact_through_a_rename(owner):
    agent = {"id": "00000000-0000-4000-8000-000000000002", "user_id": str(owner.pk), "name": "Desk"}
    item = {
        "id": "00000000-0000-4000-8000-000000000001",
        "user_id": str(owner.pk),
        "number": "+14155550123",
        "telephony_provider": "twilio",
        "inbound_agent": agent,
    }
    import_items([item], actor=ACTOR)
    assert keys(PhoneNumber.objects.get()) == ("owner@acme.example", "Desk") and exact()
    agent["name"] = "Front desk"
    import_items([item], actor=ACTOR)
    assert keys(PhoneNumber.objects.get())[1] == "Front desk" and exact()
    item["inbound_agent"] = None
    import_items([item], actor=ACTOR)
    assert keys(PhoneNumber.objects.get())[1] is None and exact()


def test_rebuild_repairs_stale_sort_keys_and_check_reports_them(owner):
    number = new_number(owner, "0101", inbound_agent=make_agent(owner, name="Desk"))
    PhoneNumber.objects.update(owner_email="stale@example.com", inbound_agent_name=None)
    lines = upkeep.drift()
    assert lines == [f"number {number.number}: sort keys 'stale@example.com', None are stale"]
    with pytest.raises(CommandError, match="1 kept value"):
        call_command("rebuild_health", "--check", stdout=io.StringIO())
    assert upkeep.rebuild()["sort keys"] == 2  # one UPDATE per key
    assert keys(number) == ("owner@acme.example", "Desk") and exact()
    assert upkeep.rebuild()["sort keys"] == 0


@pytest.fixture
def sorted_inventory(owner, other_tenant):
    """Equal agent names, numbers without an agent (NULL), two owners."""
    agents = [make_agent(owner, name=name) for name in ("Desk", "Desk", "Alpha", "zulu")]
    others = make_agent(other_tenant, name="Mid")
    for i in range(23):
        if i % 4 == 3:
            new_number(other_tenant, f"{i:04d}", inbound_agent=others if i % 8 == 3 else None)
        else:
            new_number(owner, f"{i:04d}", inbound_agent=None if i % 5 == 0 else agents[i % 4])
    assert exact()


@pytest.mark.parametrize(
    ("sort", "joined"), [("agent", "inbound_agent__name"), ("owner", "user__email")]
)
@pytest.mark.parametrize("desc", [False, True])
def test_sorting_by_a_kept_key_orders_as_the_join_did(sorted_inventory, sort, joined, desc):
    ours = queries.inventory(filters=NumberFilters(), sort=sort, desc=desc)
    key = F(joined).desc(nulls_first=True) if desc else F(joined).asc(nulls_last=True)
    theirs = PhoneNumber.objects.order_by(key, "-id" if desc else "id")
    assert [n.pk for n in ours] == [n.pk for n in theirs]


@pytest.mark.parametrize("sort", ["agent", "owner"])
@pytest.mark.parametrize("desc", [False, True])
def test_keyset_pages_go_forward_and_back_over_a_kept_key_with_nulls(sorted_inventory, sort, desc):
    qs = queries.inventory(filters=NumberFilters(), sort=sort, desc=desc)
    expected = [n.pk for n in qs]
    page, seen = keyset_page(qs, size=4, cursor=None, last=True), []
    while True:  # backwards from the last page
        seen = [n.pk for n in page.items] + seen
        if page.is_first:
            break
        page = keyset_page(qs, size=4, cursor=decode_cursor(page.previous_cursor, qs))
    assert seen == expected
    seen = [n.pk for n in page.items]
    while page.has_more:  # and forward again from the first
        page = keyset_page(qs, size=4, cursor=decode_cursor(page.next_cursor, qs))
        seen += [n.pk for n in page.items]
    assert seen == expected


def test_the_inventory_page_sorts_by_each_key_both_ways(client, support, sorted_inventory):
    client.force_login(support)
    for sort in queries.NUMBER_SORTS:
        for prefix in ("", "-"):
            response = client.get(reverse("numbers:list"), {"sort": prefix + sort, "size": 25})
            assert response.status_code == 200, sort


SORT_INDEXES = {
    "agent": "number_agent_name_id",
    "owner": "number_owner_email_id",
    "telephony_provider": "number_provider_number_id",
    "active": "number_active_number_id",
    "outbound_only": "number_outbound_number_id",
}


@pytest.mark.parametrize("sort", list(SORT_INDEXES))
@pytest.mark.parametrize("desc", [False, True])
def test_each_sort_is_an_index_range_scan(sorted_inventory, sort, desc):
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    page = queries.inventory(filters=NumberFilters(), sort=sort, desc=desc)[:51]
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:  # tiny tables: forbid the scan-and-sort plan
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_incremental_sort = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    scan = (
        f"Index Scan{' Backward' if desc else ''} using {SORT_INDEXES[sort]} on numbers_phonenumber"
    )
    assert scan in plan and "Sort" not in plan, plan


# --- The agents, webhooks and connections lists ----------------------------------------


def test_agent_search_means_what_it_meant(owner, other_tenant):
    desk = make_agent(owner, name="Front Desk", label="")
    labelled = make_agent(owner, name="Night", label="Desk overflow")
    theirs = make_agent(other_tenant, name="Sales")
    make_agent(other_tenant, name="Quiet", label="nothing")

    def found(text: str) -> set:
        return set(agent_directory(q=text).values_list("pk", flat=True))

    assert found("desk") == {desk.pk, labelled.pk}
    assert found("GLOBEX") == {
        theirs.pk,
        *Agent.objects.filter(user=other_tenant).values_list("pk", flat=True),
    }
    assert found("acme.example") == {desk.pk, labelled.pk}
    assert found("nowhere") == set()


def test_webhooks_and_connections_are_searched_and_counted(client, support, owner, other_tenant):
    crm = make_webhook(owner, label="CRM")
    make_webhook(other_tenant, label="Billing")
    make_agent(owner, webhook=crm)
    make_agent(owner, webhook=crm)
    twilio = make_connection(owner, label="Twilio main")
    make_connection(other_tenant, label="Telnyx")
    assert [w.agent_count for w in webhook_directory()] == [0, 2]  # Billing, CRM
    assert list(webhook_directory(q="crm")) == [crm]
    assert {w.label for w in webhook_directory(q="globex")} == {"Billing"}
    assert list(connection_directory(q="twilio")) == [twilio]
    assert {c.label for c in connection_directory(q="globex")} == {"Telnyx"}

    client.force_login(support)
    body = client.get(reverse("agents:webhooks"), {"q": "crm"}).content.decode()
    assert "CRM" in body and "Billing" not in body and 'value="crm"' in body
    body = client.get(reverse("agents:connections"), {"q": "nothing"}).content.decode()
    assert "No connections match" in body
    # Bad input is dropped with a notice, never a 500.
    for url in (reverse("agents:webhooks"), reverse("agents:connections"), reverse("agents:list")):
        response = client.get(url, {"q": "x" * 500, "size": "7", "after": "junk"})
        assert response.status_code == 200, url


def test_the_lists_read_a_bounded_number_of_queries(
    client, support, owner, django_assert_max_num_queries
):
    for i in range(12):
        hook = make_webhook(owner, label=f"Hook {i}")
        make_agent(owner, webhook=hook)
        make_connection(owner, label=f"Conn {i}")
    client.force_login(support)
    for url in ("agents:webhooks", "agents:connections"):
        for params in ({}, {"q": "owner"}):
            with django_assert_max_num_queries(12):
                assert client.get(reverse(url), params).status_code == 200
