"""Property tests: masking never reveals more than 4 characters; any JSON is safe to import."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.models import Agent
from phone_numbers.importer import ImportRejected, import_items, items_of
from phone_numbers.models import PhoneNumber
from users.models import User
from vault.masking import DOTS, mask_json, mask_secret

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)


@given(st.text(max_size=200))
def test_a_mask_shows_at_most_the_last_four_characters(secret):
    masked = mask_secret(secret)
    assert masked in (DOTS, DOTS + secret[-4:])
    assert masked == DOTS or len(secret) >= 16
    assert len(masked) in (len(DOTS), len(DOTS) + 4)


@given(
    st.text(min_size=16, max_size=60),
    st.sampled_from(["api_key", "apiKey", "token", "client_secret", "password", "signing-secret"]),
)
def test_secret_named_keys_are_masked_at_any_depth(secret, key):
    masked = mask_json({"outer": [{"inner": {key: secret}}]})
    assert masked["outer"][0]["inner"][key] == DOTS + secret[-4:]


def _item(user_id: str, extra: dict) -> dict:
    return {
        "id": "11111111-1111-4111-8111-111111111111",
        "user_id": user_id,
        "number": "+14155550123",
        "telephony_provider": "twilio",
        **extra,
    }


@pytest.mark.django_db
@settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    document=JSON,
    field=st.sampled_from(
        [
            "label",
            "active",
            "inbound_agent",
            "telephony_account_connection",
            "example_context",
            "outbound_only",
            "number",
            "items",
            "id",
        ]
    ),
)
def test_any_json_is_imported_or_rejected_whole(document, field):
    before = (User.objects.count(), PhoneNumber.objects.count(), Agent.objects.count())
    for candidate in (
        document,
        {"items": [document]},
        {"items": [_item("22222222-2222-4222-8222-222222222222", {field: document})]},
    ):
        try:
            import_items(items_of(candidate))
        except ImportRejected:
            after = (User.objects.count(), PhoneNumber.objects.count(), Agent.objects.count())
            assert after == before  # nothing half-written
        else:
            PhoneNumber.objects.all().delete()
            User.objects.exclude(pk__in=[]).filter(email__endswith="@imported.invalid").delete()
