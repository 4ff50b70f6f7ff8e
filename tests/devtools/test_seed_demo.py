"""``manage.py seed_demo``: realistic, deterministic, and safe to run twice."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from agents.models import AccountConnection, Agent
from phone_numbers.models import PhoneNumber
from users.models import User

pytestmark = pytest.mark.django_db


def seed(numbers: int = 120, seed_value: int = 7) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--numbers", str(numbers), "--seed", str(seed_value), stdout=out)
    return out.getvalue()


def fingerprint() -> list[tuple]:
    return list(
        PhoneNumber.objects.order_by("number").values_list(
            "id",
            "number",
            "user__email",
            "inbound_agent__name",
            "label",
            "active",
            "outbound_only",
            "telephony_provider",
            "telephony_account_connection__type",
        )
    )


def wipe() -> None:
    PhoneNumber.objects.all().delete()
    User.objects.all().delete()  # cascades to every owned object


def test_the_same_seed_gives_the_same_inventory():
    seed()
    first = fingerprint()
    first_creds = sorted(
        (str(c.pk), repr(c.reveal_credentials())) for c in AccountConnection.objects.all()
    )
    wipe()
    seed()
    assert fingerprint() == first
    assert (
        sorted((str(c.pk), repr(c.reveal_credentials())) for c in AccountConnection.objects.all())
        == first_creds
    )


def test_another_seed_gives_another_inventory():
    seed(seed_value=1)
    first = fingerprint()
    wipe()
    seed(seed_value=2)
    assert fingerprint() != first


def test_the_inventory_is_varied_like_a_real_one():
    seed(400)
    numbers = PhoneNumber.objects.all()
    assert numbers.count() == 400
    assert User.objects.count() >= 4
    assert numbers.filter(inbound_agent__isnull=True).exists()
    assert numbers.filter(active=False).exists()
    assert numbers.filter(outbound_only=True).exists()
    assert numbers.filter(number_is_valid=False).exists()
    assert set(numbers.values_list("telephony_provider", flat=True)) == {
        "twilio",
        "telnyx",
        "vonage",
    }
    assert AccountConnection.objects.values("type").distinct().count() >= 8
    assert Agent.objects.values("language").distinct().count() >= 5
    for agent in Agent.objects.select_related("prompt", "webhook", "openai_account_connection"):
        agent.full_clean()  # every generated agent satisfies the model's invariants
    for number in numbers.select_related("inbound_agent", "telephony_account_connection")[:100]:
        number.full_clean()


def test_it_leaves_an_existing_inventory_alone():
    seed(50)
    out = seed(50)
    assert "already has 50 numbers" in out
    assert PhoneNumber.objects.count() == 50
