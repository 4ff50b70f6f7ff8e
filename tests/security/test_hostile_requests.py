"""Hostile query strings are a 400 at the door, and a hostile path cannot forge a log line.

Before the request guard, a NUL (``%00``) in an admin search or list filter,
or in the console's agent picker, reached PostgreSQL and came back as a 500.
The guard answers before any view runs, so these hold on both databases.
"""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.test import RequestFactory
from django.urls import reverse

from core.limits import limit
from core.logging import EscapingFormatter, escape_controls
from core.middleware import RequestGuardMiddleware
from tests.factories import make_number
from users.services import api_token_create

pytestmark = pytest.mark.django_db

SECRET_VALUE = "hunter2-do-not-echo"
LOG_FORMAT = settings.LOGGING["formatters"]["plain"]["format"]


@pytest.fixture
def number(owner):
    return make_number(owner, "+14155550123", label="Main")


def assert_plain_400(response, name: str) -> str:
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert name in body and SECRET_VALUE not in body and "\x00" not in body
    return body


# The console


def test_a_nul_in_the_console_search_is_a_400_naming_the_parameter(client, support):
    client.force_login(support)
    response = client.get("/numbers/", {"q": f"{SECRET_VALUE}\x00"})
    body = assert_plain_400(response, "q")
    assert "NUL" in body


def test_a_nul_in_the_agent_picker_is_a_400(client, number_admin, number):
    client.force_login(number_admin)
    response = client.get(
        reverse("numbers:agent_options", args=[number.pk]),
        {"agent_q": "\x00"},
        HTTP_HX_REQUEST="true",
    )
    assert_plain_400(response, "agent_q")


def test_a_nul_in_the_bulk_agent_picker_is_a_400(client, number_admin):
    client.force_login(number_admin)
    response = client.get(
        reverse("numbers:bulk_agent_options"), {"agent_q": "\x00"}, HTTP_HX_REQUEST="true"
    )
    assert_plain_400(response, "agent_q")


def test_a_nul_is_a_400_even_before_login(client):
    assert_plain_400(client.get("/numbers/?q=%00"), "q")


def test_the_400_is_not_cached_and_keeps_its_request_id(client, support):
    client.force_login(support)
    response = client.get("/numbers/?q=%00", HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 400
    assert response["X-Request-ID"] == "req-123"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_normal_console_search_still_works(client, support, number):
    client.force_login(support)
    response = client.get("/numbers/", {"q": "555", "agent_q": "Sales"})
    assert response.status_code == 200 and "+14155550123" in response.content.decode()


# The admin


def changelist() -> str:
    return reverse("admin:numbers_phonenumber_changelist")


def test_a_nul_in_the_admin_changelist_search_is_a_400(client, superuser, number):
    client.force_login(superuser)
    response = client.get(f"{changelist()}?q=%00")
    assert_plain_400(response, "q")


@pytest.mark.parametrize(
    "param", ["telephony_provider__exact", "active__exact", "number_is_valid__exact"]
)
def test_a_nul_in_an_admin_list_filter_is_a_400(client, superuser, number, param):
    client.force_login(superuser)
    response = client.get(f"{changelist()}?{param}=%00")
    assert_plain_400(response, param)


def test_a_normal_admin_search_and_filter_still_work(client, superuser, number):
    client.force_login(superuser)
    response = client.get(changelist(), {"q": "555", "telephony_provider__exact": "twilio"})
    assert response.status_code == 200 and "+14155550123" in response.content.decode()


# Sizes and counts


def test_a_value_over_the_limit_is_a_400_that_does_not_echo_it(client, support):
    client.force_login(support)
    value = SECRET_VALUE + "x" * limit("query_value")
    body = assert_plain_400(client.get("/numbers/", {"q": value}), "q")
    assert f"{limit('query_value'):,} characters" in body


def test_a_value_at_the_limit_is_accepted(client, support):
    client.force_login(support)
    assert client.get("/numbers/", {"q": "x" * limit("query_value")}).status_code == 200


def test_the_limit_comes_from_the_settings(client, support, settings):
    settings.SWITCHBOARD_LIMITS = {"query_value": 5}
    client.force_login(support)
    assert client.get("/numbers/", {"q": "123456"}).status_code == 400
    assert client.get("/numbers/", {"q": "12345"}).status_code == 200


def test_too_many_parameters_is_a_400(client, support):
    client.force_login(support)
    params = {f"p{i}": "1" for i in range(limit("query_params") + 1)}
    response = client.get("/numbers/", params)
    assert response.status_code == 400
    assert f"More than {limit('query_params')} query parameters" in response.content.decode()


def test_a_repeated_parameter_counts_once_per_value(client, support):
    client.force_login(support)
    response = client.get("/numbers/", {"q": ["1"] * (limit("query_params") + 1)})
    assert response.status_code == 400


def test_more_parameters_than_django_parses_is_still_our_400(client, support):
    client.force_login(support)
    count = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1
    response = client.get("/numbers/?" + "&".join(f"p{i}=1" for i in range(count)))
    assert response.status_code == 400
    assert "query parameters" in response.content.decode()


def test_a_nul_in_a_parameter_name_is_a_400_with_the_name_escaped(client, support):
    client.force_login(support)
    response = client.get("/numbers/?na%00me=1")
    body = assert_plain_400(response, "na\\x00me")
    assert "parameter name" in body


# Lone surrogates cannot come through a URL (they are not UTF-8); a server or
# a middleware could still put one in request.GET, so the guard checks directly.


def guarded(path: str, **params: str) -> HttpResponse:
    request: HttpRequest = RequestFactory().get(path)
    query = QueryDict(mutable=True)
    for name, value in params.items():
        query[name] = value
    request.GET = query
    return RequestGuardMiddleware(lambda request: HttpResponse("ok"))(request)


def test_a_lone_surrogate_is_a_400():
    response = guarded("/numbers/", q="a\ud800b")
    assert response.status_code == 400 and "surrogate" in response.content.decode()


def test_the_guard_passes_a_clean_request_through():
    assert guarded("/numbers/", q="caf\u00e9 \U0001f4de").content == b"ok"


# The API


def test_a_nul_in_an_api_parameter_is_a_400_in_the_upstream_shape(client, owner):
    token = api_token_create(user=owner, name="tests")[1]
    response = client.get("/v1/numbers/list?sort_column=%00", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    detail = response.json()["detail"]
    assert len(detail) == 1
    assert detail[0]["loc"] == ["query", "sort_column"]
    assert detail[0]["type"] == "value_error"
    assert "NUL" in detail[0]["msg"]


def test_too_many_api_parameters_is_a_400_in_the_upstream_shape(client):
    params = {f"p{i}": "1" for i in range(limit("query_params") + 1)}
    response = client.get("/v1/numbers/list", params)
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["query"]


def test_a_normal_api_request_still_works(client, owner, number):
    token = api_token_create(user=owner, name="tests")[1]
    response = client.get(
        "/v1/numbers/list", {"sort_column": "label"}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200
    assert json.loads(response.content)["items"][0]["number"] == "+14155550123"


# The log


def record(msg: str, *args: object, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("switchboard.requests", logging.INFO, __file__, 1, msg, args, exc_info)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("a\tb", "a\\tb"),
        ("a\x00b\x1b[31m", "a\\x00b\\x1b[31m"),
        ("a\x7fb", "a\\x7fb"),
        ("a\x85b\x9b", "a\\x85b\\x9b"),
        ("a\u2028b\u2029", "a\\u2028b\\u2029"),
        ("a\ud800b", "a\\ud800b"),
        ("caf\u00e9 \U0001f4de /v1/", "caf\u00e9 \U0001f4de /v1/"),
    ],
)
def test_escape_controls_writes_every_control_as_a_visible_escape(raw, escaped):
    assert escape_controls(raw) == escaped


def test_the_formatter_keeps_a_forged_line_on_one_line():
    line = EscapingFormatter(LOG_FORMAT).format(
        record("path=%s status=%s", "/x\n2026-01-01 INFO switchboard.requests forged", 404)
    )
    assert "\n" not in line
    assert line.endswith("path=/x\\n2026-01-01 INFO switchboard.requests forged status=404")


def test_the_formatter_escapes_an_exception_message_but_keeps_the_traceback():
    try:
        try:
            raise KeyError("inner\nforged")
        except KeyError as exc:
            raise ValueError("bad\nINFO forged line") from exc
    except ValueError:
        exc_info = sys.exc_info()
    text = EscapingFormatter(LOG_FORMAT).format(record("failed", exc_info=exc_info))
    lines = text.split("\n")
    assert lines[0].endswith("failed") and lines[1] == "Traceback (most recent call last):"
    assert "KeyError: 'inner\\nforged'" in lines
    assert lines[-1] == "ValueError: bad\\nINFO forged line"
    assert "The above exception was the direct cause of the following exception:" in lines
    assert not any(line.startswith("INFO forged") for line in lines)


def test_the_configured_console_handler_uses_the_escaping_formatter():
    formatters = [handler.formatter for handler in logging.getLogger().handlers]
    assert any(isinstance(f, EscapingFormatter) and f._fmt == LOG_FORMAT for f in formatters)


def test_a_newline_in_a_request_path_stays_on_one_log_line(client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(EscapingFormatter(LOG_FORMAT))
    logger = logging.getLogger("switchboard.requests")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        response = client.get("/numbers/x%0a2026-01-01 00:00:00,000 INFO forged%0d%e2%80%a8")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    assert response.status_code in (302, 404)
    output = stream.getvalue()
    assert output.count("\n") == 1 and output.endswith("\n")
    assert "path=/numbers/x\\n2026-01-01 00:00:00,000 INFO forged\\r\\u2028 status=" in output
