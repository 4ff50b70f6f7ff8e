"""Behind a proxy, lockouts key on the client's address (core.client_address).

The proxy (10.0.0.1) appends the address it saw to X-Forwarded-For; anything
to the left of that entry was written by the client.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory

from core.client_address import client_address
from users.models import User

pytestmark = pytest.mark.django_db
PASSWORD = "right-password-123456"
PROXY, ATTACKER, VICTIM = "10.0.0.1", "203.0.113.9", "198.51.100.7"


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user("staff@x.test", PASSWORD, is_staff=True)


def sign_in(password: str, forwarded_for: str | None, remote_addr: str = PROXY) -> int:
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return (
        Client()
        .post(
            "/login/",
            {"username": "staff@x.test", "password": password},
            REMOTE_ADDR=remote_addr,
            **headers,
        )
        .status_code
    )


def fail_five_times(forwarded_for: str | None, remote_addr: str = PROXY) -> None:
    for _ in range(5):
        sign_in("wrong", forwarded_for, remote_addr)


def test_behind_one_proxy_two_clients_are_locked_out_separately(settings, staff):
    settings.TRUSTED_PROXY_COUNT = 1
    fail_five_times(ATTACKER)
    assert sign_in(PASSWORD, ATTACKER) == 429
    assert sign_in(PASSWORD, VICTIM) == 302
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ATTACKER]


def test_a_forged_entry_cannot_move_the_lockout_to_another_address(settings, staff):
    settings.TRUSTED_PROXY_COUNT = 1
    # The attacker writes the victim's address; the proxy appends the attacker's.
    fail_five_times(f"{VICTIM}, {ATTACKER}")
    assert sign_in(PASSWORD, VICTIM) == 302
    assert sign_in(PASSWORD, ATTACKER) == 429
    # Nor can another forged entry get the attacker out of the lockout.
    assert sign_in(PASSWORD, f"192.0.2.1, {ATTACKER}") == 429
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ATTACKER]


def test_without_trusted_proxies_the_header_is_ignored(settings, staff):
    settings.TRUSTED_PROXY_COUNT = 0
    fail_five_times(VICTIM, remote_addr=ATTACKER)
    assert sign_in(PASSWORD, "192.0.2.1", remote_addr=ATTACKER) == 429
    assert sign_in(PASSWORD, None, remote_addr=VICTIM) == 302
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ATTACKER]


@pytest.mark.parametrize(
    ("count", "forwarded_for", "expected"),
    [
        (0, f"{VICTIM}, {ATTACKER}", PROXY),
        (1, f"{VICTIM}, {ATTACKER}", ATTACKER),
        (2, f"{VICTIM}, {ATTACKER}", VICTIM),
        (2, f"{VICTIM},{ATTACKER} , ", VICTIM),  # spacing and an empty entry
        (2, ATTACKER, PROXY),  # shorter than the proxy chain: not from our proxies
        (1, "", PROXY),
        (1, "unknown", PROXY),  # not an address
        (1, "2001:DB8::1", "2001:db8::1"),
    ],
)
def test_the_client_is_the_nth_entry_from_the_right(settings, count, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_address(request) == expected
