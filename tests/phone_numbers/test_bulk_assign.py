"""Bulk agent assignment: all or nothing, one audit entry per changed number."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_number

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
URL = reverse("numbers:bulk_agent")


def test_it_assigns_the_selected_numbers(client, number_admin, owner):
    desk = make_agent(owner, name="Desk")
    picked = [make_number(owner) for _ in range(3)]
    untouched = make_number(owner)
    client.force_login(number_admin)
    body = client.post(
        URL, {"ids": [str(n.pk) for n in picked], "assign_agent": str(desk.pk)}, **HX
    ).content.decode()
    assert "Routed 3 numbers to Desk." in body
    assert PhoneNumber.objects.filter(inbound_agent=desk).count() == 3
    assert PhoneNumber.objects.get(pk=untouched.pk).inbound_agent is None
    assert AuditEntry.objects.filter(source="bulk").count() == 3
    assert set(
        PhoneNumber.objects.filter(inbound_agent=desk).values_list("version", flat=True)
    ) == {2}


def test_all_matching_the_filters(client, number_admin, owner):
    desk = make_agent(owner, name="Desk")
    for i in range(4):
        make_number(owner, f"+1303555{i:04d}")
    make_number(owner, "+12125550100")
    client.force_login(number_admin)
    client.post(URL, {"all": "on", "q": "303", "assign_agent": str(desk.pk)}, **HX)
    assert PhoneNumber.objects.filter(inbound_agent=desk).count() == 4


def test_a_number_of_another_owner_is_named_and_nothing_is_written(
    client, number_admin, owner, other_tenant
):
    desk = make_agent(owner, name="Desk")
    mine = make_number(owner, "+14155550001")
    theirs = make_number(other_tenant, "+14155550002")
    client.force_login(number_admin)
    body = client.post(
        URL, {"ids": [str(mine.pk), str(theirs.pk)], "assign_agent": str(desk.pk)}, **HX
    ).content.decode()
    assert "+14155550002" in body and "Nothing was changed" in body
    assert PhoneNumber.objects.filter(inbound_agent__isnull=False).count() == 0
    assert not AuditEntry.objects.filter(object_type="numbers.phonenumber").exists()


def test_unassigning_and_choosing_nothing(client, number_admin, owner):
    desk = make_agent(owner)
    number = make_number(owner, inbound_agent=desk)
    client.force_login(number_admin)
    body = client.post(URL, {"ids": [str(number.pk)], "assign_agent": ""}, **HX).content.decode()
    assert "Choose an agent, or “no agent”." in body
    client.post(URL, {"ids": [str(number.pk)], "assign_agent": "none"}, **HX)
    number.refresh_from_db()
    assert number.inbound_agent is None
    assert (
        AuditEntry.objects.get(object_type="numbers.phonenumber").changes["inbound_agent"][1]
        is None
    )
