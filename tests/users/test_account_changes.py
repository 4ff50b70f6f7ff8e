"""Account and token changes go through users.services: audited, and a lost role ends sessions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from tests.factories import make_number
from users.models import ApiToken, TokenScope, User
from users.services import api_token_create

pytestmark = pytest.mark.django_db


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get(reverse("numbers:list")).status_code == 200
    return client


def _user_form(user: User, **changes) -> dict:
    form = {
        "email": user.email,
        "name": user.name,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "groups": [str(g.pk) for g in user.groups.all()],
        "user_permissions": [],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v not in ("", None)}


def _admin_save(superuser: User, user: User, **changes):
    admin = Client()
    admin.force_login(superuser)
    url = reverse("admin:users_user_change", args=[user.pk])
    response = admin.post(url, _user_form(user, **changes))
    assert response.status_code == 302, response.content.decode()[:2000]


def test_taking_away_a_role_in_the_admin_is_audited_and_ends_the_sessions(superuser, number_admin):
    session = _signed_in(number_admin)
    _admin_save(superuser, number_admin, groups=[])

    entry = AuditEntry.objects.get(object_type="users.user", object_id=str(number_admin.pk))
    assert entry.source == "admin" and entry.actor_label == superuser.email
    assert entry.changes["groups"] == [["Number admins"], []]
    response = session.get(reverse("numbers:list"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_deactivating_a_user_ends_the_sessions(superuser, support):
    session = _signed_in(support)
    _admin_save(superuser, support, is_active="")
    assert session.get(reverse("numbers:list")).status_code == 302
    entry = AuditEntry.objects.get(object_type="users.user", object_id=str(support.pk))
    assert entry.changes["is_active"] == [True, False]


def test_giving_a_role_keeps_the_sessions(superuser, support):
    session = _signed_in(support)
    _admin_save(
        superuser,
        support,
        groups=[str(g.pk) for g in Group.objects.filter(name__in=["Support", "Number admins"])],
    )
    assert session.get(reverse("numbers:list")).status_code == 200


def test_a_password_hash_never_reaches_the_trail(superuser, support):
    _admin_save(superuser, support, name="Sam")
    entry = AuditEntry.objects.get(object_type="users.user", object_id=str(support.pk))
    assert entry.changes == {"name": ["", "Sam"]}
    assert support.password not in str(AuditEntry.objects.values_list("changes", flat=True))


def test_a_customer_with_numbers_cannot_be_deleted(superuser, owner):
    make_number(owner)
    admin = Client()
    admin.force_login(superuser)
    url = reverse("admin:users_user_delete", args=[owner.pk])
    page = admin.get(url).content.decode()
    assert "protected" in page.lower()
    admin.post(url, {"post": "yes"})
    assert User.objects.filter(pk=owner.pk).exists()


def test_issuing_and_revoking_a_token_in_the_admin_is_audited(superuser, owner):
    admin = Client()
    admin.force_login(superuser)
    admin.post("/admin/users/apitoken/add/", {"user": str(owner.pk), "name": "ci", "scope": "read"})
    api_token = ApiToken.objects.get(user=owner)
    assert api_token.scope == TokenScope.READ
    admin.post("/admin/users/apitoken/", {"action": "revoke", "_selected_action": [api_token.pk]})
    entries = list(
        AuditEntry.objects.filter(object_type="users.apitoken").order_by("created_at", "id")
    )
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[0].changes["token"] == [None, f"sb_{api_token.prefix}_…"]
    assert entries[1].changes["revoked_at"][0] is None
    assert all(e.actor_label == superuser.email for e in entries)
    assert api_token.secret_hash not in str([e.changes for e in entries])


def test_deleting_a_token_in_the_admin_revokes_it_and_keeps_it(superuser, owner):
    api_token, _ = api_token_create(user=owner)
    admin = Client()
    admin.force_login(superuser)
    admin.post(reverse("admin:users_apitoken_delete", args=[api_token.pk]), {"post": "yes"})
    api_token.refresh_from_db()
    assert api_token.revoked_at is not None
