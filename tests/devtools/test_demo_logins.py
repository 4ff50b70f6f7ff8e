"""``manage.py demo_logins``: secrets are printed once, never again."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tests.factories import make_number
from users.models import ApiToken, User

pytestmark = pytest.mark.django_db


def run() -> str:
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    return out.getvalue()


def test_it_prints_the_password_and_token_once(client, owner):
    make_number(owner)
    first = run()
    password = first.split("password: ", 1)[1].split()[0]
    token = next(word for word in first.split() if word.startswith("sb_"))
    signed_in = client.post(
        "/login/", {"username": "admin@switchboard.local", "password": password}
    )
    assert signed_in.status_code == 302
    assert client.get("/v1/numbers/list", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200

    second = run()
    assert password not in second and token not in second
    assert User.objects.filter(is_superuser=True).count() == 1
    assert User.objects.filter(groups__name="Support").count() == 1
    assert User.objects.filter(groups__name="Number admins").count() == 1
    assert ApiToken.objects.count() == 1
