"""Kept health columns and dependent counts stay exact after every kind of write (issue 16).

After each write below, ``upkeep.drift()`` compares every number's kept health
columns and every agent, prompt, webhook and connection count with a fresh
computation from the rows; it must find nothing.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from agents.models import AccountConnection, Agent, ConnectionType, Webhook
from agents.services import graph_object_delete, graph_object_save
from audit.models import AuditEntry
from audit.services import Actor
from phone_numbers import upkeep
from phone_numbers.bulk import BulkChange, apply_bulk, plan_bulk
from phone_numbers.importer import import_items
from phone_numbers.models import PhoneNumber
from phone_numbers.services import (
    phone_number_delete,
    phone_number_revert,
    phone_number_save,
    phone_number_update,
)
from tests.factories import make_agent, make_connection, make_prompt, make_webhook

pytestmark = pytest.mark.django_db
ACTOR = Actor("ops@switchboard.test", "admin")


def exact() -> bool:
    lines = upkeep.drift()
    assert lines == []
    return True


def counts(obj) -> int:
    return type(obj).objects.get(pk=obj.pk).number_count


@pytest.fixture
def graph(owner):
    hook = make_webhook(owner, label="CRM")
    openai = make_connection(owner, type=ConnectionType.OPENAI, label="OpenAI")
    twilio = make_connection(owner, type=ConnectionType.TWILIO, label="Twilio")
    prompt = make_prompt(owner, label="Desk prompt")
    desk = make_agent(
        owner, name="Desk", webhook=hook, prompt=prompt, openai_account_connection=openai
    )
    bare = make_agent(owner, name="Bare")
    return {
        "hook": hook,
        "openai": openai,
        "twilio": twilio,
        "prompt": prompt,
        "desk": desk,
        "bare": bare,
    }


def new_number(owner, digits: str, **links) -> PhoneNumber:
    number = PhoneNumber(
        user=owner, number=f"+1415555{digits}", telephony_provider="twilio", **links
    )
    number.full_clean()
    return phone_number_save(number=number, actor=ACTOR)


def test_every_kind_of_write_keeps_the_columns_and_counts_exact(owner, graph):
    desk, bare, hook, twilio = graph["desk"], graph["bare"], graph["hook"], graph["twilio"]

    # Created (the admin's and the importer's path).
    a = new_number(owner, "0101", inbound_agent=desk, telephony_account_connection=twilio)
    b = new_number(owner, "0102", inbound_agent=bare)
    c = new_number(owner, "0103")
    assert exact() and counts(desk) == 1 and counts(hook) == 1 and twilio.number_count == 0
    assert AccountConnection.objects.get(pk=twilio.pk).telephony_number_count == 1
    assert PhoneNumber.objects.get(pk=b.pk).agent_without_webhook

    # A field change (the console, the API).
    phone_number_update(number=c, changes={"inbound_agent": desk}, actor=ACTOR)
    phone_number_update(number=b, changes={"inbound_agent": None}, actor=ACTOR)
    assert exact() and counts(desk) == 2 and counts(bare) == 0

    # A bulk change.
    change = BulkChange("inbound_agent", bare)
    plan = plan_bulk(numbers=PhoneNumber.objects.all(), change=change)
    apply_bulk(targets=plan.targets, change=change, actor=ACTOR)
    assert exact() and counts(bare) == 3 and counts(desk) == 0

    # The admin changes the provider: the Twilio connection no longer fits.
    a = PhoneNumber.objects.get(pk=a.pk)
    a.telephony_provider = "telnyx"
    phone_number_save(number=a, actor=ACTOR, expected_version=a.version)
    assert exact() and PhoneNumber.objects.get(pk=a.pk).misconfigured

    # Graph writes: the agent gains a webhook, a prompt and a non-LLM "OpenAI" connection.
    bare = Agent.objects.get(pk=bare.pk)
    bare.webhook, bare.prompt, bare.openai_account_connection = hook, graph["prompt"], twilio
    graph_object_save(obj=bare, actor=ACTOR)
    assert exact() and counts(hook) == 3 and counts(graph["prompt"]) == 3
    assert not PhoneNumber.objects.filter(agent_without_webhook=True).exists()
    assert PhoneNumber.objects.filter(misconfigured=True).count() == 3

    # A connection's type changes: every number that uses it, either way, follows.
    twilio = AccountConnection.objects.get(pk=twilio.pk)
    twilio.type = ConnectionType.OPENAI
    graph_object_save(obj=twilio, actor=ACTOR)
    assert exact() and PhoneNumber.objects.filter(misconfigured=True).count() == 1

    # A revert of an unassignment routes the number again.
    entry = AuditEntry.objects.filter(object_id=str(b.pk), changes__has_key="inbound_agent")
    entry = entry.order_by("-id").first()
    phone_number_revert(number=PhoneNumber.objects.get(pk=b.pk), entry=entry, actor=ACTOR)
    assert exact()

    # Deletes: a webhook with its agents unlinked, an agent with its numbers, a number.
    graph_object_delete(obj=Webhook.objects.get(pk=hook.pk), actor=ACTOR, unlink=True)
    assert exact() and PhoneNumber.objects.filter(agent_without_webhook=True).exists()
    graph_object_delete(obj=Agent.objects.get(pk=bare.pk), actor=ACTOR, unlink=True)
    assert exact()
    phone_number_delete(number=PhoneNumber.objects.get(pk=c.pk), actor=ACTOR)
    assert exact()


def test_an_import_keeps_them_exact(owner):
    agent = {"id": "00000000-0000-4000-8000-000000000002", "user_id": str(owner.pk), "name": "Desk"}
    item = {
        "id": "00000000-0000-4000-8000-000000000001",
        "user_id": str(owner.pk),
        "number": "+14155550123",
        "telephony_provider": "twilio",
        "inbound_agent": agent,
    }
    import_items([item], actor=ACTOR)
    assert exact() and PhoneNumber.objects.get().agent_without_webhook
    agent["webhook"] = {
        "id": "00000000-0000-4000-8000-000000000003",
        "user_id": str(owner.pk),
        "url": "https://hooks.example.com/x",
    }
    import_items([item], actor=ACTOR)
    assert exact() and not PhoneNumber.objects.get().agent_without_webhook
    assert Webhook.objects.get().number_count == 1


def test_rebuild_health_repairs_and_check_reports_drift(owner, graph):
    new_number(owner, "0101", inbound_agent=graph["desk"])
    Agent.objects.filter(pk=graph["desk"].pk).update(number_count=7)  # written around upkeep
    PhoneNumber.objects.update(agent_without_webhook=True)
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 kept value"):
        call_command("rebuild_health", "--check", stdout=out)
    assert "agent_without_webhook is wrong" in out.getvalue() and "is 7, counts 1" in out.getvalue()
    call_command("rebuild_health", stdout=io.StringIO())
    assert exact()
    out = io.StringIO()
    call_command("rebuild_health", "--check", stdout=out)
    assert "exact" in out.getvalue()


def test_each_dependents_filter_lists_exactly_the_counted_numbers(owner, graph):
    """The inventory filters by prompt, webhook and connection (issue 16): each lists
    the numbers the kept count counts."""
    from phone_numbers.queries import NumberFilters, filter_numbers

    desk, bare = graph["desk"], graph["bare"]
    for i, agent in enumerate([desk, desk, bare, None]):
        new_number(
            owner,
            f"020{i}",
            inbound_agent=agent,
            telephony_account_connection=graph["twilio"] if i % 2 else None,
        )
    everything = PhoneNumber.objects.all()
    for name, obj in [
        ("prompt", graph["prompt"]),
        ("webhook", graph["hook"]),
        ("connection", graph["openai"]),
        ("connection", graph["twilio"]),
        ("agent", desk),
    ]:
        fresh = type(obj).objects.get(pk=obj.pk)
        listed = filter_numbers(everything, NumberFilters(**{name: obj}))
        assert listed.count() == fresh.number_count > 0, name
