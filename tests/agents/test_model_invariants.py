"""Each invariant of the agents data model, with an example that breaks it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from agents.admin import AgentForm
from agents.models import Agent, Prompt
from tests.factories import (
    make_action,
    make_agent,
    make_connection,
    make_prompt,
    make_template,
    make_webhook,
)

pytestmark = pytest.mark.django_db


def invalid(obj, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        obj.full_clean()
    assert field in exc.value.message_dict, exc.value.message_dict


@pytest.mark.parametrize("value", [-0.1, 2.01, 5])
def test_it_rejects_llm_temperature_outside_0_to_2(owner, value):
    invalid(Agent(user=owner, name="a", llm_temperature=value), "llm_temperature")


@pytest.mark.parametrize("value", [0, 2, 0.7])
def test_it_accepts_llm_temperature_within_0_to_2(owner, value):
    Agent(user=owner, name="a", llm_temperature=value).full_clean()


@pytest.mark.parametrize("value", [0, -1.5])
def test_it_rejects_a_conversation_speed_that_is_not_positive(owner, value):
    invalid(Agent(user=owner, name="a", conversation_speed=value), "conversation_speed")


@pytest.mark.parametrize(
    "field",
    ["idle_time_seconds", "call_duration_sec", "max_idle_check_count", "initial_message_delay"],
)
def test_it_rejects_negative_counts_and_durations(owner, field):
    invalid(Agent(user=owner, name="a", **{field: -1}), field)


def test_the_database_refuses_an_out_of_range_temperature_written_around_validation(owner):
    agent = make_agent(owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        Agent.objects.filter(pk=agent.pk).update(llm_temperature=3)


def test_the_database_refuses_an_unknown_language(owner):
    agent = make_agent(owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        Agent.objects.filter(pk=agent.pk).update(language="xx")


@pytest.mark.parametrize("url", ["ftp://example.com/x", "example.com/context", "javascript:x"])
def test_it_rejects_endpoints_that_are_not_http_urls(owner, url):
    invalid(Agent(user=owner, name="a", context_endpoint=url), "context_endpoint")
    invalid(Prompt(user=owner, context_endpoint=url), "context_endpoint")


def test_it_stores_numeric_string_deepgram_boosts_as_numbers(owner):
    agent = Agent(user=owner, name="a", deepgram_keywords={"kansas": "10", "ohio": "1.5"})
    agent.full_clean()
    agent.save()
    agent.refresh_from_db()
    assert agent.deepgram_keywords == {"kansas": 10, "ohio": 1.5}


@pytest.mark.parametrize("boost", ["ten", None, True, [1]])
def test_it_rejects_deepgram_boosts_that_are_not_numbers(owner, boost):
    invalid(Agent(user=owner, name="a", deepgram_keywords={"kansas": boost}), "deepgram_keywords")


def test_it_rejects_steering_pool_entries_that_are_not_e164(owner):
    conn = make_connection(owner)
    conn.steering_pool = ["+14155550123", "415-555-0123"]
    invalid(conn, "steering_pool")


def test_it_accepts_collect_fields_as_strings_or_field_objects(owner):
    Prompt(user=owner, collect_fields=["name", {"name": "zip", "type": "string"}]).full_clean()
    invalid(Prompt(user=owner, collect_fields=[1, 2]), "collect_fields")
    invalid(Prompt(user=owner, collect_fields="name"), "collect_fields")


def test_it_rejects_unknown_webhook_subscriptions(owner):
    webhook = make_webhook(owner)
    webhook.subscriptions = ["event_message", "event_lunch"]
    invalid(webhook, "subscriptions")


def test_it_rejects_an_unknown_enum_value(owner):
    invalid(Agent(user=owner, name="a", endpointing_sensitivity="eager"), "endpointing_sensitivity")


@pytest.mark.parametrize("field", ["prompt", "webhook", "openai_account_connection"])
def test_an_agent_cannot_use_another_users_parts(owner, other_tenant, field):
    foreign = {
        "prompt": make_prompt,
        "webhook": make_webhook,
        "openai_account_connection": make_connection,
    }[field](other_tenant)
    invalid(Agent(user=owner, name="a", **{field: foreign}), field)


@pytest.mark.parametrize("field", ["prompt_id", "webhook_id", "openai_account_connection_id"])
def test_the_database_refuses_an_agent_linked_to_another_users_parts(owner, other_tenant, field):
    foreign = {
        "prompt_id": make_prompt,
        "webhook_id": make_webhook,
        "openai_account_connection_id": make_connection,
    }[field](other_tenant)
    agent = make_agent(owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        Agent.objects.filter(pk=agent.pk).update(**{field: foreign.pk})


def test_a_prompt_cannot_use_another_users_template(owner, other_tenant):
    invalid(Prompt(user=owner, prompt_template=make_template(other_tenant)), "prompt_template")


def test_an_agent_cannot_take_another_users_actions_in_the_admin(owner, other_tenant):
    mine, theirs = make_action(owner), make_action(other_tenant, label="Theirs")
    form = AgentForm(data={"user": owner.pk, "actions": [mine.pk, theirs.pk]})
    assert not form.is_valid()
    assert "Theirs" in " ".join(form.errors["actions"])
    form = AgentForm(data={"user": owner.pk, "actions": [mine.pk]})
    form.is_valid()
    assert "actions" not in form.errors


def test_it_flags_an_openai_connection_that_is_not_an_llm(owner):
    twilio = make_connection(owner)
    openai = make_connection(
        owner, type="account_connection_openai", credentials={"openai_api_key": "sk-" + "x" * 40}
    )
    assert make_agent(owner, openai_account_connection=twilio).has_llm_mismatch
    assert not make_agent(owner, openai_account_connection=openai).has_llm_mismatch
