"""The history and the trail as people read them, and the ids entries keep beside names."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from agents.models import Agent
from audit.models import AuditEntry
from audit.services import Actor, audited_save, record
from phone_numbers import services
from phone_numbers.models import PhoneNumber
from tests.factories import make_action, make_agent, make_connection, make_number
from vault.masking import DOTS

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def words(response) -> str:
    """The page as a person reads it: tags out, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def update(number: PhoneNumber, **changes) -> AuditEntry:
    services.phone_number_update(
        number=PhoneNumber.objects.get(pk=number.pk),
        changes=changes,
        actor=Actor("ann@switchboard.test", "dashboard"),
    )
    return AuditEntry.objects.filter(object_id=str(number.pk)).latest("id")


# --- Ids beside names ----------------------------------------------------------------


def test_an_edit_keeps_the_agents_ids_beside_their_names(owner):
    desk = make_agent(owner, name="Desk")
    night = make_agent(owner, name="Night")
    number = make_number(owner, "+14155550123", inbound_agent=desk)
    entry = update(number, inbound_agent=night, label="Sales")
    assert entry.changes == {"inbound_agent": ["Desk", "Night"], "label": ["", "Sales"]}
    assert entry.refs == {"inbound_agent": [str(desk.pk), str(night.pk)]}


def test_a_versioned_save_keeps_the_ids_of_links_and_many_to_many_links(owner):
    action = make_action(owner, label="Transfer")
    agent = Agent(user=owner, name="Desk")
    audited_save(obj=agent, actor=Actor("x", "admin"), related={"actions": [action]})
    created = AuditEntry.objects.get(object_type="agents.agent")
    assert created.refs["user"] == [None, str(owner.pk)]
    assert created.refs["actions"] == [None, [str(action.pk)]]
    number = make_number(owner, "+14155550123")
    number.inbound_agent = agent
    services.phone_number_save(number=number, actor=Actor("x", "admin"), expected_version=1)
    entry = AuditEntry.objects.get(object_type="numbers.phonenumber")
    assert entry.refs == {"inbound_agent": [None, str(agent.pk)]}


def test_a_delete_keeps_the_ids_it_removed(owner):
    desk = make_agent(owner, name="Desk")
    number = make_number(owner, "+14155550123", inbound_agent=desk)
    services.phone_number_delete(number=number, actor=Actor("x", "admin"))
    entry = AuditEntry.objects.get(object_type="numbers.phonenumber")
    assert entry.refs["inbound_agent"] == [str(desk.pk), None]


# --- The history -------------------------------------------------------------------


def test_the_history_shows_labels_yes_no_and_names_not_raw_values(client, number_admin, owner):
    desk = make_agent(owner, name="Desk")
    number = make_number(owner, "+14155550123", label="Main")
    update(number, active=False, outbound_only=True)
    update(number, inbound_agent=desk)
    client.force_login(number_admin)
    response = client.get(reverse("numbers:detail", args=[number.pk]))
    page = words(response).split(" History ", 1)[1]
    assert "Active : yes → no" in page and "Outbound only : no → yes" in page
    assert "Inbound agent : — → Desk" in page
    assert f'<a href="/agents/{desk.pk}/">Desk</a>' in response.content.decode()
    for raw in ("inbound_agent", "outbound_only", "True", "False", "None", "_revision"):
        assert raw not in page, raw


def test_an_old_entry_without_ids_names_the_agent_without_a_link(client, support, owner):
    number = make_number(owner, "+14155550123")
    record(actor=Actor("ann@x", "dashboard"), obj=number, changes={"inbound_agent": [None, "Old"]})
    client.force_login(support)
    body = client.get(reverse("numbers:detail", args=[number.pk])).content.decode()
    assert '<span class="new">Old</span>' in body


def test_times_show_their_zone_and_the_exact_time_in_the_title(client, support, owner):
    entry = update(make_number(owner, "+14155550123"), label="X")
    client.force_login(support)
    body = client.get(reverse("audit:list")).content.decode()
    # The one time rendering (console.times): UTC named, the exact ISO time on hover.
    iso = entry.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    shown = entry.created_at.strftime("%Y-%m-%d %H:%M:%S") + " UTC"
    assert f'<time datetime="{iso}" title="{iso}" data-local data-seconds>{shown}</time>' in body


def test_numbers_are_formatted_and_json_is_key_value_lines_with_secrets_masked(
    client, support, owner
):
    number = make_number(owner, "+14155550123")
    record(
        actor=Actor("import", "import"),
        obj=number,
        changes={"number": [None, "+14155550123"], "telephony_provider": [None, "twilio"]},
        action="create",
    )
    update(number, example_context={"customer": "Ann", "api_key": "sk_live_" + "k" * 24 + "TAIL"})
    client.force_login(support)
    response = client.get(reverse("audit:list"))
    page = words(response)
    assert "Number : +1 415-555-0123" in page and "Telephony provider : Twilio" in page
    assert f"Example context › api_key : — → {DOTS}TAIL" in page  # one row per key
    assert "Example context › customer : — → Ann" in page
    assert "Phone number +1 415-555-0123" in page  # the object, formatted
    assert "k" * 24 not in response.content.decode()


def test_a_replaced_secret_shows_its_keys_and_no_revision(client, support, owner):
    conn = make_connection(owner, credentials={"auth_token": "a" * 32}, label="Main")
    before = {"auth_token": DOTS + "aaaa", "_revision": "1234abcd"}
    after = {"auth_token": DOTS + "aaaa", "_revision": "9876fedc"}
    record(actor=Actor("x", "admin"), obj=conn, changes={"credentials": [before, after]})
    client.force_login(support)
    response = client.get(reverse("audit:list"), {"object_type": "agents.accountconnection"})
    page = words(response)
    assert f"Credentials : auth_token : {DOTS}aaaa → auth_token : {DOTS}aaaa (replaced)" in page
    assert "_revision" not in page and "1234abcd" not in page


# --- The trail: search and filters ---------------------------------------------------


@pytest.mark.parametrize("typed", ["(415) 555-0123", "415-555-0123", "+1 415 555 0123"])
def test_the_trail_finds_a_number_written_in_any_format(client, support, owner, typed):
    update(make_number(owner, "+14155550123"), label="Wanted")
    update(make_number(owner, "+14155550999"), label="Other")
    client.force_login(support)
    page = words(client.get(reverse("audit:list"), {"q": typed}, **HX))
    assert "Wanted" in page and "Other" not in page


def test_a_national_number_with_a_trunk_prefix_finds_its_e164_form(client, support, owner):
    update(make_number(owner, "+442079460958"), label="London")
    client.force_login(support)
    assert "London" in words(client.get(reverse("audit:list"), {"q": "020 7946 0958"}))


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("object_type=numbers.nothing", "Object type"),
        ("source=carrier-pigeon", "Source"),
        ("field=_revision", "Field"),
        ("since=yesterday", "From"),
        ("entry=first", "Entry"),
    ],
)
def test_an_unknown_filter_value_is_shown_as_an_error(client, support, query, named):
    client.force_login(support)
    for headers in ({}, HX):
        response = client.get(f"/audit/?{query}", **headers)
        body = response.content.decode()
        assert response.status_code == 200
        error = body.split('<div class="banner error" role="alert" data-dropped>', 1)[1]
        assert error.split("</div>", 1)[0] == f"Ignored an invalid value for: {named}."


def test_one_entry_can_be_shown_by_its_id(client, support, owner):
    number = make_number(owner, "+14155550123")
    first = update(number, label="First")
    update(number, label="Second")
    client.force_login(support)
    page = words(client.get(reverse("audit:list"), {"entry": first.pk}))
    assert f"Entry #{first.pk}" in page and "First" in page and "Second" not in page
    assert "No audit entries" in words(client.get(reverse("audit:list"), {"entry": 2**62}))


def test_a_password_change_shows_as_replaced_without_its_fingerprint(client, support, owner):
    change = [{"_revision": "1234abcd"}, {"_revision": "9876fedc"}]
    record(actor=Actor("x", "admin"), obj=owner, changes={"password": change})
    client.force_login(support)
    page = words(client.get(reverse("audit:list"), {"object_type": "users.user"}))
    assert "Password : set → set (replaced)" in page and "1234abcd" not in page
