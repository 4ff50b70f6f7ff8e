"""The agents' and connections' stored JSON (agents.fragments) stays exact.

The API assembles pages from these renderings, so every write that changes an
object an agent's JSON includes must render that agent again, in the write's
transaction; a rendering that is missing or masked under another rule is never
served.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from agents import fragments
from agents.models import Agent, AgentJSON, ConnectionJSON, ConnectionType
from agents.services import graph_object_delete, graph_object_save
from audit.services import Actor, VersionConflict
from core.encoding import encode
from phone_numbers.models import PhoneNumber
from phone_numbers.present import numbers_json
from tests.factories import (
    make_action,
    make_agent,
    make_connection,
    make_number,
    make_prompt,
    make_template,
    make_webhook,
)
from vault import masking

pytestmark = pytest.mark.django_db
ACTOR = Actor("ops@switchboard.test", "admin")
SECRET = "sk-live-" + "Q" * 32


@pytest.fixture
def graph(owner):
    """An agent using every kind of object, each written through the write path."""
    template = graph_object_save(obj=make_template(owner, label="T"), actor=ACTOR)
    prompt = graph_object_save(obj=make_prompt(owner, prompt_template=template), actor=ACTOR)
    webhook = graph_object_save(obj=make_webhook(owner), actor=ACTOR)
    llm = make_connection(owner, type=ConnectionType.OPENAI, credentials={"api_key": SECRET})
    graph_object_save(obj=llm, actor=ACTOR)
    action = graph_object_save(obj=make_action(owner, config={"token": SECRET}), actor=ACTOR)
    agent = make_agent(owner, prompt=prompt, webhook=webhook, openai_account_connection=llm)
    graph_object_save(obj=agent, actor=ACTOR, actions=[action])
    telephony = graph_object_save(obj=make_connection(owner), actor=ACTOR)
    number = make_number(owner, inbound_agent=agent, telephony_account_connection=telephony)
    return {
        "template": template,
        "prompt": prompt,
        "webhook": webhook,
        "llm": llm,
        "action": action,
        "agent": agent,
        "telephony": telephony,
        "number": number,
    }


def served(number: PhoneNumber) -> dict:
    """The number as the API serves it, parsed."""
    return json.loads(encode(numbers_json(PhoneNumber.objects.filter(pk=number.pk))))[0]


def test_every_write_path_leaves_the_stored_json_exact(graph):
    assert fragments.drift() == []
    edits = [
        ("template", "label", "T2"),
        ("prompt", "content", "Be brief."),
        ("webhook", "url", "https://hooks.example.com/v2"),
        ("llm", "label", "OpenAI main"),
        ("action", "label", "Escalate"),
        ("agent", "name", "Front desk"),
        ("telephony", "label", "Twilio main"),
    ]
    for key, field, value in edits:
        obj = graph[key]
        obj.refresh_from_db()
        setattr(obj, field, value)
        graph_object_save(obj=obj, actor=ACTOR)
        assert fragments.drift() == [], f"after editing the {key}"
    shown = served(graph["number"])
    agent = shown["inbound_agent"]
    assert shown["inbound_agent_name"] == agent["name"] == "Front desk"
    assert agent["prompt"]["content"] == "Be brief."
    assert agent["prompt"]["prompt_template"]["label"] == "T2"
    assert agent["webhook"]["url"] == "https://hooks.example.com/v2"
    assert agent["openai_account_connection"]["label"] == "OpenAI main"
    assert [a["label"] for a in agent["actions"]] == ["Escalate"]
    assert shown["telephony_account_connection"]["label"] == "Twilio main"


def test_unlinking_deletes_render_the_agents_again(graph):
    graph_object_delete(obj=graph["webhook"], actor=ACTOR, unlink=True)
    graph_object_delete(obj=graph["action"], actor=ACTOR, unlink=True)
    graph_object_delete(obj=graph["prompt"], actor=ACTOR, unlink=True)
    assert fragments.drift() == []
    agent = served(graph["number"])["inbound_agent"]
    assert (agent["webhook"], agent["actions"], agent["prompt"]) == (None, [], None)


def test_deleting_an_agent_deletes_its_rendering(owner):
    agent = graph_object_save(obj=make_agent(owner), actor=ACTOR)
    assert AgentJSON.objects.filter(agent=agent).exists()
    graph_object_delete(obj=agent, actor=ACTOR)
    assert not AgentJSON.objects.filter(agent_id=agent.pk).exists()


def test_a_refused_write_leaves_the_stored_json_as_it_was(graph):
    agent = graph["agent"]
    before = AgentJSON.objects.get(agent=agent).body
    agent.refresh_from_db()
    agent.name = "Stale edit"
    with pytest.raises(VersionConflict):
        graph_object_save(obj=agent, actor=ACTOR, expected_version=agent.version - 1)
    assert AgentJSON.objects.get(agent=agent).body == before


def test_no_stored_rendering_holds_a_secret(graph):
    bodies = list(AgentJSON.objects.values_list("body", flat=True))
    bodies += list(ConnectionJSON.objects.values_list("body", flat=True))
    assert bodies and not any(SECRET in body for body in bodies)
    assert SECRET[-4:] in bodies[0]  # the masked form keeps the last four


def test_a_missing_rendering_is_made_on_read_and_stored(graph):
    AgentJSON.objects.all().delete()
    ConnectionJSON.objects.all().delete()
    shown = served(graph["number"])
    assert shown["inbound_agent"]["name"] == graph["agent"].name
    assert shown["telephony_account_connection"]["id"] == str(graph["telephony"].pk)
    assert AgentJSON.objects.filter(agent=graph["agent"]).exists()
    assert ConnectionJSON.objects.filter(connection=graph["telephony"]).exists()
    # What the read did not need is still missing: rebuild_fragments renders it.
    assert fragments.drift() == [f"connection {graph['llm'].pk}: stored JSON is missing"]


def test_a_rendering_of_another_masking_rule_is_never_served(graph):
    AgentJSON.objects.update(rule=masking.RULE_VERSION - 1, body='{"stale": true}')
    shown = served(graph["number"])
    assert "stale" not in shown["inbound_agent"]
    stored = AgentJSON.objects.get(agent=graph["agent"])
    assert stored.rule == masking.RULE_VERSION and "stale" not in stored.body


def test_rows_written_around_the_write_paths_show_as_drift_until_rebuilt(graph):
    prompt = graph["prompt"]
    prompt.content = "Changed by hand"
    prompt.save()  # not through graph_object_save: what a hand-run SQL fix does
    assert fragments.drift() == [f"agent {graph['agent'].pk}: stored JSON is stale"]
    with pytest.raises(CommandError):
        call_command("rebuild_fragments", "--check")
    call_command("rebuild_fragments")
    call_command("rebuild_fragments", "--check")
    assert served(graph["number"])["inbound_agent"]["prompt"]["content"] == "Changed by hand"


def test_one_query_reads_a_pages_stored_json(owner, django_assert_num_queries):
    for i in range(6):
        agent = graph_object_save(obj=make_agent(owner), actor=ACTOR)
        make_number(owner, f"+1212555{i:04d}", inbound_agent=agent)
    with django_assert_num_queries(2):  # the numbers' rows, then their agents' JSON
        assert len(numbers_json(PhoneNumber.objects.filter(user=owner))) == 6


def test_an_integer_json_cannot_hold_is_still_encoded():
    assert encode({"n": 2**70, "line": "a\u2028b"}) == (
        b'{"n":1180591620717411303424,"line":"a\\u2028b"}'
    )


# The masking rule's code, whitespace, comments and docstrings aside, per version.
# Changing what vault/masking.py masks changes its digest: bump masking.RULE_VERSION
# in the same change (stored renderings of the old rule are then rendered again on
# read, or ahead of time by rebuild_fragments).
def _masking_code_digest() -> str:
    tree = ast.parse(Path(masking.__file__).read_text(encoding="utf-8"))
    body = [
        node
        for node in tree.body
        if not (
            isinstance(node, ast.Assign)
            and any(getattr(t, "id", "") == "RULE_VERSION" for t in node.targets)
        )
    ]
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        first = getattr(node, "body", None)
        head = first[0] if isinstance(first, list) and first else None
        if isinstance(head, ast.Expr) and isinstance(getattr(head.value, "value", None), str):
            first.pop(0)  # docstrings are not the rule
    dumped = ast.dump(ast.Module(body=body, type_ignores=[]))
    return hashlib.sha256(dumped.encode()).hexdigest()[:16]


def test_a_change_of_the_masking_rule_bumps_its_version():
    digest = _masking_code_digest()
    assert (masking.RULE_VERSION, digest) == (1, RULE_DIGESTS[1]), (
        "vault/masking.py changed: if what it masks changed, bump RULE_VERSION and add "
        f"its digest {digest!r} to RULE_DIGESTS; if not (a refactoring), replace the "
        "current version's digest."
    )


RULE_DIGESTS = {1: "761d96f20391c524"}


def test_a_mixed_workload_through_every_write_path_leaves_no_drift(superuser):
    """The golden inventory (written through the services), then its own export
    edited and imported back (the importer's graph writes), deletes with unlinks,
    and a number moved to another agent: every stored rendering stays exact."""
    from phone_numbers.importer import import_items
    from phone_numbers.services import phone_number_update
    from tests.api.golden_graph import OWNER_ID, build_golden_graph

    build_golden_graph()
    assert fragments.drift() == []
    items = json.loads(encode(numbers_json(PhoneNumber.objects.filter(user_id=OWNER_ID))))
    agent = next(item["inbound_agent"] for item in items if item["inbound_agent"])
    agent["name"] = "Renamed by import"
    agent["actions"] = agent["actions"][1:]
    if agent["webhook"]:
        agent["webhook"]["label"] = "Imported hook"
    for item in items:
        if item["inbound_agent"] and item["inbound_agent"]["id"] == agent["id"]:
            item["inbound_agent"] = agent
    import_items(items, actor=ACTOR)
    assert fragments.drift() == []
    webhook = Agent.objects.exclude(webhook=None).first().webhook
    graph_object_delete(obj=webhook, actor=ACTOR, unlink=True)
    number = PhoneNumber.objects.filter(user_id=OWNER_ID).exclude(inbound_agent=None).first()
    other = Agent.objects.filter(user_id=OWNER_ID).exclude(pk=number.inbound_agent_id).first()
    phone_number_update(number=number, changes={"inbound_agent": other}, actor=ACTOR)
    assert fragments.drift() == []
    shown = served(PhoneNumber.objects.get(pk=number.pk))
    assert shown["inbound_agent"]["id"] == str(other.pk)
    assert '"name":"Renamed by import"' in AgentJSON.objects.get(agent_id=agent["id"]).body
    gone = f'"id":"{webhook.pk}"'
    assert not any(gone in body for body in AgentJSON.objects.values_list("body", flat=True))
