"""Findings of the hostile review of issue 13's work, each pinned by a test."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from agents.models import Action
from audit.models import AuditEntry
from audit.services import Actor
from phone_numbers.models import PhoneNumber
from phone_numbers.services import phone_number_update
from tests.factories import make_action, make_agent, make_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def test_an_objects_owner_cannot_be_changed_in_the_admin(admin_client, owner, other_tenant):
    """Moving an action to another customer linked it across customers (and a used
    agent's owner change was an IntegrityError, a 500)."""
    action = make_action(owner, label="Transfer")
    make_agent(owner, name="Desk").actions.add(action)
    url = reverse("admin:agents_action_change", args=[action.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="user"' not in page
    response = admin_client.post(
        url,
        {
            "user": str(other_tenant.pk),
            "type": action.type,
            "label": "Moved",
            "expected_version": "1",
        },
    )
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.user_id == owner.pk and action.label == "Moved"


def test_bulk_delete_says_which_were_refused_and_deletes_only_the_rest(admin_client, owner):
    used = make_action(owner, label="Used")
    make_agent(owner, name="Desk").actions.add(used)
    unused = make_action(owner, label="Unused")
    response = admin_client.post(
        reverse("admin:agents_action_changelist"),
        {"action": "delete_selected", "_selected_action": [str(used.pk), str(unused.pk)]},
        follow=True,
    )
    page = response.content.decode()
    assert "Deleted 1: Unused" in page and "is in use" in page
    assert "Successfully deleted" not in page
    assert Action.objects.filter(pk=used.pk).exists()
    assert not Action.objects.filter(pk=unused.pk).exists()


def test_a_number_admin_post_without_its_version_is_refused(admin_client, owner):
    """Without expected_version the admin save skipped compare-and-set."""
    number = make_number(owner, "+14155550123", label="Old")
    phone_number_update(
        number=PhoneNumber.objects.get(pk=number.pk),
        changes={"description": "set by the API"},
        actor=Actor("api", "api"),
    )
    url = reverse("admin:numbers_phonenumber_change", args=[number.pk])
    response = admin_client.post(
        url,
        {
            "label": "Mine",
            "description": "",
            "active": "on",
            "user": str(owner.pk),
            "number": number.number,
            "telephony_provider": "twilio",
        },
    )
    assert response.status_code == 200
    assert "reload the page" in response.content.decode()
    fresh = PhoneNumber.objects.get(pk=number.pk)
    assert fresh.description == "set by the API" and fresh.label == "Old"
    assert AuditEntry.objects.filter(source="admin").count() == 0


def test_an_indented_answer_has_the_same_etag_as_a_compact_one(api, owner):
    make_number(owner, "+14155550123")
    params = {"phone_number": "+14155550123"}
    compact = api.get("/v1/numbers", params)
    indented = api.get("/v1/numbers", params, HTTP_ACCEPT="application/json; indent=2")
    assert indented.content == compact.content and indented["ETag"] == compact["ETag"]
    response = api.post(
        "/v1/numbers/update?phone_number=%2B14155550123",
        {"label": "New"},
        HTTP_IF_MATCH=indented["ETag"],
    )
    assert response.status_code == 200


def test_if_match_star_means_any_current_version(api, owner):
    make_number(owner, "+14155550123")
    response = api.post(
        "/v1/numbers/update?phone_number=%2B14155550123", {"label": "New"}, HTTP_IF_MATCH="*"
    )
    assert response.status_code == 200
