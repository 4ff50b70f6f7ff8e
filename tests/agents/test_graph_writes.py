"""One write path for the agent graph: agents.services.graph_object_save.

Before issue 14 the admin and the importer each wrote agents, prompts,
actions, webhooks and connections in their own way, with no version: two
admin tabs on one agent meant the last save silently won.
"""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from agents.models import AccountConnection, Agent, Webhook
from agents.services import graph_object_delete, graph_object_save
from audit.models import AuditEntry
from audit.services import Actor, VersionConflict
from phone_numbers.importer import import_items
from tests.factories import make_action, make_agent, make_connection, make_webhook

pytestmark = pytest.mark.django_db
ACTOR = Actor("ops@switchboard.test", "admin")


@pytest.fixture
def admin_client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def test_a_change_bumps_the_version_and_writes_one_entry(owner):
    agent = make_agent(owner, name="Desk")
    agent.name = "Front desk"
    graph_object_save(obj=agent, actor=ACTOR, expected_version=1)
    agent.refresh_from_db()
    assert (agent.name, agent.version) == ("Front desk", 2)
    entry = AuditEntry.objects.get(object_type="agents.agent")
    assert entry.changes == {"name": ["Desk", "Front desk"]}


def test_an_unchanged_save_writes_nothing(owner):
    webhook = make_webhook(owner, label="CRM")
    graph_object_save(obj=Webhook.objects.get(pk=webhook.pk), actor=ACTOR, expected_version=1)
    assert Webhook.objects.get(pk=webhook.pk).version == 1
    assert not AuditEntry.objects.exists()


def test_a_stale_writer_gets_a_conflict_and_writes_nothing(owner):
    agent = make_agent(owner, name="Desk")
    first, second = Agent.objects.get(pk=agent.pk), Agent.objects.get(pk=agent.pk)
    first.name = "Mine"
    graph_object_save(obj=first, actor=ACTOR, expected_version=1)
    second.name = "Theirs"
    with pytest.raises(VersionConflict) as conflict:
        graph_object_save(obj=second, actor=ACTOR, expected_version=1)
    assert conflict.value.current.version == 2
    assert Agent.objects.get(pk=agent.pk).name == "Mine"
    assert AuditEntry.objects.count() == 1


def test_actions_change_with_the_agent_in_one_version_and_one_entry(owner):
    transfer, book = make_action(owner, label="Transfer"), make_action(owner, label="Book")
    agent = make_agent(owner, name="Desk")
    agent.actions.add(transfer)
    agent.name = "Desk 2"
    graph_object_save(obj=agent, actor=ACTOR, actions=[book])
    agent.refresh_from_db()
    assert agent.version == 2 and list(agent.actions.all()) == [book]
    entry = AuditEntry.objects.get()
    assert entry.changes == {"actions": [["Transfer"], ["Book"]], "name": ["Desk", "Desk 2"]}


def test_another_customers_action_is_refused(owner, other_tenant):
    agent = make_agent(owner, name="Desk")
    with pytest.raises(ValidationError, match="Actions of another user"):
        graph_object_save(obj=agent, actor=ACTOR, actions=[make_action(other_tenant)])
    assert not agent.actions.exists() and not AuditEntry.objects.exists()


def test_an_invalid_object_is_refused_before_anything_is_written(owner):
    agent = make_agent(owner, name="Desk")
    agent.llm_temperature = 7
    with pytest.raises(ValidationError):
        graph_object_save(obj=agent, actor=ACTOR)
    assert Agent.objects.get(pk=agent.pk).llm_temperature is None
    assert not AuditEntry.objects.exists()


def test_unlinking_on_delete_is_a_versioned_write(owner):
    webhook = make_webhook(owner, label="CRM")
    agent = make_agent(owner, name="Desk", webhook=webhook)
    graph_object_delete(obj=webhook, actor=ACTOR, unlink=True)
    agent.refresh_from_db()
    assert agent.webhook_id is None and agent.version == 2


def test_two_admin_tabs_on_one_agent_the_second_save_is_a_conflict(admin_client, owner):
    agent = make_agent(owner, name="Desk")
    url = reverse("admin:agents_agent_change", args=[agent.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="expected_version" value="1"' in page
    form = {
        "name": "Desk",
        "language": "en",
        "interrupt_sensitivity": "low",
        "endpointing_sensitivity": "auto",
        "ivr_navigation_mode": "default",
        "deepgram_keywords": "{}",
        "expected_version": "1",
    }
    assert admin_client.post(url, {**form, "name": "Tab one"}).status_code == 302
    response = admin_client.post(url, {**form, "name": "Tab two"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "changed this agent" in page and "now at version 2" in page
    assert Agent.objects.get(pk=agent.pk).name == "Tab one"
    assert AuditEntry.objects.filter(object_type="agents.agent").count() == 1


def test_an_admin_credential_change_is_versioned(admin_client, owner):
    conn = make_connection(owner, credentials={"api_key": "sk-" + "a" * 30}, label="Main")
    url = reverse("admin:agents_accountconnection_change", args=[conn.pk])
    response = admin_client.post(
        url,
        {
            "label": "Main",
            "description": "",
            "type": conn.type,
            "steering_pool": "[]",
            "new_credentials": json.dumps({"api_key": "sk-" + "b" * 30}),
            "expected_version": "1",
        },
    )
    assert response.status_code == 302
    conn = AccountConnection.objects.get(pk=conn.pk)
    assert conn.version == 2 and conn.reveal_credentials() == {"api_key": "sk-" + "b" * 30}
    entry = AuditEntry.objects.get(object_type="agents.accountconnection")
    assert list(entry.changes) == ["credentials"]
    assert "b" * 20 not in json.dumps(entry.changes)


def test_a_reimport_of_a_changed_agent_bumps_its_version(owner):
    item = {
        "id": "00000000-0000-4000-8000-000000000001",
        "user_id": str(owner.pk),
        "number": "+14155550123",
        "telephony_provider": "twilio",
        "inbound_agent": {
            "id": "00000000-0000-4000-8000-000000000002",
            "user_id": str(owner.pk),
            "name": "Desk",
        },
    }
    import_items([item], actor=ACTOR)
    assert Agent.objects.get().version == 1
    import_items([item], actor=ACTOR)  # unchanged: no write
    assert Agent.objects.get().version == 1
    item["inbound_agent"]["name"] = "Front desk"
    import_items([item], actor=ACTOR)
    agent = Agent.objects.get()
    assert (agent.name, agent.version) == ("Front desk", 2)
    assert AuditEntry.objects.filter(object_type="agents.agent").count() == 2
