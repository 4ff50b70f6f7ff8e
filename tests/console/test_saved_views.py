"""Saved views of the inventory: save, open, share, edit, delete, and their audit."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from console.models import SavedView
from tests.factories import make_agent, make_number

pytestmark = pytest.mark.django_db
LIST = "/numbers/"
SAVE = "/numbers/views/"


def _save(client, name, query="active=yes&sort=-label", shared=False):
    data = {"name": name, "query": query}
    if shared:
        data["shared"] = "on"
    return client.post(SAVE, data)


def test_it_saves_the_list_under_a_name_and_opens_it_with_one_click(client, support, owner):
    make_number(owner, "+13035550100")
    client.force_login(support)
    response = _save(client, "Morning", "q=acme&active=yes&sort=-label&page=3&provider=")
    assert response.status_code == 303
    view = SavedView.objects.get(name="Morning")
    # Only the inventory's own fields, no paging or empty values; the columns come along.
    assert view.query == (
        "q=acme&active=yes&cols=number,label,owner,agent,provider,connection,active,"
        "outbound_only,updated&sort=-label"
    )
    assert response["Location"] == f"{LIST}?{view.query}"
    body = client.get(LIST).content.decode()
    assert f'href="{LIST}?{view.query.replace("&", "&amp;")}"' in body
    assert view.shared is False


def test_private_views_are_invisible_to_others_and_shared_ones_visible(
    client, support, number_admin
):
    client.force_login(number_admin)
    _save(client, "Admins only")
    _save(client, "For the team", shared=True)
    client.get(LIST)  # shows the "Saved" messages
    client.force_login(support)
    body = client.get(LIST).content.decode()
    assert "For the team" in body and "Admins only" not in body
    private = SavedView.objects.get(name="Admins only")
    assert client.get(f"/numbers/views/{private.pk}/").status_code == 404


def test_support_cannot_change_a_colleagues_shared_view(client, support, number_admin):
    client.force_login(number_admin)
    _save(client, "Shared", shared=True)
    view = SavedView.objects.get()
    client.force_login(support)
    url = f"/numbers/views/{view.pk}/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "Mine now", "version": 1}).status_code == 403
    assert client.post(f"{url}delete", {"version": 1}).status_code == 403
    assert SavedView.objects.get().name == "Shared"


def test_a_number_admin_edits_and_deletes_anyones_shared_view(client, support, number_admin):
    client.force_login(support)
    _save(client, "Support's", shared=True)
    view = SavedView.objects.get()
    client.force_login(number_admin)
    url = f"/numbers/views/{view.pk}/"
    assert client.post(url, {"name": "Renamed", "shared": "on", "version": 1}).status_code == 303
    assert SavedView.objects.get().name == "Renamed"
    assert client.post(f"{url}delete", {"version": 2}).status_code == 303
    assert not SavedView.objects.exists()


def test_a_creator_shares_edits_and_deletes_their_own_view(client, support):
    client.force_login(support)
    _save(client, "Mine")
    view = SavedView.objects.get()
    url = f"/numbers/views/{view.pk}/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"name": "Mine", "shared": "on", "version": 1}).status_code == 303
    assert SavedView.objects.get().shared is True
    assert client.post(f"{url}delete", {"version": 2}).status_code == 303


def test_an_edit_from_a_stale_page_is_a_conflict_not_a_lost_update(client, support):
    client.force_login(support)
    _save(client, "First")
    view = SavedView.objects.get()
    url = f"/numbers/views/{view.pk}/"
    client.post(url, {"name": "Second", "version": 1})
    response = client.post(url, {"name": "Third", "version": 1})
    assert response.status_code == 200
    assert "Someone changed this view" in response.content.decode()
    assert SavedView.objects.get().name == "Second"
    assert client.post(f"{url}delete", {"version": 1}).status_code == 200
    assert SavedView.objects.exists()


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "This field is required"),
        ("x" * 81, "at most 80 characters"),
        ("tab\there", "one line of text"),
        ("rtl\u202eoverride", "one line of text"),
    ],
)
def test_bad_names_are_form_errors(client, support, name, problem):
    client.force_login(support)
    response = _save(client, name)
    assert response.status_code == 200
    assert problem in response.content.decode()
    assert not SavedView.objects.exists()


def test_names_are_unique_per_creator_whatever_the_case(client, support, number_admin):
    client.force_login(support)
    _save(client, "Morning")
    response = _save(client, "MORNING")
    assert response.status_code == 200
    assert "already have a view with this name" in response.content.decode()
    client.force_login(number_admin)
    assert _save(client, "morning").status_code == 303  # another creator's name is free


def test_a_list_with_invalid_values_cannot_be_saved(client, support):
    client.force_login(support)
    response = _save(client, "Junk", "provider=nokia&sort=password")
    assert response.status_code == 200
    assert "invalid values for: Provider, Sort" in response.content.decode()
    assert not SavedView.objects.exists()


def test_a_view_whose_agent_was_deleted_opens_with_the_usual_notice(client, support, owner):
    agent = make_agent(owner)
    client.force_login(support)
    _save(client, "Agent's numbers", f"agent={agent.pk}")
    view = SavedView.objects.get()
    agent.delete()
    response = client.get(f"{LIST}?{view.query}")
    assert response.status_code == 200
    assert "Ignored an invalid value for: Agent." in response.content.decode()


def test_every_change_is_audited(client, support):
    client.force_login(support)
    _save(client, "Audited")
    view = SavedView.objects.get()
    url = f"/numbers/views/{view.pk}/"
    client.post(url, {"name": "Audited", "shared": "on", "version": 1})
    client.post(f"{url}delete", {"version": 2})
    entries = AuditEntry.objects.filter(object_type="console.savedview").order_by("id")
    assert [e.action for e in entries] == ["create", "update", "delete"]
    assert all(e.actor_id == support.pk for e in entries)
    assert entries[0].changes["name"] == [None, "Audited"]
    assert entries[1].changes == {"shared": [False, True]}
    assert entries[2].changes["name"] == ["Audited", None]


def test_wrong_methods_are_405(client, support):
    client.force_login(support)
    assert client.get(SAVE).status_code == 405
