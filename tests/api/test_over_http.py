"""The API over a real socket, as a customer's script sees it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.factories import make_agent, make_number
from users.services import api_token_create

pytestmark = pytest.mark.django_db(transaction=True)


def call(url: str, token: str | None, body: dict | None = None) -> tuple[int, dict, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def test_a_script_lists_gets_and_updates_its_numbers(live_server, owner):
    agent = make_agent(owner, name="Desk")
    make_number(owner, "+14155550123")
    token = api_token_create(user=owner)[1]
    base = live_server.url

    status, _, page = call(f"{base}/v1/numbers/list?size=5", token)
    assert status == 200 and page["items"][0]["number"] == "+14155550123"

    status, _, number = call(
        f"{base}/v1/numbers/update?phone_number=%2B14155550123",
        token,
        {"inbound_agent": str(agent.pk), "label": "Main"},
    )
    assert status == 200 and number["inbound_agent_name"] == "Desk"

    status, _, number = call(f"{base}/v1/numbers?phone_number=%2B14155550123", token)
    assert status == 200 and number["label"] == "Main"

    status, headers, body = call(f"{base}/v1/numbers/list", None)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert set(body) == {"detail"}
