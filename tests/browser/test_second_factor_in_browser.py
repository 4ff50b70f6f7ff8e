"""A number admin sets up an authenticator app, then signs in with it, in a real browser."""

from __future__ import annotations

import re
import time
from base64 import b32decode

import pytest
from playwright.sync_api import expect

from users.management.commands.setup_roles import NUMBER_ADMINS, ensure_roles
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "browser-pass-123456"
EMAIL = "numbers@switchboard.test"


@pytest.fixture
def number_admin(db, settings) -> User:
    settings.STAFF_TOTP_REQUIRED = True
    user = User.objects.create_user(EMAIL, PASSWORD, is_staff=True)
    user.groups.add(ensure_roles()[NUMBER_ADMINS])
    return user


def app_code(key: str, steps_ahead: int = 0) -> str:
    """What an authenticator app holding ``key`` shows."""
    from django_otp.oath import TOTP

    totp = TOTP(b32decode(key.replace(" ", "")))
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def sign_in_with_password(page) -> None:
    page.goto("/numbers/")
    page.fill("#id_username", EMAIL)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_set_up_an_app_then_sign_in_with_its_code(page, number_admin):
    sign_in_with_password(page)
    page.wait_for_url(re.compile(r"/account/second-factor/setup/\?next=%2Fnumbers%2F$"))
    expect(page.locator("svg.qr")).to_be_visible()
    key = page.locator("[data-key]").inner_text()
    assert len(key.replace(" ", "")) == 32

    page.fill("#id_code", app_code(key))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("ol.recovery-codes li")).to_have_count(10)
    page.get_by_role("button", name="I have saved them, continue").click()
    page.wait_for_url(re.compile(r"/numbers/$"))

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login/"))
    sign_in_with_password(page)
    page.wait_for_url(re.compile(r"/account/second-factor/\?next=%2Fnumbers%2F$"))
    page.fill("#id_code", "000000" if app_code(key, 1) != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    time.sleep(1.1)  # django-otp's throttle: one second after the first wrong code
    page.fill("#id_code", app_code(key, 1))  # the next period: the last one was used
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/numbers/$"))
    expect(page.locator("h1")).to_have_text("Numbers")
