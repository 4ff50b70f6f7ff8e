"""Bulk changes as plan then apply (issue 15): phone_numbers.bulk."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from audit.services import Actor
from phone_numbers.bulk import BulkChange, BulkRejected, apply_bulk, plan_bulk
from phone_numbers.models import PhoneNumber
from phone_numbers.services import phone_number_update
from tests.factories import make_agent, make_number

pytestmark = pytest.mark.django_db
ACTOR = Actor("admin@switchboard.test", "bulk")


def test_the_plan_counts_numbers_customers_and_those_already_so(owner, other_tenant):
    for i in range(3):
        make_number(owner, f"+1415555010{i}", active=True)
    make_number(other_tenant, "+14155550200", active=False)
    plan = plan_bulk(numbers=PhoneNumber.objects.all(), change=BulkChange("active", False))
    assert (len(plan.targets), plan.customers, plan.will_change, plan.already) == (4, 2, 3, 1)
    assert not AuditEntry.objects.exists()  # planning writes nothing


def test_an_agent_of_another_customer_refuses_everything_naming_the_numbers(owner, other_tenant):
    desk = make_agent(owner, name="Desk")
    make_number(owner, "+14155550101")
    make_number(other_tenant, "+14155550202")
    with pytest.raises(BulkRejected, match=r"1 selected number belong.*\+14155550202") as refusal:
        plan_bulk(numbers=PhoneNumber.objects.all(), change=BulkChange("inbound_agent", desk))
    assert refusal.value.numbers == ["+14155550202"]


def test_over_the_limit_is_refused_before_anything_is_loaded_whole(owner):
    for i in range(4):
        make_number(owner, f"+1415555010{i}")
    with pytest.raises(BulkRejected, match="More than 3 numbers"):
        plan_bulk(numbers=PhoneNumber.objects.all(), change=BulkChange("active", False), limit=3)


def test_apply_writes_each_number_with_its_entry_and_says_what_happened(owner):
    desk = make_agent(owner, name="Desk")
    numbers = [make_number(owner, f"+1415555010{i}") for i in range(3)]
    make_number(owner, "+14155550109", inbound_agent=desk)
    change = BulkChange("inbound_agent", desk)
    plan = plan_bulk(numbers=PhoneNumber.objects.all(), change=change)
    result = apply_bulk(targets=plan.targets, change=change, actor=ACTOR, batch_size=2)
    assert (result.changed, result.already, result.refused) == (3, 1, [])
    assert result.summary(change) == "3 numbers changed (route to Desk); 1 number already so."
    for number in numbers:
        number.refresh_from_db()
        assert number.inbound_agent_id == desk.pk and number.version == 2
    assert AuditEntry.objects.filter(source="bulk").count() == 3


def test_a_number_changed_after_the_plan_is_refused_alone(owner):
    first, second = make_number(owner, "+14155550101"), make_number(owner, "+14155550102")
    change = BulkChange("outbound_only", True)
    plan = plan_bulk(numbers=PhoneNumber.objects.all(), change=change)
    phone_number_update(number=second, changes={"label": "Moved on"}, actor=ACTOR)
    result = apply_bulk(targets=plan.targets, change=change, actor=ACTOR)
    assert result.changed == 1
    assert result.refused == [("+14155550102", "changed since you confirmed (now v2)")]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.outbound_only and not second.outbound_only


def test_a_label_prefix_skips_labels_that_have_it_and_refuses_one_over_the_limit(owner):
    make_number(owner, "+14155550101", label="Sales")
    make_number(owner, "+14155550102", label="EU Sales")
    make_number(owner, "+14155550103", label="x" * 254)
    change = BulkChange("label_prefix", "EU ")
    plan = plan_bulk(numbers=PhoneNumber.objects.all(), change=change)
    result = apply_bulk(targets=plan.targets, change=change, actor=ACTOR)
    assert (result.changed, result.already) == (1, 1)
    assert result.refused[0][0] == "+14155550103" and "255" in result.refused[0][1]
    labels = dict(PhoneNumber.objects.values_list("number", "label"))
    assert labels["+14155550101"] == "EU Sales" and labels["+14155550103"] == "x" * 254


def test_a_number_deleted_after_the_plan_is_counted_as_refused(owner):
    make_number(owner, "+14155550101")
    gone = make_number(owner, "+14155550102")
    change = BulkChange("active", False)
    plan = plan_bulk(numbers=PhoneNumber.objects.all(), change=change)
    gone.delete()
    result = apply_bulk(targets=plan.targets, change=change, actor=ACTOR)
    assert result.changed == 1 and result.refused == [
        ("1 number", "deleted since the change was confirmed")
    ]
