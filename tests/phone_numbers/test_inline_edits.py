"""Inline edits of label and inbound agent: saved, audited, conflict-safe, permission-checked."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from audit.services import Actor
from phone_numbers import services
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_number

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def number(owner):
    return make_number(owner, "+14155550123", label="Main")


def save_label(client, number, label, version=None, slot="row"):
    return client.post(
        reverse("numbers:save_label", args=[number.pk]),
        {"label": label, "version": version or number.version, "slot": slot},
        **HX,
    )


def test_the_edit_form_carries_the_current_version(client, number_admin, number):
    client.force_login(number_admin)
    body = client.get(
        reverse("numbers:edit_label", args=[number.pk]), {"slot": "row"}, **HX
    ).content.decode()
    assert 'name="version" value="1"' in body and 'name="label" value="Main"' in body


def test_a_number_admin_edits_a_label_and_it_is_audited(client, number_admin, number):
    client.force_login(number_admin)
    response = save_label(client, number, "  Sales line  ")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="row-{number.pk}"' in body and "Sales line" in body
    assert f'id="panel-label-{number.pk}" hx-swap-oob' in body  # the open panel follows
    number.refresh_from_db()
    assert (number.label, number.version) == ("Sales line", 2)
    entry = AuditEntry.objects.get(object_type="numbers.phonenumber")
    assert (entry.actor_label, entry.source, entry.changes) == (
        "numbers@switchboard.test",
        "dashboard",
        {"label": ["Main", "Sales line"]},
    )
    assert entry.request_id and entry.object_id == str(number.pk)


def test_a_too_long_label_is_an_inline_error(client, number_admin, number):
    client.force_login(number_admin)
    response = save_label(client, number, "x" * 300)
    assert response.status_code == 200 and "at most 255 characters" in response.content.decode()
    number.refresh_from_db()
    assert (
        number.label == "Main"
        and not AuditEntry.objects.filter(object_type="numbers.phonenumber").exists()
    )


def test_a_stale_version_is_a_conflict_that_loses_nothing(client, number_admin, number, owner):
    client.force_login(number_admin)
    services.phone_number_update(
        number=PhoneNumber.objects.get(pk=number.pk),
        changes={"label": "Theirs"},
        actor=Actor("colleague", "api"),
    )
    response = save_label(client, number, "Mine", version=1)
    body = response.content.decode()
    assert "Someone changed this number" in body and "colleague" in body
    assert "“Main” → “Theirs”" in body
    assert 'name="version" value="2"' in body and 'value="Mine"' in body  # re-apply offered
    number.refresh_from_db()
    assert number.label == "Theirs"
    # Saving again applies it over theirs, knowingly.
    save_label(client, number, "Mine", version=2)
    number.refresh_from_db()
    assert (number.label, number.version) == ("Mine", 3)
    assert AuditEntry.objects.filter(object_type="numbers.phonenumber").count() == 2


def test_the_agent_picker_offers_only_the_owners_agents(
    client, number_admin, number, owner, other_tenant
):
    make_agent(owner, name="Desk")
    make_agent(other_tenant, name="Theirs")
    client.force_login(number_admin)
    body = client.get(
        reverse("numbers:edit_agent", args=[number.pk]), {"slot": "row"}, **HX
    ).content.decode()
    assert "Desk" in body and "Theirs" not in body
    options = client.get(
        reverse("numbers:agent_options", args=[number.pk]), {"agent_q": "des"}, **HX
    ).content.decode()
    assert "Desk" in options


def test_another_owners_agent_posted_by_hand_is_refused(client, number_admin, number, other_tenant):
    theirs = make_agent(other_tenant, name="Theirs")
    client.force_login(number_admin)
    response = client.post(
        reverse("numbers:save_agent", args=[number.pk]),
        {"agent": str(theirs.pk), "version": 1, "slot": "row"},
        **HX,
    )
    assert "Choose one of this number&#x27;s owner&#x27;s agents" in response.content.decode()
    number.refresh_from_db()
    assert number.inbound_agent is None


def test_assigning_an_agent_records_names_not_ids(client, number_admin, number, owner):
    desk = make_agent(owner, name="Desk")
    client.force_login(number_admin)
    client.post(
        reverse("numbers:save_agent", args=[number.pk]),
        {"agent": str(desk.pk), "version": 1, "slot": "panel"},
        **HX,
    )
    number.refresh_from_db()
    assert number.inbound_agent == desk
    assert AuditEntry.objects.get(object_type="numbers.phonenumber").changes == {
        "inbound_agent": [None, "Desk"]
    }


def test_support_cannot_edit_by_any_route(client, support, number, owner):
    desk = make_agent(owner)
    client.force_login(support)
    assert client.get(reverse("numbers:edit_label", args=[number.pk]), **HX).status_code == 403
    assert save_label(client, number, "Hacked").status_code == 403
    assert (
        client.post(
            reverse("numbers:bulk_agent"),
            {"ids": [str(number.pk)], "assign_agent": str(desk.pk)},
            **HX,
        ).status_code
        == 403
    )
    admin_url = reverse("admin:numbers_phonenumber_change", args=[number.pk])
    assert client.post(admin_url, {"label": "Hacked"}).status_code == 403
    number.refresh_from_db()
    assert (
        number.label == "Main"
        and not AuditEntry.objects.filter(object_type="numbers.phonenumber").exists()
    )


def test_support_sees_no_edit_controls_but_admins_do(client, support, number_admin, number):
    client.force_login(support)
    assert "data-edit-label" not in client.get(reverse("numbers:list")).content.decode()
    client.force_login(number_admin)
    assert "data-edit-label" in client.get(reverse("numbers:list")).content.decode()


def test_edit_endpoints_answer_404_and_405(client, number_admin):
    client.force_login(number_admin)
    missing = "00000000-0000-4000-8000-000000000000"
    assert client.get(reverse("numbers:edit_label", args=[missing])).status_code == 404
    assert client.get(reverse("numbers:save_label", args=[missing])).status_code == 405
