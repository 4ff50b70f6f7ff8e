"""Error pages with a request id and no traceback; 503 when the database is away."""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from tests.factories import make_number
from users.services import api_token_create

pytestmark = pytest.mark.django_db


def test_a_404_page_has_the_apps_look_and_a_request_id(client, support):
    client.force_login(support)
    response = client.get("/nowhere/", HTTP_X_REQUEST_ID="req-404")
    body = response.content.decode()
    assert response.status_code == 404 and "req-404" in body and "Switchboard" in body
    assert "Traceback" not in body


def test_a_500_shows_a_request_id_and_no_traceback(support, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(support)

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals: sk_live_should_not_show")

    monkeypatch.setattr("console.numbers.queries.inventory", explode)
    response = client.get(reverse("numbers:list"), HTTP_X_REQUEST_ID="req-500")
    body = response.content.decode()
    assert response.status_code == 500
    assert "req-500" in body and "Traceback" not in body and "sk_live" not in body


def test_api_errors_are_json_even_for_a_500(owner, monkeypatch):
    client = Client(raise_request_exception=False)
    _, token = api_token_create(user=owner)

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("api.numbers.queries.phone_number_list", explode)
    response = client.get("/v1/numbers/list", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 500
    assert set(response.json()) == {"detail", "request_id"}


@pytest.mark.parametrize("path", ["/numbers/", "/v1/numbers/list"])
def test_an_unreachable_database_is_a_503_with_retry_after(support, owner, monkeypatch, path):
    client = Client(raise_request_exception=False)
    client.force_login(support)
    _, token = api_token_create(user=owner)

    def unreachable(*args, **kwargs):
        raise OperationalError('connection to server at "10.0.0.9", port 5432 failed')

    monkeypatch.setattr("console.numbers.queries.inventory", unreachable)
    monkeypatch.setattr("api.numbers.queries.phone_number_list", unreachable)
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    body = response.content.decode()
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "10.0.0.9" not in body and "Traceback" not in body and "SELECT" not in body


@pytest.mark.django_db(transaction=True)
def test_healthz_follows_a_real_outage_and_recovery(client):
    body = client.get("/healthz").json()
    assert (body["status"], body["database"]) == ("ok", "ok")  # and the probes (core.health)
    if connection.vendor != "postgresql":
        pytest.skip("a real outage is simulated on PostgreSQL by pointing at a closed port")
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    try:
        response = client.get("/healthz")
        assert response.status_code == 503 and response["Retry-After"] == "5"
        page = Client(raise_request_exception=False).get("/login/")
        assert page.status_code in (200, 503)  # the login page may not touch the database
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved
    assert client.get("/healthz").status_code == 200  # recovered by itself


def test_one_log_line_per_request_without_secrets(client, owner, caplog):
    make_number(owner)
    _, token = api_token_create(user=owner)
    with caplog.at_level(logging.INFO, logger="switchboard.requests"):
        client.get(
            "/v1/numbers/list?size=5",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_X_REQUEST_ID="req-log",
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "switchboard.requests"]
    assert len(lines) == 1
    assert "request_id=req-log" in lines[0] and "status=200" in lines[0]
    assert token not in caplog.text and "size=5" not in lines[0]
