"""/numbers/<id>/: the side panel and the full page, with masked credentials."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import (
    make_action,
    make_agent,
    make_connection,
    make_number,
    make_prompt,
    make_template,
    make_webhook,
)
from vault.masking import DOTS

pytestmark = pytest.mark.django_db
TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
VOICE_KEY = "el_voice_key_abcdefghijkl1234"
SIGNING = "whsec_signing_secret_xyz7890"


@pytest.fixture
def number(owner):
    conn = make_connection(
        owner,
        credentials={"twilio_account_sid": "AC" + "7" * 32, "twilio_auth_token": TOKEN},
        label="Main Twilio",
    )
    llm = make_connection(
        owner,
        type="account_connection_openai",
        label="OpenAI prod",
        credentials={"openai_api_key": "sk-proj-" + "z" * 40},
    )
    agent = make_agent(
        owner,
        name="Front Desk",
        webhook=make_webhook(owner, url="https://hooks.acme.example/v"),
        prompt=make_prompt(
            owner,
            content="You answer calls for Acme.",
            tags=["desk"],
            collect_fields=["name"],
            prompt_template=make_template(owner, label="Base", required_context_keys=["account"]),
        ),
        openai_account_connection=llm,
        voice={"provider": "elevenlabs", "api_key": VOICE_KEY},
        deepgram_keywords={"acme": 5},
    )
    agent.actions.add(make_action(owner, label="To sales", config={"signing_secret": SIGNING}))
    return make_number(
        owner,
        "+14155550123",
        label="Main",
        inbound_agent=agent,
        telephony_account_connection=conn,
        example_context={"name": "Kim"},
    )


def test_the_full_page_shows_every_part_with_secrets_masked(client, support, number):
    client.force_login(support)
    response = client.get(reverse("numbers:detail", args=[number.pk]))
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body
    for text in (
        "+1 415-555-0123",
        "Main",
        "Front Desk",
        "You answer calls for Acme.",
        "Base",
        "account",
        "To sales",
        "https://hooks.acme.example/v",
        "twilio_auth_token",
        "openai_api_key",
        "OpenAI prod",
        "elevenlabs",
        "acme",
    ):
        assert text in body, text
    for secret in (TOKEN, VOICE_KEY, SIGNING, "sk-proj-" + "z" * 40, "AC" + "7" * 32):
        assert secret not in body
    assert DOTS + TOKEN[-4:] in body and DOTS + VOICE_KEY[-4:] in body


def test_htmx_gets_the_panel_fragment(client, support, number):
    client.force_login(support)
    response = client.get(reverse("numbers:detail", args=[number.pk]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and "data-close-panel" in body
    assert "HX-Request" in response["Vary"]


def test_an_unknown_number_is_a_404(client, support):
    client.force_login(support)
    url = reverse("numbers:detail", args=["00000000-0000-4000-8000-000000000000"])
    assert client.get(url).status_code == 404


def test_the_query_count_does_not_grow_with_actions(
    client, support, number, owner, django_assert_num_queries
):
    client.force_login(support)
    url = reverse("numbers:detail", args=[number.pk])
    client.get(url)
    # session, user, 2 permissions, number graph, actions, history
    with django_assert_num_queries(7):
        client.get(url)
    for _ in range(5):
        number.inbound_agent.actions.add(make_action(owner))
    with django_assert_num_queries(7):
        client.get(url)
