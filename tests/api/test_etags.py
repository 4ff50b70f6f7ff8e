"""ETags on API reads: If-None-Match answers 304, If-Match takes the GET's ETag."""

from __future__ import annotations

import pytest

from agents.models import Agent
from agents.services import graph_object_save
from audit.services import Actor
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_number

pytestmark = pytest.mark.django_db

ONE = "/v1/numbers"
UPDATE = "/v1/numbers/update?phone_number=%2B14155550123"
PARAMS = {"phone_number": "+14155550123"}


@pytest.fixture
def number(owner):
    return make_number(owner, "+14155550123", label="Main", inbound_agent=make_agent(owner))


@pytest.mark.parametrize("path", [ONE, "/v1/numbers/list", "/v1/agents/list"])
def test_every_read_carries_an_etag_and_a_matching_if_none_match_is_a_304(api, number, path):
    first = api.get(path, PARAMS if path == ONE else None)
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and len(etag) == 34
    again = api.get(path, PARAMS if path == ONE else None, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag


def rename_agent(number: PhoneNumber) -> None:
    """An admin renames the number's agent (the number's own version stays)."""
    agent = Agent.objects.get(pk=number.inbound_agent_id)
    agent.name = "Renamed desk"
    graph_object_save(obj=agent, actor=Actor("ops@switchboard.test", "admin"))


def test_the_etag_changes_when_the_agent_changes_though_the_version_does_not(api, number):
    before = api.get(ONE, PARAMS)["ETag"]
    rename_agent(number)
    after = api.get(ONE, PARAMS, HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200 and after["ETag"] != before
    assert PhoneNumber.objects.get(pk=number.pk).version == number.version


def test_if_match_takes_the_etag_of_the_get(api, number):
    etag = api.get(ONE, PARAMS)["ETag"]
    response = api.post(UPDATE, {"label": "New"}, HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert PhoneNumber.objects.get(pk=number.pk).label == "New"


def test_a_stale_etag_in_if_match_is_a_412_and_writes_nothing(api, number):
    etag = api.get(ONE, PARAMS)["ETag"]
    rename_agent(number)
    response = api.post(UPDATE, {"label": "New"}, HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    assert "changed since it was read" in response.json()["detail"]
    assert PhoneNumber.objects.get(pk=number.pk).label == "Main"


def test_a_version_in_if_match_still_works(api, number):
    assert api.post(UPDATE, {"label": "New"}, HTTP_IF_MATCH='"1"').status_code == 200
    assert api.post(UPDATE, {"label": "Newer"}, HTTP_IF_MATCH='"1"').status_code == 412


def test_an_if_match_that_is_neither_is_a_422(api, number):
    response = api.post(UPDATE, {"label": "New"}, HTTP_IF_MATCH="banana")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "If-Match"]


@pytest.mark.parametrize("value", ["³", '"١٢"', '"' + "9" * 40 + '"'])
def test_an_if_match_with_odd_digits_is_a_4xx_not_a_500(api, number, value):
    response = api.post(UPDATE, {"label": "New"}, HTTP_IF_MATCH=value.encode().decode("latin-1"))
    assert response.status_code in (412, 422)
