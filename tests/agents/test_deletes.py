"""Deleting what numbers or agents depend on: refused with the list, or unlinked, audited.

Before issue 13, deleting an agent set every number's inbound agent to NULL
with no audit entry and no version bump: calls stopped silently.
"""

from __future__ import annotations

import pytest
from django.db.models import RestrictedError
from django.test import Client
from django.urls import reverse

from agents.models import AccountConnection, Action, Agent, Webhook
from agents.services import DeleteRefused, graph_object_delete
from audit.models import AuditEntry
from audit.services import Actor
from phone_numbers.models import PhoneNumber
from tests.factories import make_action, make_agent, make_connection, make_number, make_webhook

pytestmark = pytest.mark.django_db
ACTOR = Actor("ops@switchboard.test", "admin")


@pytest.fixture
def admin_client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def desk(owner):
    agent = make_agent(owner, name="Desk")
    make_number(owner, "+14155550101", inbound_agent=agent)
    make_number(owner, "+14155550102", inbound_agent=agent)
    return agent


def test_the_database_refuses_to_delete_an_agent_numbers_route_to(desk):
    with pytest.raises(RestrictedError):
        desk.delete()


def test_the_service_refuses_without_confirmation_and_says_why(desk):
    with pytest.raises(DeleteRefused, match="2 numbers will stop routing calls"):
        graph_object_delete(obj=desk, actor=ACTOR)
    assert Agent.objects.filter(pk=desk.pk).exists()
    assert not AuditEntry.objects.exists()


def test_confirmed_every_number_is_unlinked_versioned_and_audited(desk):
    graph_object_delete(obj=desk, actor=ACTOR, unlink=True)
    assert not Agent.objects.filter(pk=desk.pk).exists()
    for number in PhoneNumber.objects.all():
        assert number.inbound_agent_id is None and number.version == 2
    entries = AuditEntry.objects.filter(object_type="numbers.phonenumber")
    assert entries.count() == 2
    assert all(e.changes == {"inbound_agent": ["Desk", None]} for e in entries)
    deleted = AuditEntry.objects.get(object_type="agents.agent")
    assert deleted.action == "delete" and deleted.changes["name"] == ["Desk", None]


def test_the_admin_shows_the_impact_and_deletes_only_once_confirmed(admin_client, desk):
    url = reverse("admin:agents_agent_delete", args=[desk.pk])
    page = admin_client.get(url).content.decode()
    assert "2 numbers will stop routing calls" in page
    assert "+14155550101" in page and "+14155550102" in page

    admin_client.post(url, {"post": "yes"})  # Django's own confirmation is not enough
    assert Agent.objects.filter(pk=desk.pk).exists()

    response = admin_client.post(url, {"unlink": "confirm"}, follow=True)
    assert "now stop routing calls" in response.content.decode()
    assert not Agent.objects.filter(pk=desk.pk).exists()
    assert AuditEntry.objects.filter(source="admin", object_type="numbers.phonenumber").count() == 2


def test_deleting_a_webhook_unlinks_its_agents_with_an_entry_each(owner):
    webhook = make_webhook(owner, label="CRM")
    agent = make_agent(owner, name="Desk", webhook=webhook)
    graph_object_delete(obj=webhook, actor=ACTOR, unlink=True)
    agent.refresh_from_db()
    assert agent.webhook_id is None
    entry = AuditEntry.objects.get(object_type="agents.agent")
    assert entry.changes["webhook"] == ["CRM", None]
    assert not Webhook.objects.filter(pk=webhook.pk).exists()


def test_deleting_an_action_removes_it_from_its_agents_with_an_entry_each(owner):
    action = make_action(owner, label="Transfer")
    agent = make_agent(owner, name="Desk")
    agent.actions.add(action)
    with pytest.raises(DeleteRefused, match="1 agent will lose this action"):
        graph_object_delete(obj=action, actor=ACTOR)
    graph_object_delete(obj=action, actor=ACTOR, unlink=True)
    assert not agent.actions.exists()
    entry = AuditEntry.objects.get(object_type="agents.agent")
    assert entry.changes["actions"][1] == []
    assert not Action.objects.filter(pk=action.pk).exists()


def test_deleting_a_connection_unlinks_numbers_and_agents(owner):
    twilio = make_connection(owner)
    number = make_number(owner, "+14155550101", telephony_account_connection=twilio)
    graph_object_delete(obj=twilio, actor=ACTOR, unlink=True)
    number.refresh_from_db()
    assert number.telephony_account_connection_id is None and number.version == 2
    assert not AccountConnection.objects.filter(pk=twilio.pk).exists()


def test_an_unused_agent_is_deleted_with_djangos_own_confirmation(admin_client, owner):
    agent = make_agent(owner, name="Spare")
    url = reverse("admin:agents_agent_delete", args=[agent.pk])
    assert "Are you sure" in admin_client.get(url).content.decode()
    admin_client.post(url, {"post": "yes"})
    assert not Agent.objects.filter(pk=agent.pk).exists()
    assert AuditEntry.objects.get(object_type="agents.agent").action == "delete"
