"""An htmx request without a valid session sends the whole page to sign in (issue 15).

Before: the next sort, filter or page click rendered the whole login page
inside the results table, under a header that still named the user.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from tests.factories import make_number, make_user

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password-9"
PAGE = "http://testserver/numbers/?q=415&sort=-label"


def htmx(client: Client, url: str, current: str = PAGE, method: str = "get", **data):
    send = client.get if method == "get" else client.post
    return send(url, data, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=current)


def next_of(response) -> str:
    location = response.headers.get("HX-Redirect") or response["Location"]
    assert urlsplit(location).path == "/login/"
    return parse_qs(urlsplit(location).query).get("next", [""])[0]


@pytest.fixture
def support(db):
    from users.management.commands.setup_roles import ensure_roles

    ensure_roles()
    from django.contrib.auth.models import Group

    user = make_user("support@switchboard.test", is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name="Support"))
    return user


def test_an_htmx_request_after_the_session_ended_redirects_the_whole_page(support, owner):
    make_number(owner, "+14155550123")
    client = Client()
    client.force_login(support)
    assert htmx(client, "/numbers/?sort=label").status_code == 200
    client.session.flush()  # the session expires (or is signed out elsewhere)
    client.cookies.pop("sessionid", None)

    response = htmx(client, "/numbers/?sort=label")
    assert response.status_code == 200  # htmx acts on HX-Redirect, not on a 3xx
    assert next_of(response) == "/numbers/?q=415&sort=-label"  # the page, not the fragment
    assert b"password" not in response.content  # no login form in the table


def test_an_htmx_post_after_the_session_ended_redirects_too(owner):
    number = make_number(owner, "+14155550123")
    response = htmx(Client(), f"/numbers/{number.pk}/label", method="post", label="x")
    assert response.headers.get("HX-Redirect", "").startswith("/login/")


def test_a_plain_request_is_sent_to_sign_in_and_back():
    response = Client().get("/numbers/?owner=abc")
    assert response.status_code == 302 and next_of(response) == "/numbers/?owner=abc"


def test_another_sites_address_is_never_the_way_back():
    response = htmx(Client(), "/numbers/", current="https://evil.example/numbers/")
    assert next_of(response) == ""


def test_signing_in_returns_to_the_same_url(support):
    back = next_of(htmx(Client(), "/numbers/?sort=label"))
    client = Client()
    response = client.post(
        "/login/", {"username": support.email, "password": PASSWORD, "next": back}
    )
    assert response.status_code == 302 and response["Location"] == back
    assert client.get(back).status_code == 200
