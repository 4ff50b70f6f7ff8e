"""POST /v1/numbers/update with hostile bodies: a 4xx with a reason, never a 500.

Before issue 12: a NUL or a lone surrogate in a key of example_context was a
500 on PostgreSQL (on SQLite the NUL key was stored and the number then
failed on GET), and JSON nested a few thousand levels deep was a 500
(RecursionError) on both databases.
"""

from __future__ import annotations

import pytest

from core.limits import DEFAULTS
from phone_numbers.models import PhoneNumber
from tests.factories import make_number

pytestmark = pytest.mark.django_db

URL = "/v1/numbers/update?phone_number=%2B14155550123"


@pytest.fixture
def number(owner):
    return make_number(owner, "+14155550123", label="Main line")


def _unchanged(number):
    fresh = PhoneNumber.objects.get(pk=number.pk)
    return fresh.version == number.version and fresh.example_context == {}


@pytest.mark.parametrize(
    "key", ["nul\\u0000key", "\\ud800lone", "tail\\udfff"], ids=["nul", "high", "low"]
)
def test_a_bad_key_in_example_context_is_a_422_naming_the_field(api, number, key):
    response = api.post(URL, '{"example_context": {"' + key + '": "v"}}')
    assert response.status_code == 422, response.content
    error = response.json()["detail"][0]
    assert error["loc"][:2] == ["body", "example_context"]
    assert "key" in error["msg"]
    assert _unchanged(number)
    assert api.get("/v1/numbers", {"phone_number": "+14155550123"}).status_code == 200


@pytest.mark.parametrize("depth", [50, 5_000, 100_000])
def test_deeply_nested_json_is_a_422_not_a_recursion_error(api, number, depth):
    body = '{"example_context": ' + "[" * depth + "]" * depth + "}"
    response = api.post(URL, body)
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"][0] == "body"
    assert _unchanged(number)


def test_a_body_over_the_limit_is_a_413(api, number, settings):
    settings.SWITCHBOARD_LIMITS = {"api_body_bytes": 10_000}
    response = api.post(URL, {"description": "x" * 20_000})
    assert response.status_code == 413
    assert "10,000 bytes" in response.json()["detail"]
    assert _unchanged(number)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(api, number, constant):
    response = api.post(URL, '{"label": "x", "example_context": {"a": ' + constant + "}}")
    assert response.status_code == 422
    assert "not a JSON number" in response.json()["detail"][0]["msg"]


def test_invalid_utf8_is_a_422(api, number):
    response = api.post(URL, b'{"label": "\xff\xfe"}')
    assert response.status_code == 422
    assert "UTF-8" in response.json()["detail"][0]["msg"]


def test_a_description_over_its_limit_is_a_422_naming_it(api, number):
    response = api.post(URL, {"description": "d" * (DEFAULTS["description"] + 1)})
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "description"]
    assert "limit is 10,000" in error["msg"]
    assert PhoneNumber.objects.get(pk=number.pk).description == ""


def test_a_description_at_its_limit_is_stored(api, number):
    response = api.post(URL, {"description": "d" * DEFAULTS["description"]})
    assert response.status_code == 200


def test_the_limit_follows_the_setting(api, number, settings):
    settings.SWITCHBOARD_LIMITS = {"description": 20}
    assert api.post(URL, {"description": "d" * 21}).status_code == 422
    assert api.post(URL, {"description": "d" * 20}).status_code == 200


def test_example_context_over_its_size_is_a_422(api, number, settings):
    settings.SWITCHBOARD_LIMITS = {"json_bytes": 1_000}
    response = api.post(URL, {"example_context": {"k": "v" * 2_000}})
    assert response.status_code == 422
    assert "limit is 1,000 bytes" in response.json()["detail"][0]["msg"]


def test_a_fullwidth_digit_number_is_not_e164(api, number):
    response = api.get("/v1/numbers", {"phone_number": "+1４１５5550123"})
    assert response.status_code == 422
