"""GET /v1/agents/list and /v1/agents: the owner's agents in the inbound_agent shape."""

from __future__ import annotations

import pytest

from tests.factories import make_action, make_agent, make_connection, make_prompt
from vault.masking import DOTS

pytestmark = pytest.mark.django_db


def test_it_lists_only_the_owners_agents_sorted_by_name(api, other_api):
    make_agent(api.user, name="Bravo")
    make_agent(api.user, name="Alpha")
    make_agent(other_api.user, name="Theirs")
    body = api.get("/v1/agents/list").json()
    assert [a["name"] for a in body["items"]] == ["Alpha", "Bravo"]
    assert body["total"] == 2


def test_it_gets_one_agent_with_its_parts_and_masked_secrets(api):
    conn = make_connection(
        api.user,
        type="account_connection_openai",
        credentials={"openai_api_key": "sk-proj-" + "a" * 40 + "WXYZ"},
    )
    agent = make_agent(
        api.user,
        prompt=make_prompt(api.user),
        openai_account_connection=conn,
        voice={"provider": "elevenlabs", "api_key": "el-" + "b" * 30},
    )
    agent.actions.add(make_action(api.user, config={"signing_secret": "whsec_" + "c" * 30}))
    body = api.get("/v1/agents", {"id": str(agent.pk)}).json()
    assert body["openai_account_connection"]["credentials"] == {"openai_api_key": DOTS + "WXYZ"}
    assert body["voice"] == {"provider": "elevenlabs", "api_key": DOTS + "bbbb"}
    assert body["actions"][0]["config"] == {"signing_secret": DOTS + "cccc"}
    assert body["prompt"]["label"] == "Prompt"


def test_another_users_agent_is_a_404_like_a_missing_one(api, other_api):
    theirs = make_agent(other_api.user)
    a = api.get("/v1/agents", {"id": str(theirs.pk)})
    b = api.get("/v1/agents", {"id": "00000000-0000-4000-8000-000000000000"})
    assert a.status_code == b.status_code == 404 and a.json() == b.json()


def test_a_bad_id_is_a_422(api):
    response = api.get("/v1/agents", {"id": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "id"]


@pytest.mark.parametrize("size", [1, 100])
def test_the_query_count_is_constant(api, django_assert_num_queries, size):
    for _ in range(5):
        agent = make_agent(api.user, prompt=make_prompt(api.user))
        agent.actions.add(make_action(api.user))
    api.get("/v1/agents/list")
    # + the rate-limit counter's one upsert (api.throttling)
    with django_assert_num_queries(5 if size == 1 else 4):
        assert api.get("/v1/agents/list", {"size": size}).status_code == 200
