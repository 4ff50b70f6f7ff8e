"""GET /v1/numbers and POST /v1/numbers/update: one number, scoped to its owner."""

from __future__ import annotations

import pytest

from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_number

pytestmark = pytest.mark.django_db


def test_it_gets_one_number(api):
    number = make_number(api.user, "+14155550123", label="Front")
    response = api.get("/v1/numbers", {"phone_number": "+14155550123"})
    assert response.status_code == 200
    assert response.json()["id"] == str(number.pk)


def test_an_unencoded_plus_is_accepted(api):
    make_number(api.user, "+14155550123")
    # "?phone_number=+1415..." decodes the + to a space.
    response = api.client.get(
        "/v1/numbers?phone_number=+14155550123", HTTP_AUTHORIZATION=f"Bearer {api.token}"
    )
    assert response.status_code == 200


def test_another_users_number_is_a_404_like_a_missing_one(api, other_api):
    make_number(other_api.user, "+14155550123")
    theirs = api.get("/v1/numbers", {"phone_number": "+14155550123"})
    missing = api.get("/v1/numbers", {"phone_number": "+14155550999"})
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {"detail": "Number not found."}


def test_a_malformed_number_is_a_422(api):
    response = api.get("/v1/numbers", {"phone_number": "call me"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "phone_number"]


def test_it_updates_label_description_flags_and_context(api):
    number = make_number(api.user, "+14155550123")
    response = api.post(
        "/v1/numbers/update?phone_number=%2B14155550123",
        {
            "label": "  Sales  ",
            "description": "New",
            "outbound_only": True,
            "example_context": {"customer_name": "Kim"},
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["label"], body["description"], body["outbound_only"]) == ("Sales", "New", True)
    number.refresh_from_db()
    assert number.example_context == {"customer_name": "Kim"}
    assert number.version == 2


def test_it_assigns_and_clears_an_inbound_agent(api):
    number = make_number(api.user, "+14155550123")
    agent = make_agent(api.user, name="Desk")
    url = "/v1/numbers/update?phone_number=%2B14155550123"
    body = api.post(url, {"inbound_agent": str(agent.pk)}).json()
    assert (body["inbound_agent"]["id"], body["inbound_agent_name"]) == (str(agent.pk), "Desk")
    body = api.post(url, {"inbound_agent": None}).json()
    assert body["inbound_agent"] is None and body["inbound_agent_name"] is None
    number.refresh_from_db()
    assert number.inbound_agent is None and number.version == 3


def test_another_users_agent_is_rejected_like_a_missing_one(api, other_api):
    make_number(api.user, "+14155550123")
    theirs = make_agent(other_api.user)
    url = "/v1/numbers/update?phone_number=%2B14155550123"
    foreign = api.post(url, {"inbound_agent": str(theirs.pk)})
    missing = api.post(url, {"inbound_agent": "00000000-0000-4000-8000-000000000000"})
    assert foreign.status_code == missing.status_code == 422
    assert foreign.json() == missing.json()
    assert foreign.json()["detail"][0]["loc"] == ["body", "inbound_agent"]
    assert PhoneNumber.objects.get().inbound_agent is None


def test_a_customer_cannot_update_another_customers_number(api, other_api):
    theirs = make_number(other_api.user, "+14155550123", label="Theirs")
    response = api.post("/v1/numbers/update?phone_number=%2B14155550123", {"label": "Mine"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.label == "Theirs"


@pytest.mark.parametrize(
    ("body", "loc", "error_type"),
    [
        ("{not json", ["body"], "json_invalid"),
        ("[1, 2]", ["body"], "value_error"),
        ({"label": 5}, ["body", "label"], "string_type"),
        ({"inbound_agent": "nope"}, ["body", "inbound_agent"], "uuid_parsing"),
        ({"label": "x" * 256}, ["body", "label"], "string_too_long"),
        ({"label": None}, ["body", "label"], "none_not_allowed"),
        ({"outbound_only": "perhaps"}, ["body", "outbound_only"], "bool_parsing"),
        ({"example_context": {"a": 1}}, ["body", "example_context", "a"], "string_type"),
        ({"number": "+19999999999"}, ["body", "number"], "extra_forbidden"),
    ],
)
def test_bad_bodies_are_a_422_with_their_location(api, body, loc, error_type):
    make_number(api.user, "+14155550123", label="Kept")
    response = api.post("/v1/numbers/update?phone_number=%2B14155550123", body)
    assert response.status_code == 422, response.content
    detail = response.json()["detail"][0]
    assert (detail["loc"][: len(loc)], detail["type"]) == (loc, error_type)
    assert PhoneNumber.objects.get().label == "Kept"


def test_an_error_never_echoes_the_submitted_value(api):
    make_number(api.user, "+14155550123")
    secret = "sk-live-should-never-come-back-0123456789"
    response = api.post(
        "/v1/numbers/update?phone_number=%2B14155550123",
        {"example_context": {"api_key": ["x"]}, "label": secret * 10},
    )
    assert response.status_code == 422
    assert secret not in response.content.decode()
