"""The hostile review of the secret rule and the limits: one test per finding.

Each test failed before its fix: a nested credential stored as dots, a copied
` sealed=` URL, a hand-written envelope, a secret moved by a list merge or lost
under a renamed key, a NUL key in credentials, and two admin 500s.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse

from agents.models import AccountConnection, Action, Agent, Webhook
from core.encoding import encode
from core.limits import BoundedJSONFormField
from phone_numbers.importer import ImportRejected, import_items
from phone_numbers.models import PhoneNumber
from phone_numbers.present import numbers_json
from phone_numbers.queries import phone_number_list
from tests.factories import make_action, make_agent, make_connection, make_number, make_webhook
from vault import crypto
from vault.fields import SealedURL, reveal_secrets
from vault.masking import DOTS, mask_json

pytestmark = pytest.mark.django_db

PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
SERVICE_ACCOUNT = {
    "service_account": {"private_key": PEM, "client_email": "robot@project.iam.example"},
    "project": "acme-voice",
}


def _exported_items(owner) -> list[dict]:
    return json.loads(encode(numbers_json(phone_number_list(owner=owner))))


def _import_error_lines(items: list[dict]) -> str:
    with pytest.raises(ImportRejected) as info:
        import_items(items)
    return "\n".join(info.value.lines())


def _raw(model, pk, column) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "{column}" FROM "{model._meta.db_table}" WHERE id = %s',  # noqa: S608
            [pk.hex if connection.vendor == "sqlite" else pk],
        )
        return str(cursor.fetchone()[0])


def _write_raw(model, pk, column, value) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{model._meta.db_table}" SET "{column}" = %s WHERE id = %s',  # noqa: S608
            [value, pk.hex if connection.vendor == "sqlite" else pk],
        )


# -- 1. nested credentials ------------------------------------------------------------


def test_an_unchanged_reimport_keeps_nested_credentials(owner):
    conn = make_connection(owner, type="account_connection_google", credentials=SERVICE_ACCOUNT)
    make_number(owner, telephony_account_connection=conn)
    items = _exported_items(owner)
    shown = items[0]["telephony_account_connection"]["credentials"]
    assert shown["service_account"]["private_key"].startswith(DOTS)

    result = import_items(items)

    assert result.unchanged["accountconnection"] == 1
    assert AccountConnection.objects.get(pk=conn.pk).reveal_credentials() == SERVICE_ACCOUNT


def test_a_reimport_with_one_nested_credential_changed_keeps_the_others(owner):
    conn = make_connection(owner, type="account_connection_google", credentials=SERVICE_ACCOUNT)
    make_number(owner, telephony_account_connection=conn)
    items = _exported_items(owner)
    items[0]["telephony_account_connection"]["credentials"]["service_account"]["client_email"] = (
        "other@project.iam.example"
    )

    import_items(items)

    stored = AccountConnection.objects.get(pk=conn.pk).reveal_credentials()
    assert stored["service_account"] == {
        "private_key": PEM,
        "client_email": "other@project.iam.example",
    }


def test_a_nested_masked_credential_with_nothing_stored_is_refused(owner):
    conn = make_connection(owner, type="account_connection_google", credentials={"project": "x"})
    make_number(owner, telephony_account_connection=conn)
    items = _exported_items(owner)
    items[0]["telephony_account_connection"]["credentials"]["service_account"] = {
        "private_key": DOTS + "--\n"
    }

    errors = _import_error_lines(items)

    assert "credentials.service_account.private_key: is a masked value" in errors
    assert AccountConnection.objects.get(pk=conn.pk).reveal_credentials() == {"project": "x"}


def test_the_admin_refuses_a_nested_masked_credential(client, superuser, owner):
    client.force_login(superuser)
    conn = make_connection(owner, type="account_connection_google", credentials=SERVICE_ACCOUNT)
    url = reverse("admin:agents_accountconnection_change", args=[conn.pk])
    masked = {"service_account": {"private_key": DOTS + "--\n", "client_email": "x@p.iam"}}
    response = client.post(
        url,
        {
            "user": str(owner.pk),
            "label": "Google",
            "description": "",
            "type": conn.type,
            "steering_pool": "[]",
            "new_credentials": json.dumps(masked),
        },
    )
    assert response.status_code == 200
    assert "masked preview" in response.content.decode()
    assert AccountConnection.objects.get(pk=conn.pk).reveal_credentials() == SERVICE_ACCOUNT


# -- 2. " sealed=" in user input --------------------------------------------------------

HOOK_URL = "https://user:pw-secret-123@hooks.b.test/x?api_key=abcdef123456"


def test_the_model_refuses_a_url_with_a_copied_sealed_part(owner, other_tenant):
    theirs = Webhook.objects.get(pk=make_webhook(other_tenant, url=HOOK_URL).pk)
    mine = make_webhook(owner)
    mine.url = "https://hooks.a.test/voice sealed=" + theirs.url.sealed
    with pytest.raises(ValidationError) as info:
        mine.full_clean()
    assert "sealed=" in str(info.value)
    assert not isinstance(mine.url, SealedURL)
    with pytest.raises(ValueError, match="sealed="), transaction.atomic():
        mine.save()  # even a write that skips validation
    assert Webhook.objects.get(pk=mine.pk).url == "https://hooks.example.com/voice"


@pytest.mark.parametrize("sealed", ["copied", "v1:abcd1234:garbage"])
def test_the_importer_refuses_a_url_with_a_sealed_part(owner, other_tenant, sealed):
    if sealed == "copied":
        sealed = Webhook.objects.get(pk=make_webhook(other_tenant, url=HOOK_URL).pk).url.sealed
    make_number(owner, inbound_agent=make_agent(owner, webhook=make_webhook(owner)))
    items = _exported_items(owner)
    items[0]["inbound_agent"]["webhook"]["url"] = "https://hooks.a.test/voice sealed=" + sealed

    errors = _import_error_lines(items)

    assert "item 0.inbound_agent.webhook.url: " in errors and "sealed=" in errors
    assert not any(isinstance(w.url, SealedURL) for w in Webhook.objects.filter(user=owner))


def test_the_admin_refuses_a_url_with_a_sealed_part(client, superuser, owner, other_tenant):
    theirs = Webhook.objects.get(pk=make_webhook(other_tenant, url=HOOK_URL).pk)
    mine = make_webhook(owner)
    client.force_login(superuser)
    response = client.post(
        f"/admin/agents/webhook/{mine.pk}/change/",
        {
            "user": str(owner.pk),
            "url": "https://hooks.a.test/voice sealed=" + theirs.url.sealed,
            "method": "POST",
            "label": "Mine",
            "description": "",
            "subscriptions": '["event_message"]',
        },
    )
    assert response.status_code == 200
    assert Webhook.objects.get(pk=mine.pk).url == "https://hooks.example.com/voice"


def test_key_rotation_reports_an_undecryptable_sealed_url_and_goes_on(owner):
    broken = make_webhook(owner)
    _write_raw(Webhook, broken.pk, "url", "https://h.test/x?token=" + DOTS + " sealed=v1:ab:zz")
    fine = make_webhook(owner, url=HOOK_URL)
    out, err = io.StringIO(), io.StringIO()

    call_command("rotate_encryption_keys", stdout=out, stderr=err)

    assert f"Webhook {broken.pk} url" in err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert Webhook.objects.get(pk=fine.pk).url.reveal() == HOOK_URL


# -- 3. hand-written envelopes -------------------------------------------------------------


def test_the_number_admin_shows_example_context_masked_and_read_only(client, superuser, owner):
    number = make_number(owner, example_context={"crm_token": "tok_1234567890abcdef"})
    client.force_login(superuser)
    page = client.get(reverse("admin:numbers_phonenumber_change", args=[number.pk]))
    body = page.content.decode()
    assert "__sealed__" not in body and "v1:" not in body
    assert DOTS + "cdef" in body
    assert 'name="example_context"' not in body


def test_the_number_admin_save_keeps_example_context(client, superuser, owner):
    number = make_number(owner, example_context={"crm_token": "tok_1234567890abcdef"})
    client.force_login(superuser)
    url = reverse("admin:numbers_phonenumber_change", args=[number.pk])
    response = client.post(
        url,
        {
            "number": number.number,
            "user": str(owner.pk),
            "label": "Renamed",
            "description": "",
            "telephony_provider": number.telephony_provider,
            "active": "on",
            "expected_version": str(number.version),
            "example_context": json.dumps({"__sealed__": "v1:x:y", "preview": "z"}),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    fresh = PhoneNumber.objects.get(pk=number.pk)
    assert fresh.label == "Renamed"
    assert reveal_secrets(fresh.example_context) == {"crm_token": "tok_1234567890abcdef"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": {"__sealed__": "v1:x:y", "preview": "z"}}', "reserved"),
        ('{"__sealed__": "v1:x:y"}', "reserved"),
        ('{"a": "\\ud800"}', "surrogate"),
        ('{"\\u0000": 1}', "NUL"),
    ],
)
def test_an_admin_json_field_refuses_envelopes_surrogates_and_nul(text, message):
    field = BoundedJSONFormField()
    with pytest.raises(ValidationError, match=message):
        field.clean(text)


def test_a_lone_surrogate_in_an_admin_json_field_is_a_form_error_not_a_500(
    client, superuser, owner
):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:agents_prompttemplate_add"),
        {"user": str(owner.pk), "label": "S", "required_context_keys": '["\\ud800"]'},
    )
    assert response.status_code == 200
    assert "surrogate" in response.content.decode()


def test_the_importer_refuses_any_sealed_key_even_one_that_decrypts(owner, other_tenant):
    theirs = make_number(other_tenant, example_context={"crm_token": "tok_1234567890abcdef"})
    copied = PhoneNumber.objects.get(pk=theirs.pk).example_context["crm_token"]
    make_number(owner, "+14155550100")
    items = _exported_items(owner)
    items[0]["example_context"] = {"crm_token": copied}

    errors = _import_error_lines(items)

    assert errors.startswith("item 0.example_context.crm_token: __sealed__ is reserved")


def test_the_api_refuses_an_envelope_shaped_example_context_with_a_422(api, owner):
    make_number(owner, "+14155550123")
    for body in (
        {"example_context": {"__sealed__": "v1:garbage", "preview": "x"}},
        {"example_context": {"__sealed__": crypto.encrypt_json("x"), "preview": "x"}},
    ):
        response = api.post("/v1/numbers/update?phone_number=%2B14155550123", body)
        assert response.status_code == 422, response.content
        assert response.json()["detail"][0]["loc"] == ["body", "example_context"]
        assert "reserved" in response.json()["detail"][0]["msg"]


def test_the_number_service_turns_an_unopenable_secret_into_a_validation_error(owner):
    from audit.services import Actor
    from phone_numbers.services import phone_number_update

    number = make_number(owner, example_context={"crm_token": "tok_1234567890abcdef"})
    _write_raw(
        PhoneNumber,
        number.pk,
        "example_context",
        json.dumps({"crm_token": {"__sealed__": "v1:ab:zz", "preview": DOTS}}),
    )
    number = PhoneNumber.objects.get(pk=number.pk)
    with pytest.raises(ValidationError, match="example_context"):
        phone_number_update(
            number=number,
            changes={"example_context": {"crm_token": "tok_new_0123456789abcdef"}},
            actor=Actor.for_command("test"),
        )


# -- 4. the merge ------------------------------------------------------------------------


def test_deleting_a_list_entry_cannot_move_its_secret_to_the_next(owner):
    agent = make_agent(owner, voice={"headers": [{"password": "pwA"}, {"password": "pwB"}]})
    agent = Agent.objects.get(pk=agent.pk)
    shown = mask_json(agent.voice)
    agent.voice = {"headers": shown["headers"][1:]}
    with pytest.raises(ValidationError) as info:
        agent.full_clean()
    assert "voice.headers[0].password" in str(info.value)


def test_a_list_entry_is_matched_by_its_visible_content(owner):
    headers = [
        {"name": "a", "password": "pwA"},
        {"name": "b", "password": "pwB"},
        {"name": "c", "password": "pwC"},
    ]
    agent = make_agent(owner, voice={"headers": headers})
    agent = Agent.objects.get(pk=agent.pk)
    shown = mask_json(agent.voice)["headers"]
    agent.voice = {"headers": [shown[2], shown[1]]}  # "a" deleted, the rest reordered
    agent.full_clean()
    agent.save()
    stored = reveal_secrets(Agent.objects.get(pk=agent.pk).voice)["headers"]
    assert stored == [{"name": "c", "password": "pwC"}, {"name": "b", "password": "pwB"}]


def test_an_unchanged_list_keeps_its_secrets_in_place(owner):
    voice = {"headers": [{"password": "pwA"}, {"password": "pwB"}]}
    agent = Agent.objects.get(pk=make_agent(owner, voice=voice).pk)
    agent.voice = mask_json(agent.voice)
    agent.full_clean()
    agent.save()
    assert reveal_secrets(Agent.objects.get(pk=agent.pk).voice) == voice


def test_a_masked_value_under_a_renamed_key_is_refused(owner):
    action = make_action(owner, config={"value": "sk-abcdefghijklmnopqrstuvwxz012"})
    action = Action.objects.get(pk=action.pk)
    action.config = {"val": mask_json(action.config)["value"]}
    with pytest.raises(ValidationError) as info:
        action.full_clean()
    assert "config.val" in str(info.value)


def test_dots_stored_under_an_ordinary_key_may_be_sent_back_unchanged(owner):
    action = make_action(owner, config={})
    _write_raw(Action, action.pk, "config", json.dumps({"note": DOTS}))
    action = Action.objects.get(pk=action.pk)
    action.config = {"note": DOTS, "extra": 1}
    action.full_clean()
    action.config = {"other": DOTS}
    with pytest.raises(ValidationError, match="config.other"):
        action.full_clean()


# -- 5. credentials and the limits ---------------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ({"api\x00key": "x"}, "NUL"),
        ({"nested": {"\ud800": "x"}}, "surrogate"),
        ({"blob": "x" * 70_000}, "limit"),
        ({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": 1}}}}}}}}}}}, "deeper"),
        ({"nested": {"token": DOTS + "abcd"}}, "masked"),
    ],
)
def test_set_credentials_applies_the_json_limits(owner, credentials, message):
    conn = AccountConnection(user=owner, type="account_connection_twilio")
    with pytest.raises(ValidationError, match=message):
        conn.set_credentials(credentials)


def test_the_admin_refuses_a_nul_key_in_credentials(client, superuser, owner):
    client.force_login(superuser)
    conn = make_connection(owner)
    response = client.post(
        reverse("admin:agents_accountconnection_change", args=[conn.pk]),
        {
            "user": str(owner.pk),
            "label": "x",
            "description": "",
            "type": conn.type,
            "steering_pool": "[]",
            "new_credentials": '{"tok\\u0000en": "abc"}',
        },
    )
    assert response.status_code == 200
    assert "NUL" in response.content.decode()


def test_the_importer_refuses_a_nul_key_in_credentials_with_a_line(owner):
    make_number(owner, telephony_account_connection=make_connection(owner))
    items = _exported_items(owner)
    items[0]["telephony_account_connection"]["credentials"] = {"tok\x00en": "abc"}
    errors = _import_error_lines(items)
    assert "item 0.telephony_account_connection.credentials.tok\\x00en: the key" in errors


# -- 7. small 500s -----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["agents/agent", "agents/webhook", "numbers/phonenumber"])
def test_an_admin_action_with_an_invalid_id_is_a_message_not_a_500(client, superuser, owner, model):
    webhook = make_webhook(owner)
    client.force_login(superuser)
    response = client.post(
        f"/admin/{model}/",
        {"action": "delete_selected", "_selected_action": ["not-a-uuid"], "index": "0"},
        follow=True,
    )
    assert response.status_code == 200
    assert "not valid ids" in response.content.decode()
    assert Webhook.objects.filter(pk=webhook.pk).exists()


def test_an_admin_action_keeps_the_valid_ids_and_drops_the_rest(client, superuser, owner):
    hooks = [make_webhook(owner), make_webhook(owner)]
    client.force_login(superuser)
    response = client.post(
        "/admin/agents/webhook/",
        {
            "action": "delete_selected",
            "_selected_action": [str(hooks[0].pk), "not-a-uuid"],
            "index": "0",
            "post": "yes",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert not Webhook.objects.filter(pk=hooks[0].pk).exists()
    assert Webhook.objects.filter(pk=hooks[1].pk).exists()


@pytest.mark.parametrize(
    "query",
    [
        "created_at__year=99999999999",
        "created_at__year=2024&created_at__month=99999999999",
        "created_at__year=2024&created_at__month=1&created_at__day=99999999999",
        "created_at__year__gte=99999999999",
        "created_at__year=-1",
    ],
)
@pytest.mark.parametrize("path", ["/admin/audit/auditentry/", "/admin/agents/agent/"])
def test_an_out_of_range_date_part_in_a_changelist_is_a_400(client, superuser, path, query):
    client.force_login(superuser)
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400


def test_a_valid_date_hierarchy_still_works(client, superuser, owner):
    make_agent(owner)
    client.force_login(superuser)
    assert client.get("/admin/audit/auditentry/?created_at__year=2024").status_code == 200
