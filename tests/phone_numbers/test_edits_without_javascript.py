"""Every inline edit works as a plain form post with a full page answer (issue 15).

The trap: the edit links pointed at the detail page, which had no form; the forms
had only ``hx-post`` (no method, no action, no CSRF input) and Cancel was a
``type=button``; a plain post answered with a bare fragment. Without JavaScript
nothing could be edited.
"""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from audit.services import Actor
from phone_numbers import services
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def number(owner):
    return make_number(owner, "+14155550123", label="Main")


def words(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_the_rows_edit_links_are_the_detail_page_with_the_form(client, number_admin, number):
    client.force_login(number_admin)
    body = client.get(reverse("numbers:list")).content.decode()
    label_url = reverse("numbers:edit_label", args=[number.pk])
    agent_url = reverse("numbers:edit_agent", args=[number.pk])
    assert f'<a href="{label_url}" class="edit" data-edit-label' in body
    assert f'<a href="{agent_url}" class="edit" data-edit-agent' in body


def test_the_panels_edit_links_are_real_pages_too(client, number_admin, number):
    client.force_login(number_admin)
    body = client.get(reverse("numbers:detail", args=[number.pk])).content.decode()
    assert f'href="{reverse("numbers:edit_label", args=[number.pk])}" class="edit"' in body


@pytest.mark.parametrize("key", ["label", "agent"])
def test_an_edit_link_opens_the_detail_page_with_a_plain_form(client, number_admin, number, key):
    client.force_login(number_admin)
    response = client.get(reverse(f"numbers:edit_{key}", args=[number.pk]))
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body and '<h3 id="history">' in body
    save_url = reverse(f"numbers:save_{key}", args=[number.pk])
    assert f'method="post" action="{save_url}"' in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert f'<a href="{reverse("numbers:detail", args=[number.pk])}" role="button"' in body
    assert "Vary" in response and "HX-Request" in response["Vary"]


def test_a_plain_post_saves_and_redirects_to_the_detail_page_with_a_message(
    client, number_admin, number
):
    client.force_login(number_admin)
    response = client.post(
        reverse("numbers:save_label", args=[number.pk]),
        {"label": "Sales line", "version": 1, "slot": "panel", "reason": "SUP-1 renamed"},
    )
    assert response.status_code == 303
    assert response["Location"] == reverse("numbers:detail", args=[number.pk])
    page = client.get(response["Location"])
    assert "Label of +1 415-555-0123 saved." in words(page)
    assert "Sales line" in words(page)
    entry = AuditEntry.objects.get(object_type="numbers.phonenumber")
    assert (entry.changes, entry.reason) == ({"label": ["Main", "Sales line"]}, "SUP-1 renamed")


def test_a_plain_post_with_an_error_is_the_full_page_with_the_form(client, number_admin, number):
    client.force_login(number_admin)
    response = client.post(
        reverse("numbers:save_label", args=[number.pk]),
        {"label": "x" * 300, "version": 1, "slot": "panel"},
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body
    assert "at most 255 characters" in body and 'name="label"' in body
    assert PhoneNumber.objects.get(pk=number.pk).label == "Main"


def test_a_plain_post_that_conflicts_shows_it_on_the_full_page(client, number_admin, number):
    services.phone_number_update(
        number=PhoneNumber.objects.get(pk=number.pk),
        changes={"label": "Theirs"},
        actor=Actor("colleague", "api"),
    )
    client.force_login(number_admin)
    response = client.post(
        reverse("numbers:save_label", args=[number.pk]),
        {"label": "Mine", "version": 1, "slot": "panel"},
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body
    assert "Someone changed this number" in body and 'name="version" value="2"' in body
    assert PhoneNumber.objects.get(pk=number.pk).label == "Theirs"


def test_the_agent_picker_without_javascript_searches_confirms_and_saves(
    client, number_admin, number, owner
):
    night = make_agent(owner, name="Night Line")
    client.force_login(number_admin)
    url = reverse("numbers:save_agent", args=[number.pk])
    # Enter in the search box: a search (full page), nothing saved.
    page = client.post(url, {"agent": "", "agent_q": "night", "version": 1, "slot": "panel"})
    assert "<html" in page.content.decode() and "One agent matches “night”" in words(page)
    assert f'<option value="{night.pk}" selected>' in page.content.decode()
    assert PhoneNumber.objects.get(pk=number.pk).inbound_agent is None
    # The chosen agent, saved: back to the detail page.
    saved = client.post(
        url, {"agent": str(night.pk), "agent_q": "night", "version": 1, "slot": "panel"}
    )
    assert saved.status_code == 303
    assert PhoneNumber.objects.get(pk=number.pk).inbound_agent == night
    # "No agent": the confirmation step is a page with a button, then the save.
    ask = client.post(url, {"agent": "none", "version": 2, "slot": "panel"})
    assert ask.status_code == 200 and 'name="confirm_none"' in ask.content.decode()
    assert PhoneNumber.objects.get(pk=number.pk).inbound_agent == night
    done = client.post(url, {"agent": "none", "confirm_none": "on", "version": 2, "slot": "panel"})
    assert done.status_code == 303
    assert PhoneNumber.objects.get(pk=number.pk).inbound_agent is None


def test_cancel_without_javascript_goes_back_to_the_detail_page(client, number_admin, number):
    client.force_login(number_admin)
    response = client.get(reverse("numbers:show_label", args=[number.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("numbers:detail", args=[number.pk])
