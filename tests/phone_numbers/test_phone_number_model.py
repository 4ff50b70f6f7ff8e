"""Invariants of PhoneNumber."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from phone_numbers import phone
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_connection, make_number

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "number", ["14155550123", "+0415555012", "+1415555012345678", "+1 415 555 0123", "+1-415"]
)
def test_it_rejects_numbers_that_are_not_e164(owner, number):
    with pytest.raises(ValidationError) as exc:
        PhoneNumber(user=owner, number=number, telephony_provider="twilio").full_clean()
    assert "number" in exc.value.message_dict


def test_the_database_refuses_a_number_without_a_plus(owner):
    number = make_number(owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        PhoneNumber.objects.filter(pk=number.pk).update(number="14155550123")


def test_numbers_are_unique(owner, other_tenant):
    make_number(owner, "+14155550100")
    with pytest.raises(ValidationError):
        PhoneNumber(
            user=other_tenant, number="+14155550100", telephony_provider="twilio"
        ).full_clean()


def test_it_rejects_an_unknown_provider(owner):
    with pytest.raises(ValidationError) as exc:
        PhoneNumber(user=owner, number="+14155550101", telephony_provider="sprint").full_clean()
    assert "telephony_provider" in exc.value.message_dict


def test_example_context_maps_strings_to_strings(owner):
    number = PhoneNumber(
        user=owner, number="+14155550102", telephony_provider="twilio", example_context={"name": 3}
    )
    with pytest.raises(ValidationError):
        number.full_clean()


def test_it_keeps_but_flags_a_placeholder_number(owner):
    number = make_number(owner, "+1234567890")
    assert number.number_is_valid is False
    assert make_number(owner, "+14155550123").number_is_valid is True


def test_it_formats_numbers_for_reading():
    assert phone.display("+14155550123") == "+1 415-555-0123"
    assert phone.display("+442079460123") == "+44 20 7946 0123"


def test_a_number_cannot_route_to_another_users_agent(owner, other_tenant):
    number = PhoneNumber(
        user=owner,
        number="+14155550104",
        telephony_provider="twilio",
        inbound_agent=make_agent(other_tenant),
    )
    with pytest.raises(ValidationError) as exc:
        number.full_clean()
    assert "inbound_agent" in exc.value.message_dict


def test_a_number_cannot_use_another_users_connection(owner, other_tenant):
    number = PhoneNumber(
        user=owner,
        number="+14155550105",
        telephony_provider="twilio",
        telephony_account_connection=make_connection(other_tenant),
    )
    with pytest.raises(ValidationError) as exc:
        number.full_clean()
    assert "telephony_account_connection" in exc.value.message_dict


@pytest.mark.parametrize(
    ("field", "make"),
    [("inbound_agent_id", make_agent), ("telephony_account_connection_id", make_connection)],
)
def test_the_database_refuses_cross_tenant_links(owner, other_tenant, field, make):
    number = make_number(owner)
    foreign = make(other_tenant)
    with pytest.raises(IntegrityError), transaction.atomic():
        PhoneNumber.objects.filter(pk=number.pk).update(**{field: foreign.pk})


@pytest.mark.parametrize(
    "number",
    [
        "+1\uff14\uff11\uff155550123",
        "+\u0661\u0662\u0663\u0664\u0665\u0666\u0667",
        "+1415555\u0967123",
    ],
    ids=["fullwidth", "arabic-indic", "devanagari"],
)
def test_it_takes_ascii_digits_only(owner, number):
    with pytest.raises(ValidationError, match="E.164"):
        PhoneNumber(user=owner, number=number, telephony_provider="twilio").full_clean()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("label", "Main\x00line", "NUL"),
        ("description", "d" * 10_001, "limit is 10,000"),
        ("example_context", {"k\x00": "v"}, "the key contains a NUL"),
        ("example_context", {"k": "\ud800"}, "lone UTF-16 surrogate"),
    ],
)
def test_the_model_refuses_input_over_the_limits(owner, field, value, message):
    number = PhoneNumber(user=owner, number="+14155550123", telephony_provider="twilio")
    setattr(number, field, value)
    with pytest.raises(ValidationError) as info:
        number.full_clean()
    assert field in info.value.message_dict
    assert message in " ".join(info.value.message_dict[field])
