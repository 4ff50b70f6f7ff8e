"""Bearer tokens: hashed at rest, shown once, rejected when wrong, revoked or expired."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from users.models import ApiToken
from users.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db
URL = "/v1/numbers/list"


def assert_401(response) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwdw==",
        "Token abc",
        "Bearer a b",
        "Bearer sb_deadbeef_nottherealsecret",
        "Bearer sb_x",
        "bearer ",
    ],
)
def test_missing_or_malformed_or_unknown_tokens_are_a_401(client, owner, header):
    api_token_create(user=owner)
    kwargs = {} if header is None else {"HTTP_AUTHORIZATION": header}
    assert_401(client.get(URL, **kwargs))


def test_a_valid_token_is_accepted_and_its_use_recorded(client, owner):
    api_token, token = api_token_create(user=owner)
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    api_token.refresh_from_db()
    assert api_token.last_used_at is not None


def test_a_tampered_secret_with_a_real_prefix_is_a_401(client, owner):
    _, token = api_token_create(user=owner)
    assert_401(client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token[:-2]}xx"))


def test_a_revoked_token_is_a_401(client, owner):
    api_token, token = api_token_create(user=owner)
    api_token_revoke(api_token=api_token)
    assert_401(client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}"))


def test_an_expired_token_is_a_401(client, owner):
    _, token = api_token_create(user=owner, expires_at=timezone.now() - timedelta(seconds=1))
    assert_401(client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}"))


def test_a_deactivated_users_token_is_a_401(client, owner):
    _, token = api_token_create(user=owner)
    owner.is_active = False
    owner.save()
    assert_401(client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}"))


def test_no_token_value_is_stored(owner):
    api_token, token = api_token_create(user=owner)
    secret = token.split("_", 2)[2]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM users_apitoken")
        dump = repr(cursor.fetchall())
    assert api_token.prefix in dump
    assert token not in dump and secret not in dump


def test_the_command_prints_the_token_once_by_email_or_id(owner):
    for ref in (owner.email, str(owner.pk)):
        out = io.StringIO()
        call_command("create_api_token", ref, "--expires-in-days", "30", stdout=out)
        token = out.getvalue().strip().splitlines()[-1]
        assert token.startswith("sb_")
    assert ApiToken.objects.filter(user=owner, expires_at__isnull=False).count() == 2


def test_the_admin_shows_a_new_token_once_and_prefixes_after(client, superuser, owner):
    client.force_login(superuser)
    response = client.post(
        "/admin/users/apitoken/add/",
        {"user": str(owner.pk), "name": "ci", "scope": "read_write"},
        follow=True,
    )
    body = response.content.decode()
    api_token = ApiToken.objects.get(user=owner)
    token = body.split("API token for owner@acme.example: ", 1)[1].split(" ", 1)[0]
    assert token.startswith(f"sb_{api_token.prefix}_")
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    listing = client.get("/admin/users/apitoken/").content.decode()
    change = client.get(f"/admin/users/apitoken/{api_token.pk}/change/").content.decode()
    assert api_token.prefix in listing
    assert token not in listing and token not in change


def test_the_admin_revokes_tokens(client, superuser, owner):
    client.force_login(superuser)
    api_token, token = api_token_create(user=owner)
    client.post("/admin/users/apitoken/", {"action": "revoke", "_selected_action": [api_token.pk]})
    assert_401(client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}"))
