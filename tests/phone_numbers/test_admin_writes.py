"""The number admin writes through phone_numbers.services: compare-and-set, one entry."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from audit.services import Actor
from phone_numbers import services
from phone_numbers.models import PhoneNumber
from tests.factories import make_number

pytestmark = pytest.mark.django_db


def _form(number: PhoneNumber, **changes) -> dict:
    form = {
        "label": number.label,
        "description": number.description,
        "example_context": "{}",
        "active": "on" if number.active else "",
        "expected_version": str(number.version),
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v != ""}


@pytest.fixture
def admin_client(number_admin) -> Client:
    client = Client()
    client.force_login(number_admin)
    return client


def test_an_admin_edit_bumps_the_version_and_writes_one_entry(admin_client, owner):
    number = make_number(owner, "+14155550123", label="Old")
    url = reverse("admin:numbers_phonenumber_change", args=[number.pk])
    assert admin_client.post(url, _form(number, label="New")).status_code == 302
    fresh = PhoneNumber.objects.get(pk=number.pk)
    assert (fresh.label, fresh.version) == ("New", 2)
    entry = AuditEntry.objects.get(object_type="numbers.phonenumber")
    assert entry.changes == {"label": ["Old", "New"]} and entry.source == "admin"


def test_a_stale_admin_form_shows_the_conflict_and_keeps_the_input(admin_client, owner):
    number = make_number(owner, "+14155550123", label="Old")
    url = reverse("admin:numbers_phonenumber_change", args=[number.pk])
    stale = _form(number, label="Mine")
    services.phone_number_update(
        number=PhoneNumber.objects.get(pk=number.pk),
        changes={"label": "Theirs"},
        actor=Actor("api-client@acme.example", "api"),
    )

    response = admin_client.post(url, stale)
    page = response.content.decode()
    assert response.status_code == 200
    assert "api-client@acme.example changed this phone number" in page and "(label)" in page
    assert 'value="Mine"' in page  # the user's input is kept
    assert 'name="expected_version" value="2"' in page  # saving again is deliberate
    assert PhoneNumber.objects.get(pk=number.pk).label == "Theirs"

    assert admin_client.post(url, {**stale, "expected_version": "2"}).status_code == 302
    assert PhoneNumber.objects.get(pk=number.pk).label == "Mine"


def test_a_change_between_the_check_and_the_write_is_refused(admin_client, owner, monkeypatch):
    number = make_number(owner, "+14155550123", label="Old")
    url = reverse("admin:numbers_phonenumber_change", args=[number.pk])
    original = services.phone_number_save

    def racing(**kwargs):
        PhoneNumber.objects.filter(pk=number.pk).update(version=7, label="Racer")
        return original(**kwargs)

    monkeypatch.setattr("phone_numbers.admin.phone_number_save", racing)
    response = admin_client.post(url, _form(number, label="Mine"), follow=True)
    # The racer wrote inside this test's transaction, which the refusal rolled back
    # with it; what matters: "Mine" was not written and the user was told.
    assert "version 7" in response.content.decode()
    assert PhoneNumber.objects.get(pk=number.pk).label != "Mine"


def test_an_unchanged_save_writes_nothing(admin_client, owner):
    number = make_number(owner, "+14155550123", label="Same")
    url = reverse("admin:numbers_phonenumber_change", args=[number.pk])
    assert admin_client.post(url, _form(number)).status_code == 302
    assert PhoneNumber.objects.get(pk=number.pk).version == 1
    assert not AuditEntry.objects.filter(object_type="numbers.phonenumber").exists()


def test_an_admin_delete_is_audited(client, superuser, owner):
    number = make_number(owner, "+14155550123", label="Gone")
    client.force_login(superuser)
    client.post(reverse("admin:numbers_phonenumber_delete", args=[number.pk]), {"post": "yes"})
    assert not PhoneNumber.objects.filter(pk=number.pk).exists()
    entry = AuditEntry.objects.get(object_type="numbers.phonenumber")
    assert entry.action == "delete" and entry.changes["label"] == ["Gone", None]
