"""Review findings on accounts: groups, email case, and writes that skipped the service."""

from __future__ import annotations

import io

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from audit.services import Actor
from tests.factories import (
    make_action,
    make_agent,
    make_connection,
    make_number,
    make_prompt,
    make_template,
    make_webhook,
)
from users.models import User
from users.services import api_token_create, user_delete

pytestmark = pytest.mark.django_db


def _admin(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _signed_in(user: User) -> Client:
    client = _admin(user)
    assert client.get(reverse("numbers:list")).status_code == 200
    return client


def _signed_out(client: Client) -> bool:
    response = client.get(reverse("numbers:list"))
    return response.status_code == 302 and "/login/" in response["Location"]


def _perm(label: str) -> Permission:
    app_label, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def _group_entries(group_pk: int) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_type="auth.group", object_id=str(group_pk)).order_by(
            "created_at", "id"
        )
    )


def _group_form(group: Group, permissions: list[Permission]) -> dict:
    return {"name": group.name, "permissions": [str(p.pk) for p in permissions]}


# -- 1. groups ----------------------------------------------------------------


def test_the_admin_registers_the_audited_group_admin():
    # Django's own GroupAdmin saves groups unaudited.
    assert type(admin.site._registry[Group]).__module__ == "users.admin"


def test_granting_a_permission_to_a_group_in_the_admin_is_audited(superuser, support):
    group = Group.objects.get(name="Support")
    session = _signed_in(support)
    before = sorted(f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all())
    response = _admin(superuser).post(
        reverse("admin:auth_group_change", args=[group.pk]),
        _group_form(group, [*group.permissions.all(), _perm("users.change_user")]),
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    [entry] = [e for e in _group_entries(group.pk) if e.source == "admin"]
    assert entry.action == "update" and entry.actor_label == superuser.email
    assert entry.changes == {"permissions": [before, sorted([*before, "users.change_user"])]}
    assert not _signed_out(session)  # gaining power keeps the sessions


def test_a_group_losing_a_permission_in_the_admin_ends_its_members_sessions(
    superuser, number_admin
):
    group = Group.objects.get(name="Number admins")
    session = _signed_in(number_admin)
    kept = list(group.permissions.exclude(codename="change_phonenumber"))
    response = _admin(superuser).post(
        reverse("admin:auth_group_change", args=[group.pk]), _group_form(group, kept)
    )
    assert response.status_code == 302

    [entry] = [e for e in _group_entries(group.pk) if e.source == "admin"]
    removed = set(entry.changes["permissions"][0]) - set(entry.changes["permissions"][1])
    assert removed == {"numbers.change_phonenumber"}
    assert _signed_out(session)


def test_adding_a_group_in_the_admin_is_audited(superuser):
    response = _admin(superuser).post(
        reverse("admin:auth_group_add"),
        {"name": "Auditors", "permissions": [str(_perm("audit.view_auditentry").pk)]},
    )
    assert response.status_code == 302
    group = Group.objects.get(name="Auditors")
    [entry] = _group_entries(group.pk)
    assert entry.action == "create" and entry.source == "admin"
    assert entry.changes == {
        "name": [None, "Auditors"],
        "permissions": [None, ["audit.view_auditentry"]],
    }


def test_deleting_a_group_in_the_admin_is_audited_and_ends_its_members_sessions(
    superuser, number_admin
):
    group = Group.objects.get(name="Number admins")
    permissions = sorted(
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()
    )
    session = _signed_in(number_admin)
    response = _admin(superuser).post(
        reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Group.objects.filter(pk=group.pk).exists()

    [entry] = [e for e in _group_entries(group.pk) if e.source == "admin"]
    assert entry.action == "delete" and entry.actor_label == superuser.email
    assert entry.changes == {
        "members": [1, 0],
        "name": ["Number admins", None],
        "permissions": [permissions, None],
    }
    assert _signed_out(session)


def test_deleting_groups_from_the_changelist_is_audited(superuser, support):
    group = Group.objects.get(name="Support")
    session = _signed_in(support)
    _admin(superuser).post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "_selected_action": [group.pk], "post": "yes"},
    )
    assert not Group.objects.filter(pk=group.pk).exists()
    assert [e.action for e in _group_entries(group.pk) if e.source == "admin"] == ["delete"]
    assert _signed_out(session)


def test_setup_roles_records_what_it_changes_and_nothing_when_nothing_changes():
    call_command("setup_roles", stdout=io.StringIO())
    entries = AuditEntry.objects.filter(object_type="auth.group")
    assert {e.object_label for e in entries} == {"Support", "Number admins"}
    assert all(
        e.action == "create" and e.actor_label == "command setup_roles" and e.source == "command"
        for e in entries
    )
    call_command("setup_roles", stdout=io.StringIO())  # nothing to change: nothing recorded
    assert AuditEntry.objects.filter(object_type="auth.group").count() == 2

    support = Group.objects.get(name="Support")
    support.permissions.remove(_perm("users.view_user"))  # someone tampered with the role
    call_command("setup_roles", stdout=io.StringIO())
    [repair] = AuditEntry.objects.filter(object_id=str(support.pk), action="update")
    before, after = repair.changes["permissions"]
    assert set(after) - set(before) == {"users.view_user"}


# -- 2. emails differing only in case -----------------------------------------


def _add_user_form(email: str) -> dict:
    return {
        "email": email,
        "usable_password": "true",
        "password1": "pw-New-staff-98765",
        "password2": "pw-New-staff-98765",
    }


def _login(email: str, password: str) -> int:
    response = Client().post("/login/", {"username": email, "password": password})
    return response.status_code


def test_the_admin_refuses_an_email_differing_only_in_case(superuser):
    User.objects.create_user("staff1@example.com", "pw-staff1-123456", is_staff=True)
    response = _admin(superuser).post(
        reverse("admin:users_user_add"), _add_user_form("STAFF1@EXAMPLE.COM")
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == [
        "A user with this email address already exists."
    ]
    assert User.objects.filter(email__iexact="staff1@example.com").count() == 1
    assert _login("staff1@example.com", "pw-staff1-123456") == 302
    assert _login("Staff1@Example.com", "pw-staff1-123456") == 302


def test_the_admin_change_form_refuses_an_email_differing_only_in_case(superuser, support):
    form = {
        "email": superuser.email.upper(),
        "is_active": "on",
        "is_staff": "on",
        "groups": [str(g.pk) for g in support.groups.all()],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = _admin(superuser).post(reverse("admin:users_user_change", args=[support.pk]), form)
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    support.refresh_from_db()
    assert support.email == "support@switchboard.test"


def test_the_admin_stores_an_email_in_lower_case(superuser):
    response = _admin(superuser).post(
        reverse("admin:users_user_add"), _add_user_form("New.Person@Example.COM")
    )
    assert response.status_code == 302
    assert User.objects.filter(email="new.person@example.com").exists()
    assert _login("NEW.PERSON@example.com", "pw-New-staff-98765") == 302


def test_the_model_normalises_the_email_and_the_database_refuses_a_case_variant(owner):
    user = User(email="Someone@Example.COM")
    user.full_clean(exclude=["password"])
    assert user.email == "someone@example.com"
    user.email = "Someone.Else@EXAMPLE.com"
    user.save()
    assert User.objects.filter(email="someone.else@example.com").exists()

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=user.pk).update(email=owner.email.upper())


# -- 3. writes that skipped user_save -----------------------------------------


def test_a_password_changed_in_the_admin_is_audited_and_ends_their_sessions(superuser, support):
    session = _signed_in(support)
    old_hash = support.password
    response = _admin(superuser).post(
        f"/admin/users/user/{support.pk}/password/",
        {
            "usable_password": "true",
            "password1": "pw-Changed-246810",
            "password2": "pw-Changed-246810",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    support.refresh_from_db()
    assert support.check_password("pw-Changed-246810")
    [entry] = AuditEntry.objects.filter(object_type="users.user", object_id=str(support.pk))
    assert entry.action == "update" and entry.source == "admin"
    assert entry.actor_label == superuser.email
    assert list(entry.changes) == ["password"]
    before, after = entry.changes["password"]
    assert before["_revision"] != after["_revision"]
    trail = str(entry.changes)
    assert old_hash not in trail and support.password not in trail
    assert "pw-Changed-246810" not in trail
    assert _signed_out(session)


def test_changing_ones_own_password_in_the_admin_keeps_ones_session(superuser):
    client = _signed_in(superuser)
    client.post(
        f"/admin/users/user/{superuser.pk}/password/",
        {"usable_password": "true", "password1": "pw-Mine-13579bd", "password2": "pw-Mine-13579bd"},
    )
    assert AuditEntry.objects.filter(object_id=str(superuser.pk), fields=",password,").exists()
    assert not _signed_out(client)
    superuser.refresh_from_db()
    assert superuser.check_password("pw-Mine-13579bd")


def test_deleting_a_customer_records_each_token_and_counts_what_went_with_them(superuser, owner):
    tokens = [api_token_create(user=owner, name=name)[0] for name in ("ci", "ops")]
    template = make_template(owner)
    agent = make_agent(
        owner,
        prompt=make_prompt(owner, prompt_template=template),
        webhook=make_webhook(owner),
        openai_account_connection=make_connection(owner),
    )
    agent.actions.add(make_action(owner))
    response = _admin(superuser).post(
        reverse("admin:users_user_delete", args=[owner.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk=owner.pk).exists()

    deleted = AuditEntry.objects.filter(object_type="users.apitoken", action="delete")
    assert {e.object_id for e in deleted} == {str(t.pk) for t in tokens}
    for entry in deleted:
        assert entry.source == "admin" and entry.actor_label == superuser.email
        assert entry.changes["token"][0].startswith("sb_") and entry.changes["token"][1] is None
        assert entry.changes["name"][0] in {"ci", "ops"}
    assert not any(t.secret_hash in str(e.changes) for t in tokens for e in deleted)

    account = AuditEntry.objects.get(object_type="users.user", object_id=str(owner.pk))
    assert account.action == "delete"
    for kind in ("agent", "prompt", "prompttemplate", "webhook", "accountconnection", "action"):
        assert account.changes[f"owned agents.{kind}"] == [1, 0]
    assert sorted(account.changes["api_tokens"][0]) == sorted(str(t) for t in tokens)


def test_a_refused_delete_records_nothing(owner):
    api_token_create(user=owner, name="ci")
    make_number(owner)
    with pytest.raises(ProtectedError):
        user_delete(user=owner, actor=Actor("tests", "admin"))
    assert not AuditEntry.objects.filter(action="delete").exists()
