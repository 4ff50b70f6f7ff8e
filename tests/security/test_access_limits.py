"""Brute-force lockout per username and address, API rate limits, deactivation."""

from __future__ import annotations

import pytest
from django.test import Client

from api.throttling import TokenRateThrottle
from tests.factories import make_number
from users.models import User
from users.services import api_token_create

pytestmark = pytest.mark.django_db
PASSWORD = "right-password-123456"


def sign_in(client: Client, email: str, password: str, ip: str) -> int:
    return client.post(
        "/login/", {"username": email, "password": password}, REMOTE_ADDR=ip
    ).status_code


def test_five_wrong_passwords_lock_that_username_from_that_address_only(db):
    User.objects.create_user("staff@x.test", PASSWORD, is_staff=True)
    User.objects.create_user("other@x.test", PASSWORD, is_staff=True)
    attacker = Client()
    for _ in range(5):
        sign_in(attacker, "staff@x.test", "wrong", "203.0.113.9")
    locked = attacker.post(
        "/login/", {"username": "staff@x.test", "password": PASSWORD}, REMOTE_ADDR="203.0.113.9"
    )
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
    # The real user, from their own address, is not locked out by the attacker.
    assert sign_in(Client(), "staff@x.test", PASSWORD, "198.51.100.7") == 302
    # Another account from the attacker's address is not locked either.
    assert sign_in(Client(), "other@x.test", PASSWORD, "203.0.113.9") == 302


def test_api_rate_limit_per_token_with_retry_after(client, owner, other_tenant, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    from django.core.cache import cache

    cache.clear()
    _, mine = api_token_create(user=owner)
    _, theirs = api_token_create(user=other_tenant)
    statuses = [
        client.get("/v1/numbers/list", HTTP_AUTHORIZATION=f"Bearer {mine}").status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/v1/numbers/list", HTTP_AUTHORIZATION=f"Bearer {mine}")
    assert int(limited["Retry-After"]) > 0 and "detail" in limited.json()
    assert client.get("/v1/numbers/list", HTTP_AUTHORIZATION=f"Bearer {theirs}").status_code == 200
    cache.clear()


def test_deactivating_a_user_ends_sessions_and_tokens(client, owner):
    staff = User.objects.create_user("leaver@x.test", PASSWORD, is_staff=True, is_superuser=True)
    make_number(owner)
    _, token = api_token_create(user=staff)
    client.force_login(staff)
    assert client.get("/numbers/").status_code == 200
    assert client.get("/v1/numbers/list", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    staff.is_active = False
    staff.save()
    page = client.get("/numbers/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert client.get("/v1/numbers/list", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
