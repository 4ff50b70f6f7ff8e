"""The inline agent picker saves only a chosen agent, or "No agent" once confirmed (issue 15).

The trap: the picker's options preselected "No agent", so typing a name that
matched nothing and pressing Enter posted ``agent=none`` with the search text,
and the number silently stopped routing calls.
"""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_number

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def desk(owner):
    return make_agent(owner, name="Front Desk")


@pytest.fixture
def night(owner):
    return make_agent(owner, name="Night Line")


@pytest.fixture
def number(owner, desk, night):
    return make_number(owner, "+14155550123", inbound_agent=desk)


def save_agent(client, number, slot="row", **data):
    data.setdefault("version", PhoneNumber.objects.get(pk=number.pk).version)
    return client.post(
        reverse("numbers:save_agent", args=[number.pk]), {"slot": slot, **data}, **HX
    )


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def agent_of(number):
    return PhoneNumber.objects.get(pk=number.pk).inbound_agent


def test_the_options_never_preselect_no_agent(client, number_admin, owner):
    """Before: "No agent" was the first option, selected whenever the number had none."""
    bare = make_number(owner, "+14155550199")
    make_agent(owner, name="Front Desk 2")
    client.force_login(number_admin)
    body = client.get(
        reverse("numbers:edit_agent", args=[bare.pk]), {"slot": "row"}, **HX
    ).content.decode()
    assert '<option value="" selected>Choose an agent…</option>' in body
    assert '<option value="none">No agent: calls go nowhere</option>' in body
    assert 'value="none" selected' not in body


def test_a_search_without_a_match_offers_no_agent_unselected(client, number_admin, number):
    client.force_login(number_admin)
    body = client.get(
        reverse("numbers:agent_options", args=[number.pk]), {"agent_q": "xyz"}, **HX
    ).content.decode()
    assert "No agent matches “xyz”" in html.unescape(body)
    assert '<option value="" selected>' in body and 'value="none" selected' not in body


@pytest.mark.parametrize("chosen", ["none", "", "desk"])
def test_enter_on_a_search_with_no_match_saves_nothing_and_says_so(
    client, number_admin, number, desk, chosen
):
    """Enter in the search box posts the box and whatever the list shows: before, the
    list showed "No agent" after a search without a match, and that was saved."""
    client.force_login(number_admin)
    agent = {"none": "none", "": "", "desk": str(desk.pk)}[chosen]
    if chosen == "none":
        # The old list's value; now "No agent" asks to confirm whatever the search says.
        response = save_agent(client, number, agent=agent, agent_q="xyz")
        assert "Route +1 415-555-0123 to no agent?" in text(response)
    else:
        response = save_agent(client, number, agent=agent, agent_q="xyz")
        assert "No agent matches “xyz”: nothing saved." in text(response)
    assert agent_of(number) == desk
    assert not AuditEntry.objects.filter(object_type="numbers.phonenumber").exists()


def test_enter_on_a_search_naming_another_agent_chooses_it_but_saves_nothing(
    client, number_admin, number, desk, night
):
    client.force_login(number_admin)
    response = save_agent(client, number, agent=str(desk.pk), agent_q="night")
    body = response.content.decode()
    assert "One agent matches “night”" in text(response)
    assert f'<option value="{night.pk}" selected>' in body  # chosen, visibly, not saved
    assert agent_of(number) == desk
    # The next Enter (the list now agrees with the search) saves it.
    save_agent(client, number, agent=str(night.pk), agent_q="night")
    assert agent_of(number) == night


def test_nothing_chosen_saves_nothing(client, number_admin, number, desk):
    client.force_login(number_admin)
    response = save_agent(client, number, agent="", agent_q="")
    assert "Choose an agent from the list" in text(response)
    assert agent_of(number) == desk


def test_no_agent_asks_to_confirm_then_saves(client, number_admin, number):
    client.force_login(number_admin)
    response = save_agent(client, number, slot="panel", agent="none")
    body = response.content.decode()
    assert "data-confirm-none" in body and "Calls to this number will go nowhere" in text(response)
    assert 'name="confirm_none"' in body and 'type="submit"' in body  # a button, no JS needed
    assert agent_of(number) is not None

    response = save_agent(client, number, slot="panel", agent="none", confirm_none="on")
    assert "no agent" in response.content.decode()
    assert agent_of(number) is None
    entry = AuditEntry.objects.get(object_type="numbers.phonenumber")
    assert entry.changes["inbound_agent"] == ["Front Desk", None]


def test_the_current_agent_is_chosen_even_beyond_the_first_50(client, number_admin, owner):
    for i in range(55):
        make_agent(owner, name=f"Agent {i:02d}")
    last = make_agent(owner, name="Zulu")
    number = make_number(owner, "+14155550177", inbound_agent=last)
    client.force_login(number_admin)
    body = client.get(
        reverse("numbers:edit_agent", args=[number.pk]), {"slot": "row"}, **HX
    ).content.decode()
    assert f'<option value="{last.pk}" selected>Zulu' in body


def test_the_live_search_keeps_the_chosen_agent_while_it_matches(
    client, number_admin, number, night
):
    client.force_login(number_admin)
    url = reverse("numbers:agent_options", args=[number.pk])
    body = client.get(url, {"agent_q": "line", "agent": str(night.pk)}, **HX).content.decode()
    assert f'<option value="{night.pk}" selected>' in body
    body = client.get(url, {"agent_q": "desk", "agent": str(night.pk)}, **HX).content.decode()
    assert '<option value="" selected>' in body
