"""Every dashboard list pages by keyset: following Next from the first page
visits each row exactly once, for the orderings each list offers."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from audit.models import Source
from audit.services import Actor, record
from tests.factories import make_agent, make_connection, make_number, make_webhook

pytestmark = pytest.mark.django_db

NEXT = re.compile(r'href="\?([^"]*)" hx-get=[^>]*rel="next"')


def _walk(client, url: str, params: dict, row_marker: re.Pattern) -> list[str]:
    """Markers of every row, in order, following Next until there is none."""
    body = client.get(url, params, HTTP_HX_REQUEST="true").content.decode()
    seen = row_marker.findall(body)
    for _ in range(20):
        link = NEXT.search(body)
        if link is None:
            return seen
        body = client.get(f"{url}?{html.unescape(link.group(1))}", HTTP_HX_REQUEST="true")
        body = body.content.decode()
        seen += row_marker.findall(body)
    raise AssertionError("Next never ended")


@pytest.mark.parametrize("sort", ["name", "-name", "language", "-language", "created_at"])
def test_the_agent_list(client, support, owner, sort):
    agents = {
        str(make_agent(owner, name=f"Desk {i % 4}", language="en" if i % 3 else "de").pk)
        for i in range(60)
    }
    client.force_login(support)
    seen = _walk(
        client,
        reverse("agents:list"),
        {"sort": sort},
        re.compile(r'href="/agents/([0-9a-f-]{36})/"'),
    )
    assert len(seen) == len(set(seen)) == 60 and set(seen) == agents


def test_the_webhook_and_connection_directories(client, support, owner):
    hooks = {str(make_webhook(owner, label="Same").pk) for _ in range(30)}
    conns = {str(make_connection(owner, label="Same").pk) for _ in range(30)}
    client.force_login(support)
    seen = _walk(
        client, reverse("agents:webhooks"), {}, re.compile(r'href="/webhooks/([0-9a-f-]{36})/"')
    )
    assert len(seen) == 30 and set(seen) == hooks
    seen = _walk(
        client,
        reverse("agents:connections"),
        {},
        re.compile(r'href="/connections/([0-9a-f-]{36})/"'),
    )
    assert len(seen) == 30 and set(seen) == conns


def test_the_audit_trail(client, support, owner):
    number = make_number(owner, "+13035550100")
    for i in range(60):
        record(
            actor=Actor("tester", Source.COMMAND, request_id=f"r{i:03d}"),
            obj=number,
            changes={"label": [str(i), str(i + 1)]},
        )
    client.force_login(support)
    seen = _walk(client, reverse("audit:list"), {}, re.compile(r"<small>(r\d{3})</small>"))
    assert len(seen) == 60 and set(seen) == {f"r{i:03d}" for i in range(60)}
    assert seen == sorted(seen, reverse=True)  # newest first
