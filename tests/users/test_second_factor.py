"""The staff second factor: TOTP for superusers and number admins, optional for support."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from base64 import b32encode
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEntry, Source
from audit.services import Actor
from tests.factories import make_number
from users import second_factor as sf
from users.models import User
from users.services import api_token_create

pytestmark = pytest.mark.django_db
PASSWORD = "pw-staff-123456"  # tests/conftest.py's staff password
ROOT_PASSWORD = "pw-root-123456"  # and its superuser's
SETUP_URL = "/account/second-factor/setup/"
VERIFY_URL = "/account/second-factor/"
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def enforced(settings) -> None:
    settings.STAFF_TOTP_REQUIRED = True


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the person's app shows now (or ``steps_ahead`` periods from now)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def sign_in(client: Client, user: User):
    password = ROOT_PASSWORD if user.is_superuser else PASSWORD
    return client.post("/login/", {"username": user.email, "password": password})


def enrol(user: User) -> tuple[TOTPDevice, list[str]]:
    """A confirmed app and ten recovery codes, as the setup page leaves them."""
    device = sf.second_factor_start(user=user)
    codes = sf.second_factor_enrol(
        device=device, code=code_for(device), actor=Actor("setup", Source.DASHBOARD)
    )
    assert codes is not None
    return device, codes


def sign_in_fully(client: Client, user: User, device: TOTPDevice) -> None:
    sign_in(client, user)
    response = client.post(VERIFY_URL, {"code": code_for(device, steps_ahead=1)})
    assert response.status_code == 302, response.content.decode()


def named_urls() -> list[tuple[str, str]]:
    """Every named URL of the project with placeholder parameters: the middleware
    decides before any view looks them up, so the values need not exist."""
    found: list[tuple[str, str]] = []

    def walk(resolver: URLResolver, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
            elif isinstance(entry, URLPattern) and entry.name:
                name = f"{namespace}{entry.name}"
                params = set(entry.pattern.converters) | set(entry.pattern.regex.groupindex)
                ints = {p for p, c in entry.pattern.converters.items() if type(c) is IntConverter}
                kwargs = {p: uuid.uuid4() if p == "pk" and p not in ints else "1" for p in params}
                if "app_label" in kwargs:
                    kwargs["app_label"] = "numbers"
                found.append((name, reverse(name, kwargs=kwargs)))

    walk(get_resolver(), "")
    return sorted(set(found))


def console_urls() -> list[tuple[str, str]]:
    return [
        (name, url)
        for name, url in named_urls()
        if not name.startswith("api:") and name not in sf.OPEN_VIEWS
    ]


# --- Enforcement -----------------------------------------------------------------


def test_a_number_admin_without_a_device_is_sent_to_setup_from_every_console_page(
    client, enforced, number_admin
):
    assert sign_in(client, number_admin).status_code == 302
    urls = console_urls()
    assert any(name.startswith("admin:") for name, _ in urls)
    assert any(name.startswith("numbers:") for name, _ in urls)
    for name, url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, (method, name)
            assert response["Location"].startswith(SETUP_URL), (method, name)
    page = client.get("/numbers/?q=desk")
    assert page["Location"] == f"{SETUP_URL}?next={quote('/numbers/?q=desk', safe='')}"


def test_the_api_is_not_held_back_by_a_half_signed_in_session(client, enforced, number_admin):
    owner = User.objects.create_user("ops@acme.example")
    make_number(owner, "+14155550123")
    _, token = api_token_create(user=owner)
    sign_in(client, number_admin)
    response = client.get("/v1/numbers/list", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


def test_a_superuser_without_a_device_is_sent_to_setup(client, enforced, superuser):
    sign_in(client, superuser)
    response = client.get("/numbers/")
    assert response.status_code == 302 and response["Location"].startswith(SETUP_URL)


def test_an_htmx_request_before_verification_gets_hx_redirect(client, enforced, number_admin):
    sign_in(client, number_admin)
    response = client.get(
        "/numbers/", {"q": "desk"}, HTTP_HX_CURRENT_URL="http://testserver/numbers/?q=desk", **HX
    )
    assert response.status_code == 200 and "Location" not in response
    assert response["HX-Redirect"] == f"{SETUP_URL}?next={quote('/numbers/?q=desk', safe='')}"
    assert response.content == b""  # no page inside a fragment


def test_an_htmx_request_from_another_site_is_not_sent_back_there(client, enforced, number_admin):
    sign_in(client, number_admin)
    response = client.get("/numbers/", HTTP_HX_CURRENT_URL="https://evil.example/x", **HX)
    assert response["HX-Redirect"] == SETUP_URL


# --- Setup -----------------------------------------------------------------------


def test_the_setup_page_shows_the_key_as_a_qr_code_and_as_text(client, enforced, number_admin):
    sign_in(client, number_admin)
    response = client.get(SETUP_URL)
    body = response.content.decode()
    device = TOTPDevice.objects.get(user=number_admin, confirmed=False)
    key = b32encode(device.bin_key).decode()
    assert response.status_code == 200
    assert "<svg" in body and 'class="qr"' in body and "<img" not in body
    assert " ".join(key[i : i + 4] for i in range(0, 32, 4)) in body
    # Reloading keeps the key the person may already have scanned.
    client.get(SETUP_URL)
    assert TOTPDevice.objects.filter(user=number_admin).count() == 1


def test_setup_with_a_correct_code_turns_it_on_and_shows_recovery_codes_once(
    client, enforced, number_admin
):
    sign_in(client, number_admin)
    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=number_admin)
    response = client.post(SETUP_URL, {"code": code_for(device), "next": "/agents/"})
    body = response.content.decode()
    codes = list(
        StaticToken.objects.filter(device__user=number_admin).values_list("token", flat=True)
    )
    assert response.status_code == 200 and "Your recovery codes" in body
    assert len(codes) == sf.RECOVERY_CODE_COUNT
    assert all(f"{c[:4]}-{c[4:]}" in body for c in codes)
    assert 'href="/agents/"' in body
    device.refresh_from_db()
    assert device.confirmed
    # Verified in this session: the console opens, and the codes are never shown again.
    assert client.get("/numbers/").status_code == 200
    again = client.get(SETUP_URL, follow=True)
    assert not any(f"{c[:4]}-{c[4:]}" in again.content.decode() for c in codes)
    entry = AuditEntry.objects.get(object_id=str(number_admin.pk), fields__contains="second_factor")
    assert entry.actor == number_admin and entry.source == Source.DASHBOARD
    assert entry.changes["second_factor"] == [None, "authenticator app"]
    trail = json.dumps(entry.changes)
    assert device.key not in trail and b32encode(device.bin_key).decode() not in trail
    assert not any(c in trail for c in codes)


def test_setup_refuses_a_wrong_code(client, enforced, number_admin):
    sign_in(client, number_admin)
    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=number_admin)
    wrong = "000000" if code_for(device) != "000000" else "111111"
    response = client.post(SETUP_URL, {"code": wrong})
    assert response.status_code == 200 and "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed and not StaticToken.objects.exists()
    assert client.get("/numbers/")["Location"].startswith(SETUP_URL)


def test_setup_is_refused_while_an_existing_device_is_unverified(client, enforced, number_admin):
    enrol(number_admin)
    sign_in(client, number_admin)  # the password alone must not add a second app
    response = client.get(SETUP_URL)
    assert response.status_code == 302 and response["Location"].startswith(VERIFY_URL)
    assert client.post(SETUP_URL, {"code": "123456"})["Location"].startswith(VERIFY_URL)
    assert TOTPDevice.objects.filter(user=number_admin).count() == 1


# --- The second step -------------------------------------------------------------


def test_the_next_sign_in_asks_for_the_code(client, enforced, number_admin):
    device, _codes = enrol(number_admin)
    response = client.post(
        "/login/", {"username": number_admin.email, "password": PASSWORD, "next": "/agents/"}
    )
    assert response.status_code == 302 and response["Location"] == "/agents/"
    asked = client.get("/agents/")
    assert asked["Location"] == f"{VERIFY_URL}?next=%2Fagents%2F"
    page = client.get(asked["Location"])
    assert page.status_code == 200 and 'name="code"' in page.content.decode()
    verified = client.post(
        VERIFY_URL, {"code": code_for(device, steps_ahead=1), "next": "/agents/"}
    )
    assert verified.status_code == 302 and verified["Location"] == "/agents/"
    assert client.get("/agents/").status_code == 200


def test_a_wrong_code_is_refused_and_logged_without_the_code(
    client, enforced, number_admin, caplog
):
    device, _codes = enrol(number_admin)
    sign_in(client, number_admin)
    wrong = "000000" if code_for(device, 1) != "000000" else "111111"
    with caplog.at_level(logging.WARNING, logger="switchboard.security"):
        response = client.post(VERIFY_URL, {"code": wrong})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert client.get("/numbers/")["Location"].startswith(VERIFY_URL)
    assert "second factor refused" in caplog.text and str(number_admin.pk) in caplog.text
    assert wrong not in caplog.text
    device.refresh_from_db()
    assert device.throttling_failure_count == 1


def test_wrong_codes_are_throttled_even_before_the_right_one(client, enforced, number_admin):
    device, _codes = enrol(number_admin)
    sign_in(client, number_admin)
    wrong = "000000" if code_for(device, 1) != "000000" else "111111"
    client.post(VERIFY_URL, {"code": wrong})
    response = client.post(VERIFY_URL, {"code": code_for(device, 1)})
    assert "Too many wrong codes" in response.content.decode()
    assert client.get("/numbers/").status_code == 302


def test_a_malformed_code_is_a_form_error(client, enforced, number_admin):
    enrol(number_admin)
    sign_in(client, number_admin)
    response = client.post(VERIFY_URL, {"code": "12ab"})
    assert response.status_code == 200 and "Enter the 6-digit code" in response.content.decode()


def test_a_recovery_code_works_once_and_is_audited(client, enforced, number_admin, caplog):
    _device, codes = enrol(number_admin)
    sign_in(client, number_admin)
    typed = f"{codes[0][:4].upper()} - {codes[0][4:]}"  # as copied from the sheet
    response = client.post(VERIFY_URL, {"code": typed}, follow=True)
    assert response.status_code == 200
    assert "signed in with a recovery code; 9 left" in response.content.decode()
    entry = AuditEntry.objects.get(fields=",recovery_codes_left,")
    assert entry.changes == {"recovery_codes_left": [10, 9]}
    assert entry.actor == number_admin and codes[0] not in json.dumps(entry.changes)

    client.post("/logout/")
    sign_in(client, number_admin)
    with caplog.at_level(logging.WARNING, logger="switchboard.security"):
        again = client.post(VERIFY_URL, {"code": codes[0]})
    assert "That code is not right" in again.content.decode()
    assert codes[0] not in caplog.text
    assert client.get("/numbers/").status_code == 302


def test_next_is_kept_on_this_site_only(client, enforced, number_admin):
    device, _codes = enrol(number_admin)
    sign_in(client, number_admin)
    response = client.post(
        VERIFY_URL, {"code": code_for(device, 1), "next": "https://evil.example/numbers/"}
    )
    assert response["Location"] == reverse("home")  # settings.LOGIN_REDIRECT_URL


def test_the_second_factor_pages_are_for_staff_only(client, enforced):
    customer = User.objects.create_user("ops@acme.example", PASSWORD)
    client.force_login(customer)
    assert client.get(VERIFY_URL).status_code == 403
    assert client.get(SETUP_URL).status_code == 403
    assert client.get("/account/").status_code == 403
    assert Client().get(SETUP_URL)["Location"].startswith("/login/")


def test_the_pages_answer_405_to_other_methods(client, enforced, support):
    sign_in(client, support)
    assert client.put(VERIFY_URL).status_code == 405
    assert client.put(SETUP_URL).status_code == 405
    assert client.post("/account/").status_code == 405


def test_wrong_passwords_still_lock_the_sign_in(client, enforced, number_admin):
    for _ in range(5):
        client.post("/login/", {"username": number_admin.email, "password": "wrong"})
    locked = sign_in(client, number_admin)
    assert locked.status_code == 429


# --- The admin -------------------------------------------------------------------


def test_the_admin_requires_the_second_step_too(client, enforced, superuser):
    device, _codes = enrol(superuser)
    assert Client().get("/admin/login/?next=/admin/")["Location"] == "/login/?next=/admin/"
    sign_in(client, superuser)
    for url in ("/admin/", "/admin/login/?next=/admin/users/user/", "/admin/users/user/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(VERIFY_URL), url
    verified = client.post(VERIFY_URL, {"code": code_for(device, 1), "next": "/admin/"})
    assert verified["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/login/")["Location"] == "/admin/"


def test_the_admin_site_refuses_an_unverified_session_whatever_the_middleware(
    rf, enforced, superuser
):
    enrol(superuser)
    request = rf.get("/admin/")
    request.user = superuser
    request.user.is_verified = lambda: False
    from django.contrib import admin

    assert not admin.site.has_permission(request)
    request.user.is_verified = lambda: True
    assert admin.site.has_permission(request)


def test_a_signed_in_customer_is_refused_by_the_admin_login_not_looped(client):
    client.force_login(User.objects.create_user("ops@acme.example", PASSWORD))
    assert client.get("/admin/login/?next=/admin/").status_code == 403


def test_a_superuser_resets_a_users_second_factor_in_the_admin_and_it_is_audited(
    enforced, superuser, number_admin
):
    admin_client, their_client = Client(), Client()
    root_device, _ = enrol(superuser)
    their_device, _ = enrol(number_admin)
    sign_in_fully(admin_client, superuser, root_device)
    sign_in_fully(their_client, number_admin, their_device)
    response = admin_client.post(
        reverse("admin:users_user_changelist"),
        {"action": "reset_second_factor", "_selected_action": [str(number_admin.pk)]},
        follow=True,
    )
    assert "Second factor reset for numbers@switchboard.test" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=number_admin).exists()
    assert not StaticToken.objects.filter(device__user=number_admin).exists()
    entry = AuditEntry.objects.get(object_id=str(number_admin.pk), source=Source.ADMIN)
    assert entry.actor == superuser
    assert entry.changes == {
        "recovery_codes_left": [10, 0],
        "second_factor": ["authenticator app", None],
    }
    # Their verified session is verified no longer: they set it up again.
    assert their_client.get("/numbers/")["Location"].startswith(SETUP_URL)


def test_only_superusers_may_reset(support):
    from django.contrib import admin

    model_admin = admin.site._registry[User]
    request = type("R", (), {"user": support})()
    assert not model_admin.has_reset_second_factor_permission(request)


def test_the_admin_shows_whether_a_user_has_a_second_factor(client, superuser, number_admin):
    enrol(number_admin)
    client.force_login(superuser)
    body = client.get(reverse("admin:users_user_change", args=[number_admin.pk])).content.decode()
    assert "authenticator app since" in body and "10 recovery codes left" in body
    assert TOTPDevice.objects.get(user=number_admin).key not in body


def test_the_device_tables_have_no_admin_pages():
    from django.contrib import admin
    from django_otp.plugins.otp_static.models import StaticDevice

    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(StaticDevice)


# --- Support staff and the setting -----------------------------------------------


def test_support_staff_are_not_forced_but_may_enrol(client, enforced, support):
    sign_in(client, support)
    assert client.get("/numbers/").status_code == 200
    account = client.get("/account/").content.decode()
    assert "Off: you sign in with your password only" in account and SETUP_URL in account
    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=support)
    response = client.post(SETUP_URL, {"code": code_for(device)})
    assert "Your recovery codes" in response.content.decode()
    assert "On: an authenticator app" in client.get("/account/").content.decode()
    # Once enrolled, their sign-in asks for the code as well.
    client.post("/logout/")
    sign_in(client, support)
    assert client.get("/numbers/")["Location"].startswith(VERIFY_URL)


def test_with_it_off_sign_in_is_a_single_step(client, number_admin, superuser):
    enrol(number_admin)
    sign_in(client, number_admin)
    assert client.get("/numbers/").status_code == 200
    admin_client = Client()
    sign_in(admin_client, superuser)
    assert admin_client.get("/admin/").status_code == 200
    assert client.get(VERIFY_URL)["Location"] == reverse("home")


@pytest.mark.parametrize(("debug", "expected"), [("false", "True"), ("true", "False")])
def test_it_is_on_by_default_unless_debug(debug, expected):
    env = {k: v for k, v in os.environ.items() if k != "STAFF_TOTP_REQUIRED"}
    env.update(DEBUG=debug, DJANGO_SETTINGS_MODULE="config.settings")
    printed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.STAFF_TOTP_REQUIRED)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert printed == expected


@pytest.mark.parametrize(
    "target", ["http://testserver//evil.example/x", "//evil.example/x", "/\\evil.example/x"]
)
def test_a_path_that_a_browser_reads_as_another_site_is_not_followed(
    client, enforced, number_admin, target
):
    """Found by a hostile review: the host check passed, the path was '//evil.example'."""
    device, _codes = enrol(number_admin)
    sign_in(client, number_admin)
    response = client.post(VERIFY_URL, {"code": code_for(device, 1), "next": target})
    assert response["Location"] == reverse("home")
