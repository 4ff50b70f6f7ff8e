"""GET /v1/numbers/list: the upstream shape, paging, sorting, errors and query counts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_number
from users.models import User
from users.services import api_token_create
from vault.masking import DOTS

pytestmark = pytest.mark.django_db

EXAMPLE_PATH = Path(__file__).resolve().parents[1] / "phone_numbers" / "list-numbers-example.json"
URL = "/v1/numbers/list"


def key_paths(value: Any, prefix: str = "") -> dict[str, type]:
    """Every key path of a JSON document with the type found there."""
    paths: dict[str, type] = {prefix or "$": type(value)}
    if isinstance(value, dict):
        for key, item in value.items():
            paths.update(key_paths(item, f"{prefix}.{key}"))
    elif isinstance(value, list) and value:
        paths.update(key_paths(value[0], f"{prefix}[]"))
    return paths


def test_it_returns_the_example_in_the_upstream_shape(client):
    call_command("import_numbers", str(EXAMPLE_PATH), stdout=None)
    owner = User.objects.get(pk="550e8400-e29b-41d4-a716-446655440000")
    token = api_token_create(user=owner)[1]
    example = json.loads(EXAMPLE_PATH.read_text())
    example_item = example["items"][0]

    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "page", "size", "has_more", "total", "total_is_estimated"}
    assert (body["page"], body["size"], body["has_more"], body["total"]) == (1, 10, False, 1)
    item = body["items"][0]
    # The example's {} for an absent connection is null here, as the API contract says.
    expected = key_paths({**example_item, "telephony_account_connection": None})
    # Boosts are stored and returned as numbers (the example's "10" is a string).
    expected[".inbound_agent.deepgram_keywords.kansas"] = int
    got = key_paths(item)
    assert {k: v for k, v in got.items() if expected.get(k) != v} == {}
    assert got.keys() == expected.keys()
    # Same values, but for what we derive (agent name), normalise (boost numbers) or mask.
    conn = item["inbound_agent"]["openai_account_connection"]
    assert conn["credentials"] == {"twilio_account_sid": DOTS, "twilio_auth_token": DOTS}
    assert item["inbound_agent_name"] == "My Agent"
    assert item["inbound_agent"]["deepgram_keywords"] == {"kansas": 10}
    for key in (
        "id",
        "user_id",
        "number",
        "active",
        "label",
        "outbound_only",
        "example_context",
        "telephony_provider",
        "description",
    ):
        assert item[key] == example_item[key], key
    agent, example_agent = item["inbound_agent"], example_item["inbound_agent"]
    for key in set(example_agent) - {"openai_account_connection", "deepgram_keywords"}:
        assert agent[key] == example_agent[key], key


def test_it_shows_only_the_token_owners_numbers(api, other_api):
    mine = make_number(api.user)
    make_number(other_api.user)
    body = api.get(URL).json()
    assert [i["id"] for i in body["items"]] == [str(mine.pk)]
    assert body["total"] == 1


def test_pages_never_repeat_or_skip_rows_even_with_equal_sort_keys(api):
    numbers = {str(make_number(api.user, label="Same").pk) for _ in range(7)}
    seen: list[str] = []
    for page in (1, 2, 3):
        body = api.get(URL, {"page": page, "size": 3, "sort_column": "label"}).json()
        seen += [i["id"] for i in body["items"]]
        assert body["has_more"] is (page < 3)
        assert body["total"] == 7
    assert sorted(seen) == sorted(numbers) and len(seen) == 7


def test_a_page_past_the_end_is_empty(api):
    make_number(api.user)
    body = api.get(URL, {"page": 5}).json()
    assert body["items"] == [] and body["has_more"] is False and body["total"] == 1


@pytest.mark.parametrize(
    ("column", "desc"),
    [
        ("number", False),
        ("label", True),
        ("updated_at", True),
        ("telephony_provider", False),
        ("active", False),
        ("created_at", True),
    ],
)
def test_it_sorts_by_whitelisted_columns(api, column, desc):
    make_number(api.user, "+14155550001", label="b", telephony_provider="vonage", active=False)
    make_number(api.user, "+14155550002", label="a", telephony_provider="twilio")
    make_number(api.user, "+14155550003", label="c", telephony_provider="telnyx")
    # Distinct timestamps in number order (rows made in one microsecond would tie).
    base = timezone.now()
    for i, number in enumerate(PhoneNumber.objects.order_by("number")):
        PhoneNumber.objects.filter(pk=number.pk).update(
            created_at=base + timedelta(seconds=i), updated_at=base + timedelta(seconds=i)
        )
    items = api.get(URL, {"sort_column": column, "sort_desc": str(desc).lower()}).json()["items"]
    values = [i[column] for i in items] if column in items[0] else [i["number"] for i in items]
    assert values == sorted(values, reverse=desc)


@pytest.mark.parametrize(
    ("params", "field", "error_type"),
    [
        ({"page": "0"}, "page", "greater_than_equal"),
        ({"page": "-1"}, "page", "greater_than_equal"),
        ({"page": "x"}, "page", "int_parsing"),
        ({"page": str(10**9)}, "page", "less_than_equal"),
        ({"size": "0"}, "size", "greater_than_equal"),
        ({"size": "101"}, "size", "less_than_equal"),
        ({"size": "x"}, "size", "int_parsing"),
        ({"sort_column": "password"}, "sort_column", "enum"),
        ({"sort_desc": "maybe"}, "sort_desc", "bool_parsing"),
        ({"sort_column": ""}, "sort_column", "enum"),
        ({"sort": "label"}, "sort", "extra_forbidden"),
    ],
)
def test_bad_parameters_are_a_422_with_their_location(api, params, field, error_type):
    response = api.get(URL, params)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail == [{"loc": ["query", field], "msg": detail[0]["msg"], "type": error_type}]
    assert detail[0]["msg"]


@pytest.mark.parametrize("size", [1, 100])
def test_the_query_count_is_constant_whatever_the_size(api, django_assert_num_queries, size):
    for i in range(12):
        agent = make_agent(api.user)
        make_number(api.user, f"+1212555{i:04d}", inbound_agent=agent)
    # The first use of a token records last_used_at, later ones do not; the first
    # read of an agent's stored JSON renders it (the factories write around the
    # services), later ones read it.
    api.get(URL, {"size": 100})
    # token lookup, the rate-limit upsert, the numbers' own rows, their agents' and
    # connections' stored JSON (agents.fragments), count (when more than one page)
    with django_assert_num_queries(5 if size == 1 else 4):
        assert api.get(URL, {"size": size}).status_code == 200
