"""Reverting a number's entry from its history: /audit/<id>/revert (and the service behind it)."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from audit.services import Actor, VersionConflict, record
from phone_numbers import services
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_number

pytestmark = pytest.mark.django_db
NUMBER = "numbers.phonenumber"


@pytest.fixture
def number(owner) -> PhoneNumber:
    return make_number(owner, "+14155550123", label="Old")


def change(number: PhoneNumber, **changes) -> AuditEntry:
    """A change through the one write path; its entry."""
    fresh = PhoneNumber.objects.get(pk=number.pk)
    services.phone_number_update(
        number=fresh, changes=changes, actor=Actor("ann@switchboard.test", "dashboard")
    )
    return AuditEntry.objects.filter(object_id=str(number.pk)).latest("id")


def revert_url(entry: AuditEntry) -> str:
    return reverse("audit:revert", args=[entry.pk])


def entries_of(number: PhoneNumber) -> int:
    return AuditEntry.objects.filter(object_id=str(number.pk)).count()


def text(response) -> str:
    return html.unescape(response.content.decode())


def history_item(page: str, entry: AuditEntry) -> str:
    """One entry's item in a page's history list."""
    item = page.split(f'<li id="entry-{entry.pk}">', 1)[1]
    return re.split(r'<li id="entry-|</ol>', item, maxsplit=1)[0]


def words(response) -> str:
    """The page as a person reads it: tags out, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


def test_a_number_admin_reverts_a_label_and_the_revert_is_audited_with_its_reason(
    client, number_admin, number
):
    entry = change(number, label="New")
    client.force_login(number_admin)
    response = client.post(revert_url(entry), {"reason": "SUP-42 customer asked"})
    assert response.status_code == 302
    assert response["Location"] == reverse("numbers:detail", args=[number.pk]) + "#history"
    fresh = PhoneNumber.objects.get(pk=number.pk)
    assert (fresh.label, fresh.version) == ("Old", 3)
    revert = AuditEntry.objects.latest("id")
    assert revert.changes == {"label": ["New", "Old"]}
    assert revert.reverts_id == entry.pk and revert.reason == "SUP-42 customer asked"
    assert (revert.actor_label, revert.source) == ("numbers@switchboard.test", "dashboard")
    after = client.get(response["Location"])
    page = words(after)
    assert f"Reverted entry #{entry.pk}." in page  # the message after the redirect
    assert f"Reverts entry #{entry.pk}" in page and "Reason: SUP-42 customer asked" in page
    assert f"Reverted by entry #{revert.pk}" in page  # and entry N no longer offers a revert
    assert f'action="{revert_url(entry)}"' not in text(after)


def test_an_agent_change_reverts_to_the_exact_agent_by_its_id(client, number_admin, owner):
    first = make_agent(owner, name="Desk")
    make_agent(owner, name="Desk")  # names are not unique
    second = make_agent(owner, name="Night desk")
    number = make_number(owner, "+14155550123", inbound_agent=first)
    entry = change(number, inbound_agent=second)
    assert entry.refs == {"inbound_agent": [str(first.pk), str(second.pk)]}
    client.force_login(number_admin)
    assert client.post(revert_url(entry), {"reason": ""}).status_code == 302
    assert PhoneNumber.objects.get(pk=number.pk).inbound_agent_id == first.pk
    revert = AuditEntry.objects.latest("id")
    assert revert.refs == {"inbound_agent": [str(second.pk), str(first.pk)]}


def test_reverting_an_unassignment_routes_the_number_again(client, number_admin, owner):
    agent = make_agent(owner, name="Desk")
    number = make_number(owner, "+14155550123", inbound_agent=agent)
    entry = change(number, inbound_agent=None)
    client.force_login(number_admin)
    assert client.post(revert_url(entry)).status_code == 302
    assert PhoneNumber.objects.get(pk=number.pk).inbound_agent_id == agent.pk


def test_the_page_shows_what_the_revert_writes_and_writes_nothing(client, number_admin, number):
    entry = change(number, active=False)
    client.force_login(number_admin)
    response = client.get(revert_url(entry))
    page = text(response)
    assert response.status_code == 200
    assert "This writes back" in page and "Active" in page
    assert '<span class="old">no</span>' in page and '<span class="new">yes</span>' in page
    assert 'name="csrfmiddlewaretoken"' in page and 'name="reason"' in page
    assert entries_of(number) == 1 and PhoneNumber.objects.get(pk=number.pk).active is False


def test_a_value_that_moved_on_is_a_conflict_showing_what_differs(client, number_admin, number):
    entry = change(number, label="New")
    change(number, label="Newer")
    client.force_login(number_admin)
    response = client.post(revert_url(entry), {"reason": "undo"})
    page = text(response)
    assert response.status_code == 200
    assert "The number has changed since this entry" in page
    conflict = page.split("data-conflict", 1)[1].split("</table>", 1)[0]
    assert "<td>Label</td><td>New</td><td>Newer</td>" in conflict
    fresh = PhoneNumber.objects.get(pk=number.pk)
    assert (fresh.label, fresh.version) == ("Newer", 3) and entries_of(number) == 2


def test_the_service_is_a_compare_and_set_on_the_version_it_checked(number):
    entry = change(number, label="New")
    stale = PhoneNumber.objects.get(pk=number.pk)
    change(number, description="someone else wrote meanwhile")
    with pytest.raises(VersionConflict):
        services.phone_number_revert(number=stale, entry=entry, actor=Actor("x", "dashboard"))
    assert PhoneNumber.objects.get(pk=number.pk).label == "New"


def test_the_service_refuses_what_moved_on_and_names_it(number):
    entry = change(number, label="New", active=False)
    change(number, active=True)
    with pytest.raises(services.RevertConflict) as conflict:
        services.phone_number_revert(
            number=PhoneNumber.objects.get(pk=number.pk), entry=entry, actor=Actor("x", "dashboard")
        )
    assert [(d.field, d.recorded, d.current) for d in conflict.value.differences] == [
        ("active", False, True)
    ]


def test_support_may_not_revert(client, support, number):
    entry = change(number, label="New")
    client.force_login(support)
    assert client.get(revert_url(entry)).status_code == 403
    assert client.post(revert_url(entry), {"reason": "x"}).status_code == 403
    assert PhoneNumber.objects.get(pk=number.pk).label == "New" and entries_of(number) == 1
    history = text(client.get(reverse("numbers:detail", args=[number.pk])))
    assert "Revert…" not in history and "Cannot be reverted" not in history


def test_secret_values_cannot_be_reverted_and_the_history_says_why(client, number_admin, number):
    entry = change(number, example_context={"api_key": "sk_live_" + "k" * 24})
    client.force_login(number_admin)
    page = text(client.get(revert_url(entry)))
    assert "This entry cannot be reverted." in page and "holds secrets" in page
    assert 'name="reason"' not in page  # no form
    assert client.post(revert_url(entry), {"reason": "x"}).status_code == 200
    assert entries_of(number) == 1
    history = text(client.get(reverse("numbers:detail", args=[number.pk])))
    item = history_item(history, entry)
    assert "Cannot be reverted: Example context holds secrets" in item
    assert "Revert…" not in item


def test_an_entry_recorded_before_ids_were_kept_cannot_be_reverted(client, number_admin, owner):
    agent = make_agent(owner, name="Desk")
    number = make_number(owner, "+14155550123", inbound_agent=agent)
    old = record(  # as entries were written before refs: the agent by name only
        actor=Actor("ann@x", "dashboard"), obj=number, changes={"inbound_agent": [None, "Desk"]}
    )
    client.force_login(number_admin)
    page = text(client.get(revert_url(old)))
    assert "known by name only" in page and 'name="reason"' not in page
    client.post(revert_url(old), {"reason": "x"})
    assert PhoneNumber.objects.get(pk=number.pk).inbound_agent_id == agent.pk
    history = text(client.get(reverse("numbers:detail", args=[number.pk])))
    assert "Cannot be reverted: Recorded before the trail kept ids" in history


def test_a_creation_and_another_objects_entry_cannot_be_reverted(client, number_admin, owner):
    agent = make_agent(owner, name="Desk")
    on_agent = record(actor=Actor("x", "admin"), obj=agent, changes={"name": ["Old", "Desk"]})
    number = make_number(owner, "+14155550123")
    created = record(
        actor=Actor("x", "import"), obj=number, changes={"label": [None, ""]}, action="create"
    )
    client.force_login(number_admin)
    assert "Only changes of a number's fields" in text(client.get(revert_url(on_agent)))
    assert "It created the number" in text(client.get(revert_url(created)))
    assert client.post(revert_url(on_agent)).status_code == 200
    # The trail offers a revert, or says why not, only under a number's field changes:
    # a line under every creation or agent entry was noise to read past.
    trail = words(client.get(reverse("audit:list")))
    assert "Cannot be reverted" not in trail and "Revert" not in trail


def test_an_agent_deleted_since_refuses_the_revert(client, number_admin, owner):
    gone = make_agent(owner, name="Old desk")
    number = make_number(owner, "+14155550123", inbound_agent=gone)
    entry = change(number, inbound_agent=make_agent(owner, name="New desk"))
    gone.delete()
    client.force_login(number_admin)
    page = text(client.post(revert_url(entry), {"reason": "x"}))
    assert "The agent Old desk it had before no longer exists." in page
    assert entries_of(number) == 1


@pytest.mark.parametrize(
    "reason",
    ["two\nlines", "tab\there", "bell\x07", "x" * 501, "rtl \u202e override"],
)
def test_a_bad_reason_is_a_form_error_and_nothing_is_written(client, number_admin, number, reason):
    entry = change(number, label="New")
    client.force_login(number_admin)
    response = client.post(revert_url(entry), {"reason": reason})
    page = text(response)
    assert response.status_code == 200 and 'class="field-error"' in page
    assert "A reason" in page
    assert PhoneNumber.objects.get(pk=number.pk).label == "New" and entries_of(number) == 1


@pytest.mark.parametrize("path", ["/audit/999999/revert", "/audit/99999999999999999999999/revert"])
def test_an_unknown_entry_is_a_404(client, number_admin, path):
    client.force_login(number_admin)
    assert client.get(path).status_code == 404
    assert client.post(path, {"reason": "x"}).status_code == 404


def test_a_non_numeric_entry_id_is_a_404_and_other_methods_a_405(client, number_admin, number):
    client.force_login(number_admin)
    assert client.get("/audit/abc/revert").status_code == 404
    assert client.put(revert_url(change(number, label="New"))).status_code == 405


def test_the_revert_form_is_a_csrf_protected_post(number_admin, number):
    entry = change(number, label="New")
    client = Client(enforce_csrf_checks=True)
    client.force_login(number_admin)
    assert client.post(revert_url(entry), {"reason": "x"}).status_code == 403
    assert PhoneNumber.objects.get(pk=number.pk).label == "New"
    history = client.get(reverse("numbers:detail", args=[number.pk])).content.decode()
    form = history.split(f'action="{revert_url(entry)}"', 1)[1].split("</form>", 1)[0]
    assert 'name="csrfmiddlewaretoken"' in form and 'name="reason"' in form


def test_the_history_offers_the_revert_as_a_plain_form(client, number_admin, number):
    entry = change(number, label="New")
    client.force_login(number_admin)
    history = client.get(reverse("numbers:detail", args=[number.pk])).content.decode()
    item = history_item(history, entry)
    assert "<summary>Revert…</summary>" in item
    assert f'<form method="post" action="{revert_url(entry)}">' in item  # no JavaScript needed
    assert 'Sets back <span class="field">Label</span> to Old' in item
