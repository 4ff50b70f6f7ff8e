"""A masked value never overwrites a secret, on every sealed field and write path.

Every sealed JSON field (agent voice, transcriber, llm_fallback; action
config, action_trigger; number example_context) and URL field (webhook url,
agent and prompt context_endpoint) is written back in the masked form a
person or client saw: the stored secret stays. Anything else replaces it,
and a masked value with nothing stored behind it is refused.
"""

from __future__ import annotations

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from agents.models import Action, Agent, Prompt, Webhook
from phone_numbers.models import PhoneNumber
from tests.factories import make_action, make_agent, make_number, make_prompt, make_webhook
from vault import crypto
from vault.fields import (
    SealedURL,
    apply_secret_rule,
    reveal_secrets,
    seal_existing_rows,
    seal_existing_urls,
)
from vault.masking import DOTS, mask_json

pytestmark = pytest.mark.django_db

VOICE_KEY = "el_0123456789abcdefWXYZ"
BEARER = "Bearer sk-live-abcdefghijklmnopqrstuvwx"
CRM_TOKEN = "tok_1234567890abcdef"
HOOK_URL = "https://user:pw-secret-123@hooks.example.com/x?api_key=abcdef123456"
CONTEXT_URL = "https://api.example.com/context?access_token=zyxwvutsrqponmlk"

JSON_FIELDS = [
    (Agent, "voice", {"provider": "elevenlabs", "api_key": VOICE_KEY}),
    (Agent, "transcriber", {"provider": "deepgram", "headers": {"Authorization": BEARER}}),
    (Agent, "llm_fallback", {"provider": "openai", "apiKeys": ["sk-" + "a" * 24, "b" * 20]}),
    (Action, "config", {"headers": {"Authorization": BEARER}, "max_tokens": 10}),
    (Action, "action_trigger", {"refresh_tokens": {"primary": "r" * 24}}),
    (PhoneNumber, "example_context", {"crm_token": CRM_TOKEN, "name": "Ada"}),
]
URL_FIELDS = [
    (Webhook, "url", HOOK_URL),
    (Agent, "context_endpoint", CONTEXT_URL),
    (Prompt, "context_endpoint", CONTEXT_URL),
]


def _make(model, owner, **fields):
    if model is Agent:
        return make_agent(owner, **fields)
    if model is Action:
        return make_action(owner, **fields)
    if model is Webhook:
        return make_webhook(owner, **fields)
    if model is Prompt:
        return make_prompt(owner, **fields)
    return make_number(owner, **fields)


def _raw(model, pk, column):
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "{column}" FROM "{model._meta.db_table}" WHERE id = %s',  # noqa: S608
            [pk.hex if connection.vendor == "sqlite" else pk],
        )
        return str(cursor.fetchone()[0])


@pytest.mark.parametrize(("model", "name", "value"), JSON_FIELDS)
def test_a_json_secret_is_stored_sealed_and_kept_when_its_masked_form_comes_back(
    owner, model, name, value
):
    obj = _make(model, owner, **{name: value})
    raw = _raw(model, obj.pk, name)
    assert "__sealed__" in raw and VOICE_KEY not in raw and "sk-live" not in raw
    obj = model.objects.get(pk=obj.pk)

    shown = mask_json(getattr(obj, name))
    assert DOTS in str(shown)
    setattr(obj, name, shown)  # what a form, the API or an import sends back
    obj.full_clean()
    obj.save()
    assert reveal_secrets(model.objects.get(pk=obj.pk).__dict__[name]) == value


@pytest.mark.parametrize(("model", "name", "value"), JSON_FIELDS)
def test_a_json_secret_is_replaced_by_a_new_value(owner, model, name, value):
    obj = model.objects.get(pk=_make(model, owner, **{name: value}).pk)
    shown = mask_json(getattr(obj, name))
    secret_key = next(k for k in shown if shown[k] != value.get(k))
    setattr(obj, name, {**shown, secret_key: "a brand new secret value"})
    obj.save()
    stored = reveal_secrets(model.objects.get(pk=obj.pk).__dict__[name])
    assert stored[secret_key] == "a brand new secret value"


@pytest.mark.parametrize(("model", "name", "value"), JSON_FIELDS)
def test_a_masked_value_with_no_secret_behind_it_is_refused(owner, model, name, value):
    obj = _make(model, owner, **{name: {}})
    setattr(obj, name, {"api_key": DOTS + "1234"})
    with pytest.raises(ValidationError) as info:
        obj.full_clean()
    assert f"{name}.api_key" in str(info.value)


@pytest.mark.parametrize(("model", "name", "value"), URL_FIELDS)
def test_a_url_secret_is_stored_sealed_shown_masked_and_kept_when_sent_back(
    owner, model, name, value
):
    obj = _make(model, owner, **{name: value})
    raw = _raw(model, obj.pk, name)
    assert "pw-secret-123" not in raw and "zyxwvutsrqponmlk" not in raw and " sealed=v1:" in raw
    obj = model.objects.get(pk=obj.pk)
    shown = getattr(obj, name)
    assert isinstance(shown, SealedURL) and DOTS in shown and str(shown).startswith("https://")
    assert shown.reveal() == value

    setattr(obj, name, str(shown))  # the masked URL, as a form or an import sends it
    obj.full_clean()
    obj.save()
    assert getattr(model.objects.get(pk=obj.pk), name).reveal() == value

    setattr(obj, name, str(shown).replace("/x", "/y").replace("context", "ctx"))
    with pytest.raises(ValidationError, match="masked value"):
        obj.full_clean()

    setattr(obj, name, "https://plain.example.com/new")
    obj.full_clean()
    obj.save()
    fresh = getattr(model.objects.get(pk=obj.pk), name)
    assert fresh == "https://plain.example.com/new" and not isinstance(fresh, SealedURL)


def test_the_api_keeps_a_secret_posted_back_masked_and_replaces_a_new_one(api, owner):
    make_number(owner, "+14155550123", example_context={"crm_token": CRM_TOKEN})
    item = api.get("/v1/numbers", {"phone_number": "+14155550123"}).json()
    context = item["example_context"]
    assert context["crm_token"] == DOTS + "cdef"

    response = api.post(
        "/v1/numbers/update?phone_number=%2B14155550123",
        {"example_context": {**context, "customer": "Ada"}},
    )
    assert response.status_code == 200, response.content
    stored = PhoneNumber.objects.get(number="+14155550123").example_context
    assert reveal_secrets(stored) == {"crm_token": CRM_TOKEN, "customer": "Ada"}

    response = api.post(
        "/v1/numbers/update?phone_number=%2B14155550123",
        {"example_context": {"crm_token": "tok_new_value_0987654321", "customer": "Ada"}},
    )
    assert response.status_code == 200
    stored = PhoneNumber.objects.get(number="+14155550123").example_context
    assert reveal_secrets(stored)["crm_token"] == "tok_new_value_0987654321"


def test_the_api_refuses_a_masked_value_with_nothing_stored_behind_it(api, owner):
    make_number(owner, "+14155550123")
    response = api.post(
        "/v1/numbers/update?phone_number=%2B14155550123",
        {"example_context": {"api_key": DOTS + "1234"}},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "example_context"]
    assert "masked value" in response.json()["detail"][0]["msg"]


def test_an_unchanged_masked_post_writes_nothing(api, owner):
    number = make_number(owner, "+14155550123", example_context={"crm_token": CRM_TOKEN})
    item = api.get("/v1/numbers", {"phone_number": "+14155550123"}).json()
    response = api.post(
        "/v1/numbers/update?phone_number=%2B14155550123",
        {"example_context": item["example_context"]},
    )
    assert response.status_code == 200
    assert PhoneNumber.objects.get(pk=number.pk).version == number.version


def test_the_admin_keeps_a_webhook_url_secret_when_the_form_is_saved_unchanged(
    client, superuser, owner
):
    webhook = make_webhook(owner, url=HOOK_URL, label="CRM")
    client.force_login(superuser)
    url = f"/admin/agents/webhook/{webhook.pk}/change/"
    page = client.get(url).content.decode()
    assert "pw-secret-123" not in page and "abcdef123456" not in page
    shown = str(Webhook.objects.get(pk=webhook.pk).url)
    form = {
        "user": str(owner.pk),
        "url": shown,
        "method": webhook.method,
        "label": "CRM renamed",
        "description": "",
        "subscriptions": '["event_message"]',
        "expected_version": "1",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    fresh = Webhook.objects.get(pk=webhook.pk)
    assert fresh.label == "CRM renamed" and fresh.url.reveal() == HOOK_URL

    response = client.post(url, {**form, "url": shown.replace("/x", "/y")})
    assert response.status_code == 200 and "masked value" in response.content.decode()
    assert Webhook.objects.get(pk=webhook.pk).url.reveal() == HOOK_URL


def _write_raw(model, pk, column, value):
    """Store a value as an older release did, around the field's own sealing."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{model._meta.db_table}" SET "{column}" = %s WHERE id = %s',  # noqa: S608
            [value, pk.hex if connection.vendor == "sqlite" else pk],
        )


def test_the_migration_rule_seals_old_plaintext_and_unseals_a_token_count(owner):
    action = make_action(owner, config={})
    # What the old rule stored: token_count sealed, the Authorization header in plaintext.
    old_rule_tree = {
        "headers": {"Authorization": BEARER},
        "token_count": {"__sealed__": crypto.encrypt_json(12), "preview": DOTS},
    }
    _write_raw(Action, action.pk, "config", json.dumps(old_rule_tree))
    assert "sk-live" in _raw(Action, action.pk, "config")

    fresh, moved = apply_secret_rule(Action.objects.get(pk=action.pk).config)
    assert moved == 2
    assert fresh["token_count"] == 12
    assert set(fresh["headers"]["Authorization"]) == {"__sealed__", "preview"}
    assert reveal_secrets(fresh) == {"headers": {"Authorization": BEARER}, "token_count": 12}
    assert apply_secret_rule(fresh)[1] == 0  # idempotent

    assert seal_existing_rows(Action, ["config"]) == 1
    assert "sk-live" not in _raw(Action, action.pk, "config")
    assert Action.objects.get(pk=action.pk).config["token_count"] == 12


def test_the_migration_seals_a_url_stored_in_plaintext(owner):
    webhook = make_webhook(owner)
    _write_raw(Webhook, webhook.pk, "url", HOOK_URL)
    assert seal_existing_urls(Webhook, ["url"]) == 1
    assert "pw-secret-123" not in _raw(Webhook, webhook.pk, "url")
    assert Webhook.objects.get(pk=webhook.pk).url.reveal() == HOOK_URL
    assert seal_existing_urls(Webhook, ["url"]) == 0


def test_key_rotation_reencrypts_sealed_urls(owner, settings):
    old_key = settings.CREDENTIAL_KEYS[0]
    webhook = make_webhook(owner, url=HOOK_URL)
    new_key = Fernet.generate_key().decode()
    settings.CREDENTIAL_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "Re-encrypted 1 URL(s)" in out.getvalue()
    settings.CREDENTIAL_KEYS = [new_key]
    assert Webhook.objects.get(pk=webhook.pk).url.reveal() == HOOK_URL


def test_the_wider_rule_seals_a_credential_in_a_url_path_stored_in_plaintext(owner):
    webhook = make_webhook(owner)
    url = "https://hooks.example.com/hook/sk_live_abcdefghijklmnopqrstuvwx/in"
    _write_raw(Webhook, webhook.pk, "url", url)
    assert seal_existing_urls(Webhook, ["url"]) == 1
    assert "abcdefghijklmnop" not in _raw(Webhook, webhook.pk, "url")
    assert Webhook.objects.get(pk=webhook.pk).url.reveal() == url


@pytest.mark.parametrize("url", ["admin:users_user_changelist", "admin:users_apitoken_changelist"])
def test_an_account_admin_action_with_a_bad_id_is_not_a_500(client, superuser, url):
    from django.urls import reverse

    client.force_login(superuser)
    response = client.post(
        reverse(url), {"action": "delete_selected", "_selected_action": ["not-a-uuid"]}
    )
    assert response.status_code in (200, 302)
