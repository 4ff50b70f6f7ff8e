"""Bulk changes in the console: choose, review (plan), apply; one audit entry per change.

The traps (issue 15): one click applied the change, with no confirmation of how
many numbers of how many customers would change; the picker offered every
customer's agents, and a refusal cleared the selection; "Routed 0 numbers"
showed as a success; the list's filters and sort were lost in the answer.
"""

from __future__ import annotations

import html
import re
import uuid

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from audit.services import Actor
from console import number_bulk
from phone_numbers import bulk
from phone_numbers.models import PhoneNumber
from phone_numbers.services import phone_number_update
from tests.factories import make_agent, make_number, make_user

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def post(client, step: str, data: dict, query: str = "", htmx: bool = True):
    """A step of the bulk form, posted to its URL with the list's query string."""
    return client.post(reverse(f"numbers:{step}") + query, data, **(HX if htmx else {}))


def words(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def plan_of(response) -> str:
    found = re.findall(r'name="plan" value="([^"]+)"', response.content.decode())
    assert len(found) == 1, "one signed plan field"
    return found[0]


def review_and_apply(client, data: dict, query: str = "", reason: str = ""):
    review = post(client, "bulk_review", data, query)
    assert review.status_code == 200, words(review)
    return review, post(client, "bulk_apply", {**data, "plan": plan_of(review), "reason": reason})


def ticked(response, number) -> bool:
    return bool(
        re.search(rf'value="{number.pk}" form="bulk"[^>]*checked', response.content.decode())
    )


def test_it_assigns_the_selected_numbers_after_a_confirmation(client, number_admin, owner):
    desk = make_agent(owner, name="Desk")
    picked = [make_number(owner, f"+1415555010{i}") for i in range(3)]
    untouched = make_number(owner, "+14155550199")
    client.force_login(number_admin)
    data = {"ids": [str(n.pk) for n in picked], "kind": "inbound_agent", "agent": str(desk.pk)}

    choose = post(client, "bulk", {"ids": data["ids"], "kind": "inbound_agent"})
    assert "3 numbers of 1 customer (owner@acme.example) selected." in words(choose)
    assert all(ticked(choose, n) for n in picked)  # the selection stays ticked

    review = post(client, "bulk_review", data)
    assert "Confirm: route to Desk" in words(review)
    assert "3 numbers of 1 customer (owner@acme.example): 3 will change, 0 are already so." in (
        words(review)
    )
    assert "Apply to 3 numbers" in words(review)
    assert not AuditEntry.objects.filter(source="bulk").exists()  # reviewing writes nothing

    done = post(client, "bulk_apply", {**data, "plan": plan_of(review), "reason": "SUP-9 move"})
    assert "Done: 3 numbers changed (route to Desk)." in words(done)
    assert 'class="banner success"' in done.content.decode()
    assert not any(ticked(done, n) for n in picked)  # all applied: the selection is cleared
    assert PhoneNumber.objects.filter(inbound_agent=desk).count() == 3
    assert PhoneNumber.objects.get(pk=untouched.pk).inbound_agent is None
    entries = AuditEntry.objects.filter(source="bulk")
    assert entries.count() == 3 and set(entries.values_list("reason", flat=True)) == {"SUP-9 move"}
    assert set(
        PhoneNumber.objects.filter(inbound_agent=desk).values_list("version", flat=True)
    ) == {2}


def test_all_matching_the_filters(client, number_admin, owner):
    desk = make_agent(owner, name="Desk")
    for i in range(4):
        make_number(owner, f"+1303555{i:04d}")
    make_number(owner, "+12125550100")
    client.force_login(number_admin)
    data = {"all": "on", "kind": "inbound_agent", "agent": str(desk.pk)}
    review, done = review_and_apply(client, data, query="?q=303")
    assert "4 numbers of 1 customer" in words(review)
    assert "Done: 4 numbers changed" in words(done)
    assert PhoneNumber.objects.filter(inbound_agent=desk).count() == 4


def test_each_step_keeps_the_lists_filters_and_sort(client, number_admin, owner):
    """Before, the answer's links were built from an empty query string: the export,
    sort and page links dropped the filters the table was showing."""
    make_number(owner, "+13035550001")
    client.force_login(number_admin)
    choose = post(client, "bulk", {"all": "on", "kind": "active"}, query="?q=303&sort=-label")
    body = choose.content.decode()
    assert 'action="/numbers/bulk/?q=303&amp;sort=-label"' in body
    assert "/numbers/export.csv?q=303&amp;sort=-label" in body
    assert 'name="all" value="on" checked' in body


def test_the_agent_picker_offers_only_the_selected_customers_agents(
    client, number_admin, owner, other_tenant
):
    make_agent(owner, name="Acme Desk")
    make_agent(other_tenant, name="Globex Desk")
    make_agent(make_user("owner@initech.example"), name="Initech Desk")
    mine = make_number(owner, "+14155550001")
    theirs = make_number(other_tenant, "+14155550002")
    client.force_login(number_admin)

    one = post(client, "bulk", {"ids": [str(mine.pk)], "kind": "inbound_agent"})
    assert "Acme Desk" in words(one) and "Globex Desk" not in words(one)
    assert "data-several-customers" not in one.content.decode()

    both = post(client, "bulk", {"ids": [str(mine.pk), str(theirs.pk)], "kind": "inbound_agent"})
    text = words(both)
    assert "These numbers belong to 2 customers" in text
    assert "only a same-customer agent can be chosen" in text
    assert "Acme Desk" in text and "Globex Desk" in text and "Initech Desk" not in text

    options = post(
        client,
        "bulk_agent_options",
        {"ids": [str(mine.pk), str(theirs.pk)], "kind": "inbound_agent", "agent_q": "desk"},
    )
    assert "Acme Desk" in words(options) and "Initech Desk" not in words(options)


def test_another_customers_agent_refuses_everything_naming_the_numbers_and_keeps_the_selection(
    client, number_admin, owner, other_tenant
):
    desk = make_agent(owner, name="Desk")
    mine = make_number(owner, "+14155550001")
    theirs = make_number(other_tenant, "+14155550002")
    client.force_login(number_admin)
    data = {"ids": [str(mine.pk), str(theirs.pk)], "kind": "inbound_agent", "agent": str(desk.pk)}
    refused = post(client, "bulk_review", data)
    text = words(refused)
    assert "+14155550002" in text and "Nothing was changed" in text
    assert 'data-bulk-step="choose"' in refused.content.decode()  # back to the choice
    assert ticked(refused, mine) and ticked(refused, theirs)  # the selection survives
    assert PhoneNumber.objects.filter(inbound_agent__isnull=False).count() == 0
    assert not AuditEntry.objects.filter(object_type="numbers.phonenumber").exists()


def test_an_agent_no_selected_customer_owns_is_refused(client, number_admin, owner, other_tenant):
    theirs = make_agent(other_tenant, name="Globex Desk")
    mine = make_number(owner, "+14155550001")
    client.force_login(number_admin)
    data = {"ids": [str(mine.pk)], "kind": "inbound_agent", "agent": str(theirs.pk)}
    refused = post(client, "bulk_review", data)
    assert "Choose an agent of the selected numbers' customers." in words(refused)
    assert 'name="plan"' not in refused.content.decode()


def test_unassigning_says_calls_go_nowhere_and_choosing_nothing_is_refused(
    client, number_admin, owner
):
    desk = make_agent(owner)
    number = make_number(owner, inbound_agent=desk)
    client.force_login(number_admin)
    nothing = post(client, "bulk_review", {"ids": [str(number.pk)], "kind": "inbound_agent"})
    assert "Choose an agent from the list" in words(nothing)
    search = post(
        client,
        "bulk_review",
        {"ids": [str(number.pk)], "kind": "inbound_agent", "agent": "", "agent_q": "xyz"},
    )
    assert "No agent matches “xyz”: nothing chosen." in words(search)
    data = {"ids": [str(number.pk)], "kind": "inbound_agent", "agent": "none"}
    review, _done = review_and_apply(client, data)
    assert "Calls to these numbers will go nowhere" in words(review)
    number.refresh_from_db()
    assert number.inbound_agent is None
    entry = AuditEntry.objects.get(object_type="numbers.phonenumber")
    assert entry.changes["inbound_agent"][1] is None


def test_nothing_changed_is_never_a_success(client, number_admin, owner):
    desk = make_agent(owner, name="Desk")
    numbers = [make_number(owner, f"+1415555010{i}", inbound_agent=desk) for i in range(2)]
    client.force_login(number_admin)
    data = {"ids": [str(n.pk) for n in numbers], "kind": "inbound_agent", "agent": str(desk.pk)}
    review = post(client, "bulk_review", data)
    assert "Nothing to change: all 2 numbers are already so." in words(review)
    assert "data-apply" not in review.content.decode()
    done = post(client, "bulk_apply", {**data, "plan": plan_of(review)})  # posted by hand
    body = done.content.decode()
    assert "Nothing was changed (route to Desk): 2 numbers already so." in words(done)
    assert 'class="banner success"' not in body and "Routed 0" not in body


def test_a_number_changed_after_the_confirmation_is_refused_alone_and_listed(
    client, number_admin, owner
):
    first = make_number(owner, "+14155550101")
    second = make_number(owner, "+14155550102")
    client.force_login(number_admin)
    data = {"ids": [str(first.pk), str(second.pk)], "kind": "outbound_only", "outbound_only": "yes"}
    review = post(client, "bulk_review", data)
    phone_number_update(number=second, changes={"label": "Moved on"}, actor=Actor("x", "api"))
    done = post(client, "bulk_apply", {**data, "plan": plan_of(review)})
    text = words(done)
    assert "Done: 1 number changed (set outbound-only: yes); 1 number refused." in text
    assert "+14155550102 changed since you confirmed (now v2)" in text
    assert 'class="banner warn"' in done.content.decode()
    assert ticked(done, first) and ticked(done, second)  # the selection survives a refusal
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.outbound_only and not second.outbound_only


@pytest.mark.parametrize(
    ("kind", "value", "field", "after"),
    [
        ("active", {"active": "no"}, "active", False),
        ("outbound_only", {"outbound_only": "yes"}, "outbound_only", True),
        ("label_prefix", {"label_prefix": "EU "}, "label", "EU Sales"),
    ],
)
def test_every_kind_of_change(client, number_admin, owner, kind, value, field, after):
    number = make_number(owner, "+14155550101", label="Sales", active=True)
    client.force_login(number_admin)
    _review, done = review_and_apply(client, {"ids": [str(number.pk)], "kind": kind, **value})
    assert "Done: 1 number changed" in words(done)
    number.refresh_from_db()
    assert getattr(number, field) == after


def test_a_kind_without_its_value_is_an_error(client, number_admin, owner):
    number = make_number(owner, "+14155550101")
    client.force_login(number_admin)
    for kind, message in [("active", "Choose one."), ("label_prefix", "Type the text")]:
        response = post(client, "bulk_review", {"ids": [str(number.pk)], "kind": kind})
        assert message in words(response) and 'name="plan"' not in response.content.decode()


def test_the_plan_travels_as_one_signed_field_past_the_field_limit(client, number_admin, owner):
    """1,200 targets: more than DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) fields would allow."""
    PhoneNumber.objects.bulk_create(
        PhoneNumber(user=owner, number=f"+1303555{i:04d}", telephony_provider="twilio")
        for i in range(1200)
    )
    client.force_login(number_admin)
    data = {"all": "on", "kind": "active", "active": "no"}
    review, done = review_and_apply(client, data)
    assert "1,200 numbers of 1 customer" in words(review)
    assert "Done: 1,200 numbers changed (set active: no)." in words(done)
    assert not PhoneNumber.objects.filter(active=True).exists()


def test_a_damaged_or_another_users_plan_is_refused(client, number_admin, owner, superuser):
    number = make_number(owner, "+14155550101", active=True)
    client.force_login(number_admin)
    data = {"ids": [str(number.pk)], "kind": "active", "active": "no"}
    token = plan_of(post(client, "bulk_review", data))
    damaged = post(client, "bulk_apply", {**data, "plan": token[:-3] + "xyz"})
    assert "This confirmation could not be read" in words(damaged)
    client.force_login(superuser)
    foreign = post(client, "bulk_apply", {**data, "plan": token})
    assert "This confirmation was made by another user" in words(foreign)
    number.refresh_from_db()
    assert number.active and not AuditEntry.objects.filter(source="bulk").exists()


def test_a_bad_reason_shows_the_confirmation_again_and_writes_nothing(client, number_admin, owner):
    number = make_number(owner, "+14155550101", active=True)
    client.force_login(number_admin)
    data = {"ids": [str(number.pk)], "kind": "active", "active": "no"}
    review = post(client, "bulk_review", data)
    again = post(client, "bulk_apply", {**data, "plan": plan_of(review), "reason": "a\nb"})
    assert "one line of text" in words(again) and 'data-bulk-step="confirm"' in (
        again.content.decode()
    )
    assert plan_of(again) == plan_of(review)
    number.refresh_from_db()
    assert number.active and not AuditEntry.objects.filter(source="bulk").exists()


def test_more_than_the_limit_is_refused_before_choosing(client, number_admin, owner, monkeypatch):
    for i in range(3):
        make_number(owner, f"+1415555010{i}")
    real = bulk.read_selection
    monkeypatch.setattr(
        number_bulk, "read_selection", lambda numbers, limit: real(numbers=numbers, limit=2)
    )
    client.force_login(number_admin)
    response = post(client, "bulk", {"all": "on", "kind": "active"})
    assert "More than 2 numbers are selected" in words(response)
    assert 'data-bulk-step="choose"' not in response.content.decode()


def test_nothing_selected_says_so(client, number_admin):
    client.force_login(number_admin)
    response = post(client, "bulk", {"kind": "active", "ids": [str(uuid.uuid4())]})
    assert "None of the selected numbers exists any more" in words(response)
    response = post(client, "bulk", {"kind": "active"})
    assert "Select numbers first" in words(response)


def test_without_javascript_every_step_is_the_full_page(client, number_admin, owner):
    desk = make_agent(owner, name="Desk")
    number = make_number(owner, "+14155550101")
    client.force_login(number_admin)
    listing = client.get(reverse("numbers:list")).content.decode()
    assert '<form id="bulk" class="bulk" method="post" action="/numbers/bulk/"' in listing
    assert 'formaction="/numbers/bulk/"' in listing and 'name="csrfmiddlewaretoken"' in listing
    data = {"ids": [str(number.pk)], "kind": "inbound_agent", "agent": str(desk.pk)}
    choose = post(client, "bulk", {"ids": data["ids"], "kind": "inbound_agent"}, htmx=False)
    assert "<html" in choose.content.decode() and 'formaction="/numbers/bulk/review"' in (
        choose.content.decode()
    )
    review = post(client, "bulk_review", data, htmx=False)
    assert "<html" in review.content.decode() and "1 number of 1 customer" in words(review)
    done = post(client, "bulk_apply", {**data, "plan": plan_of(review)}, htmx=False)
    assert "<html" in done.content.decode() and "Done: 1 number changed" in words(done)
    number.refresh_from_db()
    assert number.inbound_agent == desk
